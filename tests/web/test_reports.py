"""The reports endpoint over the scripted day: exact figures, CSV download, roles, bad input, audit."""

from __future__ import annotations

import random
from typing import Any

import pytest

from branch.config import load_settings
from branch.web.app import RECORDS
from branch.web.client import BranchClient
from tests.conftest import (
    CITIZEN_RUN,
    EXECUTIVE_RUN,
    SUPERVISOR_RUN,
    RunningBranch,
    StartBranch,
)
from tests.scripted_day import DAY_TEXT, QUEUES_JSON, TOTAL, load_day

DAY_QUERY = f"/api/reports?from={DAY_TEXT}&to={DAY_TEXT}"


async def day_branch(start_branch: StartBranch) -> RunningBranch:
    queues = load_settings({"BRANCH_QUEUES": QUEUES_JSON}).queues
    node = await start_branch(queues=queues)
    await load_day(node.app[RECORDS])
    return node


async def fetch(node: RunningBranch, run: str | None, path: str) -> tuple[int, dict[str, str], Any]:
    async with BranchClient(node.url, ca_file=node.ca_path) as client:
        if run is not None:
            await client.login(run, "Sofía", "Rojas", "/")
        async with client.http.get(f"{node.url}{path}", allow_redirects=False) as response:
            body = (
                await response.json()
                if response.content_type == "application/json"
                else await response.text()
            )
            return response.status, dict(response.headers), body


async def test_the_scripted_day_as_a_supervisor_sees_it(start_branch: StartBranch) -> None:
    node = await day_branch(start_branch)
    status, headers, document = await fetch(node, SUPERVISOR_RUN, DAY_QUERY)
    assert status == 200
    assert "Content-Disposition" not in headers
    assert document["total"] == TOTAL.to_dict()
    assert document["language"] == "es-CL"
    assert [(row["key"], row["name"], row["answered"]) for row in document["by_executive"]] == [
        ("11.111.111-1", "Eva Díaz", 4),
        ("12.345.678-5", "Juan Pérez", 3),
    ]
    assert [(row["key"], row["offered"]) for row in document["by_reason"]] == [
        ("bonos", 3),
        ("ges", 3),
        ("licencias", 3),
        ("otro", 2),
        ("reclamos", 1),
    ]
    assert document["labels"]["reason"]["ges"] == {
        "es": "Garantías GES",
        "en": "GES health guarantees",
    }
    # Looking is a record access by staff: audited, though not an export.
    entries = await node.app[RECORDS].audit_entries()
    assert [
        (e.kind, e.actor, e.data["format"]) for e in entries if e.kind.startswith("report")
    ] == [("report.viewed", f"supervisor:{SUPERVISOR_RUN}", "json")]


async def test_filters_narrow_the_figures(start_branch: StartBranch) -> None:
    node = await day_branch(start_branch)
    _, _, document = await fetch(
        node, SUPERVISOR_RUN, f"{DAY_QUERY}&service=general&executive=11111111-1"
    )
    # Eva's general contacts: c1, c2, c8 and c12 (still talking).
    assert document["period"] == {
        "from": DAY_TEXT,
        "to": DAY_TEXT,
        "service": "general",
        "executive": EXECUTIVE_RUN,
    }
    total = document["total"]
    assert (total["offered"], total["handled"], total["aht"], total["asa"]) == (4, 3, 300.0, 32.5)
    _, _, other_day = await fetch(
        node, SUPERVISOR_RUN, "/api/reports?from=2026-11-25&to=2026-11-30"
    )
    assert (other_day["total"]["offered"], other_day["total"]["service_level"]) == (0, None)


async def test_csv_and_json_downloads_are_exports_in_the_audit_trail(
    start_branch: StartBranch,
) -> None:
    node = await day_branch(start_branch)
    status, headers, text = await fetch(node, SUPERVISOR_RUN, f"{DAY_QUERY}&format=csv")
    assert status == 200
    assert headers["Content-Type"] == "text/csv; charset=utf-8"
    assert (
        headers["Content-Disposition"] == 'attachment; filename="reporte-2026-11-24-2026-11-24.csv"'
    )
    lines = text.split("\r\n")
    assert (
        lines[1]
        == "total,,Total,12,7,2,1,1,1,5,0.5556,65,6,360,310,50,0.2,1,0.1429,5,31,19,5,3.6,1,0,1,1,2"
    )
    assert "hour,10,10,4,1,2,1,0,0,0,0,90,1,420,400,20,0.6667,0,0,1,30,30,1,3,0,0,1,0,0" in lines
    status, headers, document = await fetch(
        node, SUPERVISOR_RUN, f"{DAY_QUERY}&service=especialista&download=1"
    )
    assert (
        headers["Content-Disposition"]
        == 'attachment; filename="reporte-2026-11-24-2026-11-24.json"'
    )
    assert document["total"]["offered"] == 2
    entries = [e for e in await node.app[RECORDS].audit_entries() if e.kind.startswith("report")]
    assert [(e.kind, e.actor, e.data) for e in entries] == [
        (
            "report.exported",
            f"supervisor:{SUPERVISOR_RUN}",
            {"from": DAY_TEXT, "to": DAY_TEXT, "service": None, "executive": None, "format": "csv"},
        ),
        (
            "report.exported",
            f"supervisor:{SUPERVISOR_RUN}",
            {
                "from": DAY_TEXT,
                "to": DAY_TEXT,
                "service": "especialista",
                "executive": None,
                "format": "json",
            },
        ),
    ]


