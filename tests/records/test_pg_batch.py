"""A PostgreSQL batch costs a fixed handful of round trips, however many writes it holds,
and chains the audit entries its steps carry in the order the writes came."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import replace
from typing import TYPE_CHECKING, Any

import asyncpg
import pytest

from branch.audit import AuditEntry, verify
from branch.errors import UnknownContact
from branch.records.base import EndReason, Entry, audit_args
from branch.records.journal import Operation, OperationIds
from branch.records.pg_batch import commit_batch
from branch.records.postgres import PostgresRecordStore

if TYPE_CHECKING:
    from branch.records.pg_writes import Connection

MORNING = 1795525200.0  # 2026-11-24 10:00 in Santiago
CITIZEN = "44.444.444-4"
EXECUTIVE = "11.111.111-1"
JOINED = Entry("contact.joined", f"citizen:{CITIZEN}", {"reason": "otro"})
OFFERED = Entry("contact.offered", f"executive:{EXECUTIVE}")
ENDED = Entry("contact.ended", "system", {"reason": "completed"})


@pytest.fixture
async def pool(postgres_url: str) -> AsyncIterator[asyncpg.Pool[asyncpg.Record]]:
    store = PostgresRecordStore(postgres_url)
    await store.open()  # the schema
    await store.close()
    async with asyncpg.create_pool(postgres_url, min_size=1, max_size=1) as pool:
        yield pool


def join(ids: OperationIds, number: int) -> Operation:
    return ids.new(
        "contact_joined",
        contact_id=f"c{number}",
        service="general",
        citizen_run=CITIZEN,
        citizen_name="Ana Muñoz",
        reason_code="otro",
        reason_text="",
        joined_at=MORNING + number,
        estimated_wait=None,
        transferred_from=None,
        transfer_note="",
        folio=None,
    )


def audit(ids: OperationIds, number: int) -> Operation:
    return ids.new(
        "audit",
        kind="contact.joined",
        actor=f"citizen:{CITIZEN}",
        contact_id=f"c{number}",
        event_id=f"j:c{number}",
        data={},
        at=MORNING + number,
    )


def offer(ids: OperationIds, number: int, at: float = MORNING + 60) -> Operation:
    return ids.new(
        "contact_offered",
        contact_id=f"c{number}",
        executive_run=EXECUTIVE,
        executive_name="Eva",
        at=at,
    )


def end(ids: OperationIds, number: int, at: float = MORNING + 120) -> Operation:
    return ids.new("contact_ended", contact_id=f"c{number}", end_reason="completed", at=at)


def carrying(operation: Operation, entry: Entry) -> Operation:
    """The step as the store submits it with its entry."""
    return replace(operation, args=operation.args | {"entry": entry.as_args()})


async def trail_of(postgres_url: str) -> list[AuditEntry]:
    store = PostgresRecordStore(postgres_url)
    await store.open()
    try:
        return await store.audit_entries()
    finally:
        await store.close()


async def sent(db: Connection, operations: list[Operation], **how: Any) -> list[str]:
    """The queries a batch sent, one per round trip, by their first words."""
    queries: list[str] = []

    def log(logged: asyncpg.connection.LoggedQuery) -> None:
        words = logged.query.replace("(", " ").split()
        if words[0] == "WITH":  # a write whose rows come with the trail's head: the write
            words = ["WITH", *words[3:]]
        queries.append(" ".join(words[:3]))

    db.add_query_logger(log)
    try:
        await commit_batch(db, operations, **how)
    finally:
        db.remove_query_logger(log)
    return queries


async def test_every_kind_of_batch_keeps_to_its_round_trips(
    pool: asyncpg.Pool[asyncpg.Record],
) -> None:
    ids = OperationIds()
    queries: dict[str, list[str]] = {}
    async with pool.acquire() as db:
        for batch in range(2):  # the first on a connection asks for the array types once
            numbers = range(batch * 20, batch * 20 + 20)
            queries["joins"] = await sent(db, [join(ids, n) for n in numbers])
            queries["audits"] = await sent(db, [audit(ids, n) for n in numbers])
            offers = [
                ids.new("contact_offered", contact_id=f"c{n}", executive_run="11.111.111-1",
                        executive_name="Eva", at=MORNING + 60)
                for n in numbers
            ]  # fmt: skip
            queries["offers"] = await sent(db, offers)
        recorded = await db.fetchval("SELECT count(*) FROM applied_operations")
        entries = await db.fetchval("SELECT count(*) FROM audit_log")
    # The ids go with the COMMIT; the trail's head is read under the lock BEGIN took.
    assert queries["joins"] == [
        "BEGIN",
        "INSERT INTO folio_days",
        "INSERT INTO contacts",
        "INSERT INTO applied_operations",
    ]
    assert queries["audits"] == [
        "BEGIN; LOCK TABLE",
        "SELECT seq, hash",
        "INSERT INTO audit_log",
        "COMMIT",
    ]
    assert queries["offers"] == ["BEGIN", "UPDATE contacts c", "INSERT INTO applied_operations"]
    assert (recorded, entries) == (80, 40)  # an id for each step, none for an entry


async def test_steps_carrying_entries_lock_the_trail_first_and_chain_in_one_insert(
    pool: asyncpg.Pool[asyncpg.Record],
) -> None:
    ids = OperationIds()
    async with pool.acquire() as db:
        for batch in range(2):  # the first on a connection asks for the array types once
            numbers = range(batch * 20, batch * 20 + 20)
            joins = await sent(db, [carrying(join(ids, n), JOINED) for n in numbers])
            offers = await sent(db, [carrying(offer(ids, n), OFFERED) for n in numbers])
        entries = await db.fetchval("SELECT count(*) FROM audit_log")
    # Locked with BEGIN, before any contact row: two nodes' batches cannot deadlock on it.
    # The trail's head comes back with the batch's first statement, read under that lock.
    assert joins == [
        "BEGIN; LOCK TABLE",
        "WITH INSERT INTO",  # the day's folio counter
        "INSERT INTO contacts",
        "INSERT INTO audit_log",
        "INSERT INTO applied_operations",
    ]
    assert offers == [
        "BEGIN; LOCK TABLE",
        "WITH UPDATE contacts",
        "INSERT INTO audit_log",
        "INSERT INTO applied_operations",
    ]
    assert entries == 80


async def test_an_id_not_made_here_is_recorded_as_a_parameter(
    pool: asyncpg.Pool[asyncpg.Record],
) -> None:
    """Only the ids this node makes are written into the COMMIT's query."""
    odd = Operation("x'); DROP TABLE contacts; --", "chat_added", {})
    line = {"contact_id": "c0", "sender": "citizen", "text": "hola", "at": MORNING}
    async with pool.acquire() as db:
        await commit_batch(db, [join(OperationIds(), 0)])
        queries = await sent(db, [Operation(odd.op_id, odd.name, line)])
        recorded = await db.fetchval(
            "SELECT count(*) FROM applied_operations WHERE op_id = $1", odd.op_id
        )
        chat = await db.fetchval("SELECT count(*) FROM chat_messages")
    assert queries == [
        "BEGIN",
        "INSERT INTO chat_messages",
        "INSERT INTO applied_operations",
        "COMMIT",
    ]
    assert (recorded, chat) == (1, 1)


