"""A PostgreSQL batch costs a fixed handful of round trips, however many writes it holds."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import TYPE_CHECKING, Any

import asyncpg
import pytest

from branch.records.journal import Operation, OperationIds
from branch.records.pg_batch import commit_batch
from branch.records.postgres import PostgresRecordStore

if TYPE_CHECKING:
    from branch.records.pg_writes import Connection

MORNING = 1795525200.0  # 2026-11-24 10:00 in Santiago
CITIZEN = "44.444.444-4"


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


async def sent(db: Connection, operations: list[Operation], **how: Any) -> list[str]:
    """The queries a batch sent, one per round trip, by their first words."""
    queries: list[str] = []

    def log(logged: asyncpg.connection.LoggedQuery) -> None:
        queries.append(" ".join(logged.query.split()[:3]))

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
