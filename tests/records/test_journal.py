"""PostgreSQL going away mid-run: writes are journaled, flushed in order, none lost or doubled."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import replace
from pathlib import Path

import asyncpg
import pytest

from branch import schema
from branch.audit import verify
from branch.config import load_settings
from branch.errors import ConfigError, RecordsUnavailable, StoreUnreachable
from branch.hub import Hub
from branch.live.memory import MemoryLiveStore
from branch.records.base import EndReason, Entry
from branch.records.journal import OperationIds
from branch.records.pg_writes import offline_folio
from branch.records.postgres import UNAVAILABLE, PostgresRecordStore
from branch.service import BranchService
from branch.web.app import RECORDS
from branch.web.client import BranchClient
from tests.conftest import CITIZEN_RUN, StartBranch
from tests.records.conftest import execute_sql
from tests.servers import free_port
from tests.servers.postgres import PostgresCluster
from tests.test_service import ANA, EXE, page_for
from tests.web.test_operations import get

MORNING = 1795525200.0  # 2026-11-24 10:00 in Santiago
CITIZEN = "44.444.444-4"
EXECUTIVE = "11.111.111-1"
OpenNode = Callable[..., Awaitable[PostgresRecordStore]]


@pytest.fixture
async def open_node(postgres_url: str, tmp_path: Path) -> AsyncIterator[OpenNode]:
    """Factory: a node's record store with its journal in the test's folder."""
    opened: list[PostgresRecordStore] = []

    async def make(journal: Path | None = tmp_path / "journal.sqlite3") -> PostgresRecordStore:
        store = PostgresRecordStore(postgres_url, journal=journal, timeout=2.0, retry_seconds=0.1)
        await store.open()
        opened.append(store)
        return store

    yield make
    for store in opened:
        await store.close()


async def whole_contact(store: PostgresRecordStore, number: int) -> str:
    """Every kind of journaled write for one contact; returns its folio."""
    contact_id = f"c{number}"
    at = MORNING + 10 * number
    folio = await store.contact_joined(contact_id, "general", CITIZEN, "Ana", "otro", "", at)
    await store.audit("contact.joined", "citizen", contact_id, f"j:{contact_id}", {"f": folio}, at)
    await store.contact_offered(contact_id, EXECUTIVE, "Eva", at + 1)
    await store.agent_state_changed(EXECUTIVE, "Eva", "offered", None, contact_id, at + 1)
    await store.contact_answered(contact_id, at + 2)
    await store.chat_added(contact_id, "citizen", f"hola {number}", at + 3)
    await store.contact_ended(contact_id, EndReason.COMPLETED, at + 4)
    await store.audit("contact.ended", "system", contact_id, f"e:{contact_id}", {}, at + 4)
    return folio


async def flushed(store: PostgresRecordStore) -> None:
    for _attempt in range(200):
        if not store.journaling:
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"journal not flushed: {await store.journaled()} writes left")


async def test_an_outage_is_journaled_then_flushed_in_order_with_nothing_lost_or_doubled(
    postgres_cluster: PostgresCluster, open_node: OpenNode
) -> None:
    node = await open_node()
    before = [await whole_contact(node, n) for n in range(3)]
    postgres_cluster.stop()
    during = [await whole_contact(node, n) for n in range(3, 8)]
    assert node.journaling and await node.journaled() == 5 * 8
    assert during == [offline_folio(f"c{n}", MORNING + 10 * n) for n in range(3, 8)]
    # While the database is away nothing is read from it, and checks that need it are refused.
    for refused in (
        node.get("c0"),
        node.recent(),
        node.audit_entries(),
        node.ping(),
        node.contact_wrapped_up("c0", EXECUTIVE, "resuelto", "otro", "", MORNING + 9),
    ):
        with pytest.raises(RecordsUnavailable) as caught:
            await refused
        assert str(caught.value) == UNAVAILABLE
    postgres_cluster.start()
    # Written while the journal drains: it queues behind the older writes.
    after = await whole_contact(node, 8)
    await flushed(node)
    assert await node.journaled() == 0 and await node.rejected() == []

    reader = await open_node(journal=None)
    records = {record.contact_id: record for record in await reader.recent(100)}
    assert sorted(records) == [f"c{n}" for n in range(9)]
    assert before == ["20261124-000001", "20261124-000002", "20261124-000003"]
    assert [records[f"c{n}"].folio for n in range(3, 9)] == [*during, after]
    for number, record in enumerate(sorted(records.values(), key=lambda r: r.joined_at)):
        assert (record.talk_seconds, record.end_reason, record.executive_name) == (
            2,
            EndReason.COMPLETED,
            "Eva",
        )
        assert [line.text for line in await reader.chat(record.contact_id)] == [f"hola {number}"]
    states = await reader.agent_states(EXECUTIVE, 0)
    assert Counter(state.contact_id for state in states) == {f"c{n}": 1 for n in range(9)}
    entries = await reader.audit_entries()
    assert len(entries) == 18 and len({entry.event_id for entry in entries}) == 18
    # The chain is in the order things happened on this node, journaled or not.
    assert [entry.contact_id for entry in entries[::2]] == [f"c{n}" for n in range(9)]
    assert verify(entries) is None


async def test_a_write_flushed_twice_lands_once(open_node: OpenNode) -> None:
    node = await open_node()
    await node.contact_joined("c1", "general", CITIZEN, "Ana", "otro", "", MORNING)
    # As if the node died after the database's commit but before the journal's delete.
    line = OperationIds().new(
        "chat_added", contact_id="c1", sender="citizen", text="hola", at=MORNING
    )
    assert await node.apply(line) is None
    assert await node.apply(line) is None
    assert [message.text for message in await node.chat("c1")] == ["hola"]


async def test_an_audit_entry_flushed_twice_lands_once_by_its_event_id(
    postgres_url: str, open_node: OpenNode
) -> None:
    node = await open_node()
    entry = OperationIds().new(
        "audit", kind="login", actor="system", contact_id=None, event_id="l1", data={}, at=MORNING
    )
    first = await node.apply(entry)
    assert first is not None and first.seq == 1
    # Alone and in a batch with other writes: the trail's event id answers, not an op id.
    assert await node.apply(entry) is None
    others = [
        OperationIds().new("audit", kind="login", actor="system", contact_id=None,
                           event_id=f"l{n}", data={}, at=MORNING + n)
        for n in (2, 3)
    ]  # fmt: skip
    outcomes = await asyncio.gather(*(node.apply(write) for write in [others[0], entry, others[1]]))
    assert outcomes[1] is None and all(outcome is not None for outcome in outcomes[::2])
    entries = await node.audit_entries()
    assert [entry.event_id for entry in entries] == ["l1", "l2", "l3"]
    assert verify(entries) is None
    connection = await asyncpg.connect(postgres_url)
    try:  # so an entry costs no row of applied_operations
        assert await connection.fetchval("SELECT count(*) FROM applied_operations") == 0
    finally:
        await connection.close()


async def test_a_join_committed_just_before_the_connection_failed_keeps_the_offline_folio(
    open_node: OpenNode,
) -> None:
    node = await open_node()
    joined = OperationIds().new(
        "contact_joined",
        contact_id="c1",
        service="general",
        citizen_run=CITIZEN,
        citizen_name="Ana",
        reason_code="otro",
        reason_text="",
        joined_at=MORNING,
        estimated_wait=None,
        transferred_from=None,
        transfer_note="",
        folio=None,
    )
    counter = await node.apply(joined)  # committed; the reply never reached the node
    offline = offline_folio(
        "c1", MORNING
    )  # so the citizen was given this one, and it was journaled
    assert await node.apply(replace(joined, args=joined.args | {"folio": offline})) is None
    record = await node.get("c1")
    assert record is not None and (record.folio, counter) == (offline, counter)
    assert counter != offline


async def test_the_ids_of_old_writes_are_forgotten_after_a_month(
    postgres_url: str, open_node: OpenNode
) -> None:
    node = await open_node()
    await node.contact_joined("c1", "general", CITIZEN, "Ana", "otro", "", MORNING)
    await execute_sql(
        postgres_url,
        "INSERT INTO applied_operations (op_id, applied_at) VALUES "
        "('old', extract(epoch FROM now()) - 31 * 86400), "
        "('recent', extract(epoch FROM now()) - 29 * 86400)",
    )
    assert await node.forget_applied() == 1
    assert await node.forget_applied() == 0  # the month-old one went; the rest stay


async def test_a_journal_left_by_a_stopped_node_is_flushed_when_it_starts_again(
    postgres_cluster: PostgresCluster, open_node: OpenNode, tmp_path: Path
) -> None:
    first = await open_node()
    postgres_cluster.stop()
    folio = await whole_contact(first, 1)
    await first.close()
    postgres_cluster.start()
    second = await open_node()
    await flushed(second)
    record = await second.get("c1")
    assert record is not None and record.folio == folio and record.ended_at is not None
    assert verify(await second.audit_entries()) is None


async def test_without_a_journal_an_outage_is_an_error_not_a_lie(
    postgres_cluster: PostgresCluster, open_node: OpenNode
) -> None:
    node = await open_node(journal=None)
    postgres_cluster.stop()
    with pytest.raises(RecordsUnavailable) as caught:
        await node.contact_joined("c1", "general", CITIZEN, "Ana", "otro", "", MORNING)
    assert str(caught.value) == UNAVAILABLE
    assert not node.journaling


async def test_an_unreachable_database_at_start_is_named() -> None:
    port = free_port()
    store = PostgresRecordStore(f"postgresql://branch:s3cret@127.0.0.1:{port}/branch")
    with pytest.raises(StoreUnreachable) as caught:
        await store.open()
    assert str(caught.value) == (
        f"stores.records: PostgreSQL at postgresql://branch:***@127.0.0.1:{port}/branch is "
        f"unreachable: [Errno 111] Connect call failed ('127.0.0.1', {port})"
    )


async def test_a_missing_database_is_a_configuration_error(
    postgres_cluster: PostgresCluster,
) -> None:
    store = PostgresRecordStore(postgres_cluster.url("nope"))
    with pytest.raises(ConfigError) as caught:
        await store.open()
    assert str(caught.value) == (
        f"stores.records: PostgreSQL at {postgres_cluster.url('nope')} refused the connection: "
        'database "nope" does not exist'
    )


def test_serve_exits_non_zero_when_the_database_is_unreachable(tmp_path: Path) -> None:
    port = free_port()
    environment = os.environ | {
        "BRANCH_DATA_DIR": str(tmp_path / "data"),
        "BRANCH_CERTS_DIR": str(tmp_path / "certs"),
        "BRANCH_HOST": "127.0.0.1",
        "BRANCH_PORT": str(free_port()),
        "BRANCH_STORES_RECORDS": f"postgresql://branch@127.0.0.1:{port}/branch",
    }
    result = subprocess.run(
        [sys.executable, "-m", "branch", "serve", "--dev"],
        env=environment,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 3
    assert result.stderr.strip().splitlines()[-1] == (
        f"branch: stores.records: PostgreSQL at postgresql://branch@127.0.0.1:{port}/branch is "
        f"unreachable: [Errno 111] Connect call failed ('127.0.0.1', {port})"
    )


async def test_a_contact_served_during_an_outage_is_recorded_whole(
    postgres_cluster: PostgresCluster, open_node: OpenNode
) -> None:
    node = await open_node()
    hub = Hub()
    settings = load_settings({}, service_readiness_seconds=0)
    service = BranchService(settings, MemoryLiveStore(settings.floor_rules), node, hub)
    ana = await page_for(service, hub, ANA)
    exe = await page_for(service, hub, EXE)
    postgres_cluster.stop()
    await service.handle(ANA, schema.QueueJoin(reason="otro"))
    joined = ana.last("queue.joined")
    contact_id = joined["contactId"]
    assert joined["folio"] == offline_folio(contact_id, joined["joinedAt"])
    await service.handle(EXE, schema.AgentAvailable())
    assert exe.last("offer.history")["history"] is None  # unknown, not "a first contact"
    await service.handle(EXE, schema.OfferAccept(contact_id=contact_id))
    await service.handle(ANA, schema.CallHangup(contact_id=contact_id))
    assert ana.last("call.ended")["receipt"] is None and exe.last("call.ended")
    wrapup = schema.WrapupSubmit(contact_id=contact_id, outcome="resuelto", reason="otro")
    with pytest.raises(RecordsUnavailable):
        await service.handle(EXE, wrapup)  # it checks the record first: it waits for the database
    postgres_cluster.start()
    await flushed(node)
    await service.handle(EXE, wrapup)
    record = await node.get(contact_id)
    assert record is not None and record.folio == joined["folio"]
    assert None not in (
        record.offered_at,
        record.answered_at,
        record.ended_at,
        record.wrapped_up_at,
    )
    story = await node.audit_entries(contact_id)
    assert [entry.kind for entry in story] == [
        "contact.joined",
        "contact.offered",
        "contact.answered",
        "contact.ended",
        "contact.wrapped_up",
    ]
    assert verify(await node.audit_entries()) is None


async def test_a_node_journals_in_its_data_dir_and_is_not_ready_until_flushed(
    postgres_cluster: PostgresCluster, postgres_url: str, start_branch: StartBranch
) -> None:
    node = await start_branch(stores_records=postgres_url)
    assert await get(node.url, node.ca_path, "/readyz") == (200, '{"status": "ready"}')
    postgres_cluster.stop()
    async with BranchClient(node.url, ca_file=node.ca_path) as ana:
        await ana.login(CITIZEN_RUN, "Ana", "Rojas", "/citizen")  # audited: journaled
    assert await get(node.url, node.ca_path, "/readyz") == (
        503,
        '{"status": "unavailable", "failed": ["records"]}',
    )
    assert (Path(node.settings.data_dir) / "records-journal.sqlite3").exists()
    postgres_cluster.start()
    ready = (0, "")
    for _attempt in range(100):
        ready = await get(node.url, node.ca_path, "/readyz")
        if ready[0] == 200:
            break
        await asyncio.sleep(0.1)
    assert ready == (200, '{"status": "ready"}')
    entries = await node.app[RECORDS].audit_entries()
    assert [(entry.kind, entry.actor) for entry in entries] == [("login", f"citizen:{CITIZEN_RUN}")]


async def test_a_journaled_write_the_database_refuses_is_kept_aside_not_lost(
    postgres_cluster: PostgresCluster, open_node: OpenNode
) -> None:
    node = await open_node()
    postgres_cluster.stop()
    await node.contact_offered("ghost", EXECUTIVE, "Eva", MORNING)  # nobody checks, yet
    await whole_contact(node, 1)
    postgres_cluster.start()
    await flushed(node)
    assert await node.rejected() == [
        ("contact_offered", "UnknownContact: contact 'ghost' does not exist")
    ]
    record = await node.get("c1")  # the writes behind it were not held up
    assert record is not None and record.end_reason is EndReason.COMPLETED


async def test_two_nodes_flushing_their_journals_at_once_keep_one_chain(
    postgres_cluster: PostgresCluster, open_node: OpenNode, tmp_path: Path
) -> None:
    nodes = [await open_node(tmp_path / f"journal-{name}.sqlite3") for name in "ab"]
    postgres_cluster.stop()
    for number in range(6):
        await whole_contact(nodes[number % 2], number)
    postgres_cluster.start()
    await asyncio.gather(*(flushed(node) for node in nodes))
    contacts = await nodes[0].recent(100)
    assert sorted(record.contact_id for record in contacts) == [f"c{n}" for n in range(6)]
    entries = await nodes[1].audit_entries()
    assert len(entries) == 12 and verify(entries) is None


async def test_a_step_journaled_with_its_entry_is_flushed_with_it(
    postgres_cluster: PostgresCluster, open_node: OpenNode
) -> None:
    node = await open_node()
    await node.contact_joined("c0", "general", CITIZEN, "Ana", "otro", "", MORNING)
    postgres_cluster.stop()
    joined = Entry("contact.joined", f"citizen:{CITIZEN}", {"reason": "otro"})
    folio = await node.contact_joined(
        "c1", "general", CITIZEN, "Ana", "otro", "", MORNING + 1, entry=joined
    )
    await node.contact_offered(
        "c1", EXECUTIVE, "Eva", MORNING + 2, entry=Entry("contact.offered", "system")
    )
    await node.audit("login", "system", None, "l1", {}, MORNING + 3)
    await node.contact_ended(
        "c1", EndReason.COMPLETED, MORNING + 4, entry=Entry("contact.ended", "system")
    )
    await node.contact_offered(
        "ghost", EXECUTIVE, "Eva", MORNING + 5, entry=Entry("contact.offered", "system")
    )
    assert await node.journaled() == 5  # an entry rides in its step's write
    postgres_cluster.start()
    await flushed(node)
    assert await node.rejected() == [
        ("contact_offered", "UnknownContact: contact 'ghost' does not exist")
    ]
    entries = await node.audit_entries()
    assert [(entry.kind, entry.contact_id) for entry in entries] == [
        ("contact.joined", "c1"),
        ("contact.offered", "c1"),
        ("login", None),
        ("contact.ended", "c1"),
    ]
    # The join's entry tells the folio the citizen was given and the row got: the offline one.
    assert folio == offline_folio("c1", MORNING + 1)
    assert entries[0].data == {"reason": "otro", "folio": folio}
    assert verify(entries) is None
    record = await node.get("c1")
    assert record is not None and record.folio == folio and record.ended_at == MORNING + 4