@pytest.mark.parametrize(
    ("run", "status", "code", "message"),
    [
        (None, 401, "not_authenticated", "No has ingresado"),
        (
            CITIZEN_RUN,
            403,
            "forbidden",
            "Los reportes son solo para supervisores y administradores",
        ),
        (
            EXECUTIVE_RUN,
            403,
            "forbidden",
            "Los reportes son solo para supervisores y administradores",
        ),
    ],
)
async def test_only_supervisors_get_reports(
    start_branch: StartBranch, run: str | None, status: int, code: str, message: str
) -> None:
    node = await day_branch(start_branch)
    for query in (DAY_QUERY, f"{DAY_QUERY}&format=csv"):
        assert (await fetch(node, run, query))[0::2] == (
            status,
            {"code": code, "message": message},
        )
    entries = await node.app[RECORDS].audit_entries()
    assert [e for e in entries if e.kind.startswith("report")] == []


YEARS = {"firstYear": "1970", "lastYear": "9998"}


@pytest.mark.parametrize(
    ("query", "message", "problem", "values"),
    [
        (
            "from=24-11-2026",
            "from: '24-11-2026' no es una fecha (AAAA-MM-DD)",
            "from_not_a_date",
            {},
        ),
        ("to=20261124", "to: '20261124' no es una fecha (AAAA-MM-DD)", "to_not_a_date", {}),
        ("to=2026-W48-2", "to: '2026-W48-2' no es una fecha (AAAA-MM-DD)", "to_not_a_date", {}),
        ("to=2026-02-30", "to: '2026-02-30' no es una fecha (AAAA-MM-DD)", "to_not_a_date", {}),
        (
            "from=9999-12-31&to=9999-12-31",
            "to: 9999-12-31 está fuera de los años 1970 a 9998",
            "to_out_of_range",
            YEARS,
        ),
        (
            "from=0001-01-01",
            "from: 0001-01-01 está fuera de los años 1970 a 9998",
            "from_out_of_range",
            YEARS,
        ),
        (
            "to=0001-01-01",
            "to: 0001-01-01 está fuera de los años 1970 a 9998",
            "to_out_of_range",
            YEARS,
        ),
        (
            "from=2026-11-25&to=2026-11-24",
            "to: 2026-11-24 es anterior a from (2026-11-25)",
            "to_before_from",
            {},
        ),
        (
            "from=2020-01-01&to=2026-11-24",
            "el período tiene más de 366 días",
            "period_too_long",
            {"maxDays": 366},
        ),
        (
            "service=caja",
            "service: 'caja' no es un servicio (general, especialista)",
            "unknown_service",
            {},
        ),
        (
            "executive=abc",
            "executive: El RUN 'abc' no tiene un formato válido",
            "bad_executive",
            {},
        ),
        ("format=xlsx", "format: 'xlsx' no es json ni csv", "bad_format", {}),
    ],
)
async def test_bad_queries_are_400_naming_the_field_and_the_problem(
    start_branch: StartBranch, query: str, message: str, problem: str, values: dict[str, Any]
) -> None:
    node = await day_branch(start_branch)
    expected = {"code": "bad_report_query", "message": message, "problem": problem}
    assert (await fetch(node, SUPERVISOR_RUN, f"/api/reports?{query}"))[0::2] == (
        400,
        {**expected, "values": values} if values else expected,
    )


@pytest.mark.parametrize(
    ("run", "status", "marker"),
    [
        (SUPERVISOR_RUN, 200, 'src="/static/js/reports.js"'),
        (EXECUTIVE_RUN, 403, "Acceso restringido"),
        (CITIZEN_RUN, 403, "Acceso restringido"),
    ],
)
async def test_the_page_is_for_supervisors(
    start_branch: StartBranch, run: str, status: int, marker: str
) -> None:
    node = await start_branch()
    got, _, body = await fetch(node, run, "/reports")
    assert got == status
    assert marker in body
    got, headers, _ = await fetch(node, None, "/reports")
    assert (got, headers["Location"]) == (302, "/login?next=/reports")


async def test_junk_in_every_parameter_is_a_named_400_never_a_crash(
    start_branch: StartBranch,
) -> None:
    node = await start_branch()
    rng = random.Random(6)
    alphabet = "0123456789-.kK/ ñ\x00\ud800%&=" + "abc"
    async with BranchClient(node.url, ca_file=node.ca_path) as client:
        await client.login(SUPERVISOR_RUN, "Sofía", "Rojas", "/")
        for _ in range(60):
            name = rng.choice(["from", "to", "service", "executive", "format", "download"])
            value = "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 14)))
            async with client.http.get(
                f"{node.url}/api/reports", params={name: value.encode("utf-8", "replace").decode()}
            ) as response:
                body = await response.json()
                assert response.status in (200, 400), (name, value, body)
                if response.status == 400:
                    assert body["code"] == "bad_report_query", (name, value, body)
                    assert body["message"].startswith((f"{name}: ", "el período", "to: ")), (
                        name,
                        value,
                        body,
                    )
