"""Group commit on every store: writes made together share a transaction, keep every guarantee."""

from __future__ import annotations

import asyncio
import sqlite3
from typing import Any

import asyncpg
import pytest

from branch.audit import verify
from branch.errors import RecordsUnavailable, UnknownContact
from branch.records.base import EndReason, RecordStore
from branch.records.group_commit import GroupCommit, StoreClosed
from branch.records.postgres import PostgresRecordStore
from branch.records.sqlite import SqliteRecordStore
from tests.records.conftest import OpenStore

MORNING = 1795525200.0  # 2026-11-24 10:00 in Santiago
CITIZEN = "44.444.444-4"
EXECUTIVE = "11.111.111-1"
WRITERS = 40


def batches(store: RecordStore) -> int:
    assert isinstance(store, SqliteRecordStore | PostgresRecordStore)
    return store.batches


async def contact(store: RecordStore, other: RecordStore, number: int) -> list[str]:
    """One whole contact, each step checked from another connection as soon as it returns."""
    contact_id = f"c{number:03d}"
    at = MORNING + number
    steps = []
    await store.contact_joined(contact_id, "general", CITIZEN, "Ana", "otro", "", at)
    for kind in ("joined", "offered", "answered", "ended"):
        if kind == "offered":
            await store.contact_offered(contact_id, EXECUTIVE, "Eva", at + 1)
        elif kind == "answered":
            await store.contact_answered(contact_id, at + 2)
        elif kind == "ended":
            await store.contact_ended(contact_id, EndReason.COMPLETED, at + 3)
        event_id = f"{kind}:{contact_id}"
        entry = await store.audit(f"contact.{kind}", "system", contact_id, event_id, {}, at)
        assert entry is not None
        # Committed when the await returned: another connection sees it at once.
        seen = await other.audit_entries(contact_id)
        assert [e.event_id for e in seen][-1] == event_id
        steps.append(event_id)
    record = await other.get(contact_id)
    assert record is not None and record.end_reason is EndReason.COMPLETED
    return steps


async def test_concurrent_writers_share_commits_and_keep_the_chain(
    open_store: OpenStore,
) -> None:
    store, other = await open_store(), await open_store()
    steps = await asyncio.gather(*(contact(store, other, n) for n in range(WRITERS)))
    writes = WRITERS * 8
    # Far fewer transactions than writes: the writers' steps were committed together.
    assert batches(store) <= writes // 4
    entries = await other.audit_entries()
    assert verify(entries) is None
    assert len(entries) == WRITERS * 4
    assert [e.seq for e in entries] == list(range(1, WRITERS * 4 + 1))
    # Each contact's entries in the order its writer made them (chain order = commit order).
    for number, written in enumerate(steps):
        mine = [e.event_id for e in entries if e.contact_id == f"c{number:03d}"]
        assert mine == written
    records = [await other.get(f"c{n:03d}") for n in range(WRITERS)]
    folios = {record.folio for record in records if record is not None}
    assert folios == {f"20261124-{n:06d}" for n in range(1, WRITERS + 1)}


async def test_a_failing_write_fails_alone_in_its_batch(open_store: OpenStore) -> None:
    store = await open_store()
    await store.contact_joined("taken", "general", CITIZEN, "Ana", "otro", "", MORNING)
    await store.audit("contact.joined", "system", "taken", "joined:taken", {}, MORNING)
    before = batches(store)

    async def join(contact_id: str) -> str:
        return await store.contact_joined(
            contact_id, "general", CITIZEN, "Ana", "otro", "", MORNING
        )

    async def audit(event_id: str) -> Any:
        return await store.audit("contact.joined", "system", None, event_id, {}, MORNING)

    outcomes = await asyncio.gather(
        *(join(f"good{n}") for n in range(10)),
        join("taken"),  # the database refuses it: the same contact twice
        store.contact_answered("nobody", MORNING),
        audit("joined:taken"),  # already in the trail: not appended again
        *(audit(f"fresh{n}") for n in range(5)),
        return_exceptions=True,
    )
    assert batches(store) == before + 1  # all submitted together, one batch
    assert [str(folio)[-6:] for folio in outcomes[:10]] == [f"{n:06d}" for n in range(2, 12)]
    assert isinstance(outcomes[10], sqlite3.IntegrityError | asyncpg.UniqueViolationError)
    assert isinstance(outcomes[11], UnknownContact)
    assert str(outcomes[11]) == "contact 'nobody' does not exist"
    assert outcomes[12] is None
    for n in range(10):
        assert await store.get(f"good{n}") is not None
    entries = await store.audit_entries()
    assert verify(entries) is None
    assert [e.event_id for e in entries] == ["joined:taken", *(f"fresh{n}" for n in range(5))]


