"""Record store contract: the same scenarios for every implementation."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import textwrap

import pytest

from branch.audit import verify
from branch.errors import ConfigError, InvalidState, NotYourContact, UnknownContact
from branch.records.base import EndReason, RecordStore
from branch.records.factory import open_record_store
from branch.records.postgres import PostgresRecordStore
from branch.records.sqlite import SqliteRecordStore
from branch.records.sqlite_schema import MIGRATIONS
from branch.records.text import format_contacts
from tests.records.conftest import OpenStore, execute_sql

# 2026-11-24 10:00 in Santiago (UTC-3 in summer).
MORNING = 1795525200.0


async def join(
    store: RecordStore, contact_id: str, at: float = MORNING, run: str = "44.444.444-4"
) -> str:
    return await store.contact_joined(
        contact_id, "general", run, "María González", "licencias", "texto", at
    )


async def test_whole_lifecycle(open_store: OpenStore) -> None:
    store = await open_store()
    folio = await join(store, "c1")
    assert folio == "20261124-000001"
    await store.contact_offered("c1", "11.111.111-1", "Eva Díaz", MORNING + 60)
    await store.contact_answered("c1", MORNING + 65)
    await store.contact_ended("c1", EndReason.COMPLETED, MORNING + 365)
    await store.contact_wrapped_up(
        "c1", "11.111.111-1", "resuelto", "bonos", "notas", MORNING + 400
    )
    record = await store.get("c1")
    assert record is not None
    assert (record.folio, record.executive_name, record.end_reason) == (
        folio,
        "Eva Díaz",
        EndReason.COMPLETED,
    )
    assert (record.waited_seconds, record.talk_seconds) == (65, 300)
    assert (record.outcome_code, record.confirmed_reason_code, record.notes) == (
        "resuelto",
        "bonos",
        "notas",
    )
    assert record.to_dict()["joined_at"] == "2026-11-24T13:00:00+00:00"


async def test_folios_count_per_santiago_day(open_store: OpenStore) -> None:
    store = await open_store()
    assert await join(store, "a") == "20261124-000001"
    assert await join(store, "b", MORNING + 1) == "20261124-000002"
    # 23:30 in Santiago is already the next day in UTC, but the same folio day.
    late = MORNING + 13.5 * 3600
    assert await join(store, "c", late) == "20261124-000003"
    assert await join(store, "d", late + 3600) == "20261125-000001"


async def test_first_end_wins(open_store: OpenStore) -> None:
    store = await open_store()
    await join(store, "c1")
    await store.contact_ended("c1", EndReason.CITIZEN_LEFT, MORNING + 5)
    await store.contact_ended("c1", EndReason.CITIZEN_DROPPED, MORNING + 9)
    record = await store.get("c1")
    assert (
        record is not None
        and record.end_reason is EndReason.CITIZEN_LEFT
        and record.ended_at == MORNING + 5
    )


async def test_reoffer_replaces_the_executive(open_store: OpenStore) -> None:
    store = await open_store()
    await join(store, "c1")
    await store.contact_offered("c1", "11.111.111-1", "Eva", MORNING + 1)
    await store.contact_offered("c1", "12.345.678-5", "Leo", MORNING + 2)
    record = await store.get("c1")
    assert record is not None and (record.executive_run, record.offered_at) == (
        "12.345.678-5",
        MORNING + 2,
    )


@pytest.mark.parametrize(
    ("stage", "executive", "error", "message"),
    [
        ("ended", "12.345.678-5", NotYourContact, "Esta atención no es tuya"),
        ("answered", "11.111.111-1", InvalidState, "La atención no ha terminado"),
        ("wrapped", "11.111.111-1", InvalidState, "El cierre de esta atención ya fue registrado"),
        ("joined", "11.111.111-1", NotYourContact, "Esta atención no es tuya"),
    ],
)
async def test_wrap_up_errors(
    open_store: OpenStore, stage: str, executive: str, error: type[Exception], message: str
) -> None:
    store = await open_store()
    await join(store, "c1")
    if stage != "joined":
        await store.contact_offered("c1", "11.111.111-1", "Eva", MORNING + 1)
        await store.contact_answered("c1", MORNING + 2)
    if stage in ("ended", "wrapped"):
        await store.contact_ended("c1", EndReason.COMPLETED, MORNING + 3)
    if stage == "wrapped":
        await store.contact_wrapped_up("c1", "11.111.111-1", "resuelto", "otro", "", MORNING + 4)
    with pytest.raises(error) as caught:
        await store.contact_wrapped_up("c1", executive, "resuelto", "otro", "again", MORNING + 5)
    assert str(caught.value) == message


@pytest.mark.parametrize("step", ["offered", "answered", "ended", "wrapped"])
async def test_unknown_contact_is_named(open_store: OpenStore, step: str) -> None:
    store = await open_store()
    with pytest.raises(UnknownContact, match="contact 'ghost' does not exist"):
        if step == "offered":
            await store.contact_offered("ghost", "1", "x", MORNING)
        elif step == "answered":
            await store.contact_answered("ghost", MORNING)
        elif step == "ended":
            await store.contact_ended("ghost", EndReason.COMPLETED, MORNING)
        else:
            await store.contact_wrapped_up("ghost", "1", "x", "y", "", MORNING)


async def test_recent_is_newest_first_and_filters_by_citizen(open_store: OpenStore) -> None:
    store = await open_store()
    await join(store, "a", MORNING)
    await join(store, "b", MORNING + 10, run="11.111.111-1")
    await join(store, "c", MORNING + 20)
    assert [r.contact_id for r in await store.recent(10)] == ["c", "b", "a"]
    assert [r.contact_id for r in await store.recent(2)] == ["c", "b"]
    assert [r.contact_id for r in await store.recent(10, citizen_run="44.444.444-4")] == ["c", "a"]


@pytest.mark.parametrize(
    ("start", "end", "service", "executive", "expected"),
    [
        (MORNING, MORNING + 100, None, None, ["a", "b", "c", "d"]),
        # The start is inclusive, the end exclusive.
        (MORNING + 10, MORNING + 30, None, None, ["b", "c"]),
        (MORNING, MORNING + 100, "especialista", None, ["b", "d"]),
        (MORNING, MORNING + 100, None, "11.111.111-1", ["a", "d"]),
        (MORNING, MORNING + 100, "especialista", "11.111.111-1", ["d"]),
        (MORNING, MORNING + 100, "nadie", None, []),
        (MORNING + 40, MORNING + 40, None, None, []),
    ],
)
async def test_joined_between_filters_by_period_service_and_executive(
    open_store: OpenStore,
    start: float,
    end: float,
    service: str | None,
    executive: str | None,
    expected: list[str],
) -> None:
    store = await open_store()
    # Joined out of order, so the oldest-first order is the store's doing.
    for contact_id, at, queue in (
        ("d", MORNING + 30, "especialista"),
        ("a", MORNING, "general"),
        ("c", MORNING + 20, "general"),
        ("b", MORNING + 10, "especialista"),
        ("late", MORNING + 100, "general"),
    ):
        await store.contact_joined(
            contact_id, queue, "44.444.444-4", "María González", "licencias", "", at
        )
    await store.contact_offered("a", "11.111.111-1", "Eva Díaz", MORNING + 5)
    await store.contact_offered("b", "12.345.678-5", "Juan Pérez", MORNING + 15)
    await store.contact_offered("d", "11.111.111-1", "Eva Díaz", MORNING + 35)
    found = await store.joined_between(start, end, service=service, executive=executive)
    assert [record.contact_id for record in found] == expected
    assert all(record.citizen_name == "María González" for record in found)


async def test_text_is_stored_verbatim(open_store: OpenStore) -> None:
    store = await open_store()
    tricky = 'Robert\'); DROP TABLE contacts;-- «ñandú» "quoted"'
    await store.contact_joined(
        "c1", "general", "44.444.444-4", "Ñuñoa Pérez", "otro", tricky, MORNING
    )
    record = await store.get("c1")
    assert (
        record is not None and record.reason_text == tricky and record.citizen_name == "Ñuñoa Pérez"
    )


async def test_records_survive_a_new_store_on_the_same_file(open_store: OpenStore) -> None:
    first = await open_store()
    await join(first, "c1")
    await first.close()
    second = await open_store()
    assert (await second.get("c1")) is not None


def test_a_process_killed_mid_contact_keeps_every_step(records_url: str) -> None:
    script = textwrap.dedent(
        f"""
        import asyncio, os
        from branch.records.factory import open_record_store

        async def main():
            store = open_record_store({records_url!r})
            await store.open()
            await store.contact_joined("c1", "general", "44.444.444-4", "Ana", "otro", "", {MORNING})
            await store.contact_offered("c1", "11.111.111-1", "Eva", {MORNING + 5})
            os._exit(1)  # no close, no flush: as if the node were killed

        asyncio.run(main())
        """
    )
    result = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, timeout=60, check=False
    )
    assert result.returncode == 1, result.stderr

    async def read() -> None:
        store = open_record_store(records_url)
        await store.open()
        try:
            record = await store.get("c1")
            assert record is not None and record.offered_at == MORNING + 5
        finally:
            await store.close()

    asyncio.run(read())


async def test_a_newer_schema_is_refused(records_url: str, open_store: OpenStore) -> None:
    await (await open_store()).close()
    if records_url.startswith("sqlite:///"):
        await execute_sql(records_url, "PRAGMA user_version = 99")
        where = records_url.removeprefix("sqlite:///")
    else:
        await execute_sql(records_url, "UPDATE schema_version SET version = 99")
        where = records_url
    with pytest.raises(ConfigError) as caught:
        await open_store()
    assert str(caught.value) == (
        f"stores.records: {where} has schema version 99, newer than this branch knows ({len(MIGRATIONS)}); upgrade the branch"
    )


async def test_nodes_writing_at_once_share_one_folio_counter_and_one_chain(
    open_store: OpenStore,
) -> None:
    nodes = [await open_store() for _ in range(4)]

    async def node_work(number: int, store: RecordStore) -> list[str]:
        folios = []
        for index in range(8):
            contact_id = f"n{number}-{index}"
            folios.append(await join(store, contact_id, MORNING + index))
            await store.audit(
                "contact.joined", "system", contact_id, f"joined:{contact_id}", {}, MORNING + index
            )
            # The same event written again by another node lands once.
            await nodes[(number + 1) % len(nodes)].audit(
                "contact.joined", "system", contact_id, f"joined:{contact_id}", {}, MORNING + index
            )
        return folios

    folios = [
        folio
        for batch in await asyncio.gather(*(node_work(n, s) for n, s in enumerate(nodes)))
        for folio in batch
    ]
    assert sorted(folios) == [f"20261124-{n:06d}" for n in range(1, 33)]
    entries = await nodes[0].audit_entries()
    assert len(entries) == 32 and len({entry.event_id for entry in entries}) == 32
    assert verify(entries) is None


@pytest.mark.parametrize(
    ("url", "message"),
    [
        (
            "mysql://db",
            "stores.records: unsupported URL 'mysql://db' (use sqlite:///path or postgresql://…)",
        ),
        ("sqlite:///", "stores.records: sqlite:/// needs a file path"),
    ],
)
def test_factory_names_bad_urls(url: str, message: str) -> None:
    with pytest.raises(ConfigError) as caught:
        open_record_store(url)
    assert str(caught.value) == message


def test_factory_picks_the_implementation_from_the_url() -> None:
    assert isinstance(open_record_store("sqlite:///data/r.sqlite3"), SqliteRecordStore)
    for url in ("postgresql://db.example/branch", "postgres://u:secret@db.example/branch"):
        assert isinstance(open_record_store(url), PostgresRecordStore)


async def test_table_for_the_command_line(open_store: OpenStore) -> None:
    store = await open_store()
    assert format_contacts([]) == "No hay atenciones registradas."
    await join(store, "c1")
    await store.contact_ended("c1", EndReason.CITIZEN_LEFT, MORNING + 90)
    table = format_contacts(await store.recent())
    lines = table.splitlines()
    assert lines[0].split()[:3] == ["Folio", "Ingreso", "RUN"]
    assert "20261124-000001" in lines[2] and "24-11-2026 10:00" in lines[2]
    assert "1:30" in lines[2] and "salió de la fila" in lines[2]