async def test_a_first_attempt_meeting_its_id_fails_and_a_checked_one_skips_it(
    pool: asyncpg.Pool[asyncpg.Record],
) -> None:
    ids = OperationIds()
    line = ids.new("chat_added", contact_id="c0", sender="citizen", text="hola", at=MORNING)
    async with pool.acquire() as db:
        await commit_batch(db, [join(ids, 0), line])
        with pytest.raises(asyncpg.UniqueViolationError):
            await commit_batch(db, [line])  # rolled back whole, the line included
        assert await commit_batch(db, [line], checked=True) == [None]
        chat = await db.fetchval("SELECT count(*) FROM chat_messages")
    assert chat == 1


async def test_steps_entries_and_audits_are_chained_in_the_order_they_came(
    pool: asyncpg.Pool[asyncpg.Record], postgres_url: str
) -> None:
    ids = OperationIds()
    batch = [
        carrying(join(ids, 0), JOINED),
        audit(ids, 90),
        carrying(join(ids, 1), JOINED),
        carrying(join(ids, 2), JOINED),
        carrying(offer(ids, 0), OFFERED),  # c0 again: the next segment
        audit(ids, 91),
        carrying(offer(ids, 1), OFFERED),
        carrying(end(ids, 2), ENDED),
        join(ids, 3),  # a step without an entry
    ]
    async with pool.acquire() as db:
        outcomes = await commit_batch(db, batch)
        folios = await db.fetch("SELECT contact_id, folio FROM contacts ORDER BY contact_id")
    entries = await trail_of(postgres_url)
    assert [(entry.kind, entry.contact_id) for entry in entries] == [
        ("contact.joined", "c0"),
        ("contact.joined", "c90"),
        ("contact.joined", "c1"),
        ("contact.joined", "c2"),
        ("contact.offered", "c0"),
        ("contact.joined", "c91"),
        ("contact.offered", "c1"),
        ("contact.ended", "c2"),
    ]
    assert verify(entries) is None
    # A step answers as without its entry; a join's entry is told the folio it got.
    assert [outcomes[n] for n in (0, 2, 3, 8)] == [row["folio"] for row in folios]
    assert [outcomes[n] for n in (4, 6, 7)] == [None, None, None]
    assert [outcomes[n] for n in (1, 5)] == [entries[1], entries[5]]
    assert [entry.data for entry in entries if entry.event_id.startswith("contact.joined")] == [
        {"reason": "otro", "folio": folios[n]["folio"]} for n in range(3)
    ]
    assert entries[4].event_id == f"contact.offered:c0:{MORNING + 60!r}"
    assert entries[7].data == {"reason": "completed"} and entries[7].actor == "system"