async def test_an_event_already_in_the_trail_is_skipped_in_a_batch(open_store: OpenStore) -> None:
    store = await open_store()
    await store.audit("login", "system", None, "twice", {}, MORNING)
    outcomes = await asyncio.gather(
        *(store.audit("login", "system", None, f"e{n}", {}, MORNING) for n in range(3)),
        store.audit("login", "system", None, "twice", {}, MORNING),
        *(store.audit("login", "system", None, f"e{n}", {}, MORNING) for n in range(3, 6)),
        store.audit("login", "system", None, "e0", {}, MORNING),  # twice in the same batch
    )
    assert [getattr(entry, "seq", None) for entry in outcomes] == [2, 3, 4, None, 5, 6, 7, None]
    entries = await store.audit_entries()
    assert verify(entries) is None
    assert [e.event_id for e in entries] == ["twice", *(f"e{n}" for n in range(6))]


async def test_close_commits_what_was_queued_and_refuses_the_rest(
    open_store: OpenStore,
) -> None:
    store = await open_store()

    async def audit(number: int) -> Any:
        return await store.audit("login", "system", None, f"e{number}", {}, MORNING + number)

    queued = [asyncio.create_task(audit(n)) for n in range(30)]
    await asyncio.sleep(0)  # they are queued for the next commit
    late = [asyncio.create_task(audit(n)) for n in range(30, 35)]
    await store.close()
    results = await asyncio.gather(*queued, *late, return_exceptions=True)
    assert [getattr(entry, "event_id", entry) for entry in results[:30]] == [
        f"e{n}" for n in range(30)
    ]
    for refused in results[30:]:
        assert isinstance(refused, StoreClosed)
        assert str(refused).endswith(" is closed; the write was not made")
    with pytest.raises(RuntimeError, match="is not open"):
        await audit(99)
    reopened = await open_store()
    entries = await reopened.audit_entries()
    assert verify(entries) is None
    assert [e.event_id for e in entries] == [f"e{n}" for n in range(30)]


async def test_a_lost_connection_fails_every_write_of_its_batch_clearly(
    postgres_url: str,
) -> None:
    store = PostgresRecordStore(postgres_url, timeout=2.0)
    await store.open()
    killer = await asyncpg.connect(postgres_url)
    try:
        await store.contact_joined("c0", "general", CITIZEN, "Ana", "otro", "", MORNING)
        writes = [
            asyncio.create_task(store.audit("login", "system", None, f"e{n}", {}, MORNING))
            for n in range(20)
        ]
        await asyncio.sleep(0)
        await killer.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
            "WHERE datname = current_database() AND pid <> pg_backend_pid()"
        )
        outcomes = await asyncio.gather(*writes, return_exceptions=True)
        written = {getattr(entry, "event_id", None) for entry in outcomes} - {None}
        for outcome in outcomes:
            assert outcome is not None  # every write answered: its entry or a clear error
            if isinstance(outcome, BaseException):
                assert isinstance(outcome, RecordsUnavailable)
        # Whatever was answered as written is there.
        for _attempt in range(50):
            try:
                entries = await store.audit_entries()
                break
            except RecordsUnavailable:
                await asyncio.sleep(0.1)
        assert written <= {entry.event_id for entry in entries}
        assert verify(entries) is None
    finally:
        await killer.close()
        await store.close()


async def test_writes_of_a_commit_cut_short_are_answered_not_dropped() -> None:
    """The commit cancelled under way (the process stopping): every write hears of it."""
    started, release = asyncio.Event(), asyncio.Event()

    async def commit(writes: list[str]) -> list[str]:
        started.set()
        await release.wait()
        raise asyncio.CancelledError

    commits: GroupCommit[str] = GroupCommit(commit, "test.sqlite3")
    in_flight = [asyncio.create_task(commits.submit(f"w{n}")) for n in range(3)]
    await started.wait()
    queued = [asyncio.create_task(commits.submit(f"q{n}")) for n in range(2)]
    await asyncio.sleep(0)
    release.set()
    outcomes = await asyncio.gather(*in_flight, *queued, return_exceptions=True)
    assert [str(error) for error in outcomes] == 3 * [
        "record store test.sqlite3 stopped while committing; the write may not have been made"
    ] + 2 * ["record store test.sqlite3 stopped before the write"]
    assert all(isinstance(error, StoreClosed) for error in outcomes)


async def test_a_commit_that_fails_fails_each_of_its_writes() -> None:
    async def commit(writes: list[str]) -> list[str]:
        if "short" in writes:
            return writes[:-1]
        raise OSError("disk gone")

    commits: GroupCommit[str] = GroupCommit(commit, "test.sqlite3")
    outcomes = await asyncio.gather(
        commits.submit("a"), commits.submit("b"), return_exceptions=True
    )
    assert [repr(error) for error in outcomes] == 2 * ["OSError('disk gone')"]
    short = await asyncio.gather(
        commits.submit("short"), commits.submit("x"), return_exceptions=True
    )
    assert [str(error) for error in short] == 2 * ["1 outcomes for 2 writes"]
    assert commits.batches == 0
