"""`branch report` over the scripted day written into a real SQLite record store."""

from __future__ import annotations

import asyncio
import datetime
import json
from dataclasses import replace
from pathlib import Path

import pytest

from branch.cli import main
from branch.config import load_settings
from branch.records.base import EndReason
from branch.records.sqlite import SqliteRecordStore
from branch.reports import ReportQuery, build_report
from tests.scripted_day import DAY, DAY_TEXT, QUEUES_JSON, TEN, TOTAL, load_day


@pytest.fixture
def day_store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A data directory whose records hold the scripted day; the CLI is pointed at it."""
    path = tmp_path / "records.sqlite3"

    async def write() -> None:
        store = SqliteRecordStore(path)
        await store.open()
        try:
            await load_day(store)
        finally:
            await store.close()

    asyncio.run(write())
    monkeypatch.setenv("BRANCH_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("BRANCH_QUEUES", QUEUES_JSON)
    return path


def audit_kinds(path: Path) -> list[tuple[str, dict[str, object]]]:
    async def read() -> list[tuple[str, dict[str, object]]]:
        store = SqliteRecordStore(path)
        await store.open()
        try:
            return [(entry.kind, entry.data) for entry in await store.audit_entries()]
        finally:
            await store.close()

    return asyncio.run(read())


def test_json_report_of_the_scripted_day(
    day_store: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["report", "--from", DAY_TEXT, "--to", DAY_TEXT, "--json"]) == 0
    document = json.loads(capsys.readouterr().out)
    assert document["total"] == TOTAL.to_dict()
    assert document["period"] == {
        "from": DAY_TEXT,
        "to": DAY_TEXT,
        "service": None,
        "executive": None,
    }
    assert document["thresholds"] == {
        "service_level_seconds": 60,
        "short_abandon_seconds": 5,
        "timezone": "America/Santiago",
    }
    assert [(row["key"], row["offered"]) for row in document["by_hour"]] == [
        ("09", 2),
        ("10", 4),
        ("11", 6),
    ]
    assert document["labels"]["service"]["especialista"] == {
        "es": "Especialista",
        "en": "Specialist",
    }
    # The export is in the audit trail, with what was asked for.
    assert audit_kinds(day_store)[-1] == (
        "report.exported",
        {"from": DAY_TEXT, "to": DAY_TEXT, "service": None, "executive": None, "format": "json"},
    )


def test_filters_by_service_and_executive(
    day_store: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["report", "--to", DAY_TEXT, "--service", "especialista", "--json"]) == 0
    total = json.loads(capsys.readouterr().out)["total"]
    # c7 (answered in 30 s, transferred) and c10 (closed after 400 s).
    assert (total["offered"], total["answered"], total["closed"], total["service_level"]) == (
        2,
        1,
        1,
        0.5,
    )
    # Juan Pérez's RUN written without dots: c3, c7 and c9.
    assert main(["report", "--to", DAY_TEXT, "--executive", "12345678-5", "--json"]) == 0
    document = json.loads(capsys.readouterr().out)
    assert document["period"]["executive"] == "12.345.678-5"
    assert (document["total"]["answered"], document["total"]["aht"]) == (3, 420.0)


def test_csv_report_has_one_row_per_group(
    day_store: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["report", "--from", DAY_TEXT, "--to", DAY_TEXT, "--csv"]) == 0
    lines = capsys.readouterr().out.split("\r\n")
    assert lines[0] == (
        "section,key,name,offered,answered,abandoned,short_abandoned,closed,pending,"
        "answered_within,service_level,asa,handled,aht,talk,wrapup,abandonment_rate,"
        "transferred,transfer_rate,estimates,estimate_error,estimate_bias,surveyed,"
        "satisfaction,score_1,score_2,score_3,score_4,score_5"
    )
    assert (
        lines[1]
        == "total,,Total,12,7,2,1,1,1,5,0.5556,65,6,360,310,50,0.2,1,0.1429,5,31,19,5,3.6,1,0,1,1,2"
    )
    assert (
        "service,especialista,Especialista,2,1,0,0,1,0,1,0.5,30,1,700,600,100,0,1,1,0,,,0,,0,0,0,0,0"
        in lines
    )
    assert (
        "reason,ges,Garantías GES,3,3,0,0,0,0,2,0.6667,60,3,473.3333,413.3333,60,0,1,0.3333,1,30,30,2,4,0,0,1,0,1"
        in lines
    )
    assert (
        "executive,11.111.111-1,Eva Díaz,4,4,0,0,0,0,4,1,32.5,3,300,246.6667,53.3333,0,0,0,3,13.3333,-6.6667,3,4.6667,0,0,0,1,2"
        in lines
    )
    assert "wait,600-,600 s o más,0,0,0,0,0,0,0,,,0,,,,,0,,0,,,0,,0,0,0,0,0" in lines
    # Total, 2 services, 5 reasons, 4 outcomes, 2 executives, 1 day, 3 hours, 7 wait buckets.
    assert (len(lines), lines[-1]) == (1 + 1 + 2 + 5 + 4 + 2 + 1 + 3 + 7 + 1, "")


def test_text_report_for_a_terminal(day_store: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["report", "--from", DAY_TEXT, "--to", DAY_TEXT]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[:7] == [
        "Reporte 2026-11-24 (hora de America/Santiago)",
        "",
        "Ofrecidas 12, atendidas 7, abandonos 2 (y 1 cortos de menos de 5 s), "
        "cerradas sin atender 1, en espera 1",
        "Nivel de servicio (60 s): 55.6 %   TME: 1:05   TMO: 6:00 (conversación 5:10, cierre 0:50)",
        "Tasa de abandono: 20.0 %   Transferencias: 14.3 %",
        "Estimación de espera: error medio 31 s, sesgo +19 s en 5 atenciones",
        "Satisfacción: 3.60 en 5 encuestas (1 a 5: 1 0 1 1 2)",
    ]
    assert (
        "Juan Pérez  3          3          0          0       33.3 %             1:48  7:00  33.3 %        2.00"
        in lines
    )


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (["--from", "24-11-2026"], "from: '24-11-2026' no es una fecha (AAAA-MM-DD)"),
        (
            ["--from", "2026-11-25", "--to", "2026-11-24"],
            "to: 2026-11-24 es anterior a from (2026-11-25)",
        ),
        (["--from", "2025-11-23", "--to", "2026-11-24"], "el período tiene más de 366 días"),
        (["--service", "caja"], "service: 'caja' no es un servicio (general, especialista)"),
        (
            ["--executive", "11.111.111-2"],
            "executive: El RUN 11.111.111-2 no es válido: el dígito verificador no corresponde",
        ),
    ],
)
def test_bad_periods_and_filters_exit_2_naming_the_field(
    day_store: Path, capsys: pytest.CaptureFixture[str], arguments: list[str], message: str
) -> None:
    assert main(["report", *arguments]) == 2
    assert capsys.readouterr().err == f"branch report: {message}\n"
    assert all(kind != "report.exported" for kind, _ in audit_kinds(day_store))


async def test_the_figures_survive_the_retention_purge(tmp_path: Path) -> None:
    store = SqliteRecordStore(tmp_path / "records.sqlite3")
    await store.open()
    try:
        await load_day(store)
        settings = load_settings({"BRANCH_QUEUES": QUEUES_JSON})
        query = ReportQuery.parse(settings, datetime.date(2026, 11, 24))
        before = await build_report(store, settings, query)
        purged = await store.purge(TEN + 86400, TEN + 86400)
        after = await build_report(store, settings, query)
        ends = [await store.get(contact_id) for contact_id in ("c11", "c12")]
    finally:
        await store.close()
    # Every ended contact lost its citizen; c11 (waiting) and c12 (talking) never ended, so
    # the purge closed them as dropped at the last moment known of them (docs/security.md).
    assert purged.contacts == 12
    assert (before.total.pending, after.total.pending) == (1, 0)
    assert [record.end_reason if record else None for record in ends] == [
        EndReason.CITIZEN_DROPPED,
        EndReason.CITIZEN_DROPPED,
    ]
    assert before.total == TOTAL
    # Apart from those two, the purge changes no figure: the report equals that of the same
    # day written with c11 and c12 already ended as the purge ends them.
    closed_day = tuple(
        replace(
            record,
            ended_at=record.answered_at or record.joined_at,
            end_reason=EndReason.CITIZEN_DROPPED,
        )
        if record.contact_id in ("c11", "c12")
        else record
        for record in DAY
    )
    same_day = SqliteRecordStore(tmp_path / "closed-day.sqlite3")
    await same_day.open()
    try:
        await load_day(same_day, closed_day)
        expected = await build_report(same_day, settings, query)
    finally:
        await same_day.close()
    assert after == expected