async def test_a_refused_step_leaves_no_entry_and_one_that_changes_nothing_keeps_its_own(
    pool: asyncpg.Pool[asyncpg.Record], postgres_url: str
) -> None:
    ids = OperationIds()
    async with pool.acquire() as db:
        await commit_batch(db, [join(ids, 0)])
        ghosts = [carrying(offer(ids, 5), OFFERED), carrying(offer(ids, 0), OFFERED)]
        outcomes = await commit_batch(
            db,
            [
                *ghosts,  # offered together: the ghost is found by the batch's statement
                carrying(offer(ids, 6, MORNING + 61), OFFERED),  # alone in its kind
                carrying(end(ids, 0), ENDED),
                carrying(end(ids, 0, MORNING + 130), ENDED),  # a second end: ignored, audited
            ],
        )
        refused = await db.fetchval(
            "SELECT count(*) FROM applied_operations WHERE op_id = ANY($1::text[])",
            [ghosts[0].op_id],
        )
        ended_at = await db.fetchval("SELECT ended_at FROM contacts WHERE contact_id = 'c0'")
    assert [type(outcome) for outcome in outcomes] == [
        UnknownContact,
        type(None),
        UnknownContact,
        type(None),
        type(None),
    ]
    entries = await trail_of(postgres_url)
    assert [(entry.kind, entry.contact_id, entry.at) for entry in entries] == [
        ("contact.offered", "c0", MORNING + 60),
        ("contact.ended", "c0", MORNING + 120),
        ("contact.ended", "c0", MORNING + 130),
    ]
    assert verify(entries) is None
    assert (refused, ended_at) == (0, MORNING + 120)


@pytest.fixture
async def store(postgres_url: str) -> AsyncIterator[PostgresRecordStore]:
    store = PostgresRecordStore(postgres_url)
    await store.open()
    yield store
    await store.close()


async def test_an_entry_already_in_the_trail_is_skipped_and_its_step_lands(
    store: PostgresRecordStore,
) -> None:
    joined = await store.contact_joined(
        "c1", "general", CITIZEN, "Ana", "otro", "", MORNING, entry=JOINED
    )
    await store.contact_joined("c2", "general", CITIZEN, "Ana", "otro", "", MORNING + 1)
    # Written before, apart (as the app did): the step carrying it again lands without it.
    assert await store.audit(**audit_args(OFFERED, "c1", MORNING + 60)) is not None
    await store.contact_offered("c1", EXECUTIVE, "Eva", MORNING + 60, entry=OFFERED)
    # In a batch the insert meets it: the batch is redone one write at a time, checked.
    await store.audit(**audit_args(ENDED, "c1", MORNING + 120))
    await asyncio.gather(
        store.contact_answered("c2", MORNING + 70, entry=Entry("contact.answered", "system")),
        store.contact_ended("c1", EndReason.COMPLETED, MORNING + 120, entry=ENDED),
        store.contact_offered("c2", EXECUTIVE, "Eva", MORNING + 80, entry=OFFERED),
    )
    entries = await store.audit_entries()
    assert [(entry.kind, entry.contact_id) for entry in entries] == [
        ("contact.joined", "c1"),
        ("contact.offered", "c1"),
        ("contact.ended", "c1"),
        ("contact.answered", "c2"),
        ("contact.offered", "c2"),
    ]
    assert entries[0].data == {"reason": "otro", "folio": joined}
    assert verify(entries) is None
    first, second = await store.get("c1"), await store.get("c2")
    assert first is not None and second is not None
    assert (first.offered_at, first.ended_at) == (MORNING + 60, MORNING + 120)
    assert (second.answered_at, second.offered_at) == (MORNING + 70, MORNING + 80)


async def test_a_step_refused_alone_raises_and_leaves_no_entry(
    store: PostgresRecordStore,
) -> None:
    with pytest.raises(UnknownContact) as caught:
        await store.contact_offered("ghost", EXECUTIVE, "Eva", MORNING, entry=OFFERED)
    assert str(caught.value) == "contact 'ghost' does not exist"
    assert await store.audit_entries() == []


async def test_a_step_flushed_twice_with_its_entry_lands_once_with_it(
    store: PostgresRecordStore,
) -> None:
    ids = OperationIds()
    await store.apply(carrying(join(ids, 1), JOINED))
    again = carrying(offer(ids, 1), OFFERED)
    await store.apply(again)
    # As from a journal whose delete was lost: the batch meets the id and is redone checked.
    outcomes = await asyncio.gather(
        store.apply(carrying(join(ids, 2), JOINED)),
        store.apply(again),
        store.apply(carrying(offer(ids, 2, MORNING + 61), OFFERED)),
    )
    assert list(outcomes[1:]) == [None, None]
    entries = await store.audit_entries()
    assert [(entry.kind, entry.contact_id) for entry in entries] == [
        ("contact.joined", "c1"),
        ("contact.offered", "c1"),
        ("contact.joined", "c2"),
        ("contact.offered", "c2"),
    ]
    assert entries[2].data == {"reason": "otro", "folio": outcomes[0]}
    assert verify(entries) is None
