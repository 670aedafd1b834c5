"""The auditors' read-only endpoints over a running node; every read is itself audited."""

from __future__ import annotations

import datetime
import time
from collections.abc import AsyncIterator
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from branch.records.base import EndReason, RecordStore
from branch.web.app import RECORDS
from branch.web.client import BranchClient
from tests.conftest import ADMIN_RUN, AUDITOR_RUN, CITIZEN_RUN, RunningBranch, StartBranch

ZONE = ZoneInfo("America/Santiago")


async def a_served_contact(records: RecordStore) -> None:
    """Contact c1 of today: Ana Rojas served by Eva Díaz, with a chat line; joined in the trail."""
    now = time.time()
    await records.contact_joined("c1", "general", CITIZEN_RUN, "Ana Rojas", "bonos", "hola", now)
    await records.audit("contact.joined", f"citizen:{CITIZEN_RUN}", "c1", "j1", {}, now)
    await records.contact_offered("c1", "11.111.111-1", "Eva Díaz", now + 1)
    await records.contact_answered("c1", now + 2)
    await records.chat_added("c1", "citizen", "¿me escucha?", now + 3)
    await records.contact_ended("c1", EndReason.COMPLETED, now + 4)


@pytest.fixture
async def node(start_branch: StartBranch) -> RunningBranch:
    node = await start_branch()
    await a_served_contact(node.app[RECORDS])
    return node


@pytest.fixture
async def auditor(node: RunningBranch) -> AsyncIterator[BranchClient]:
    async with BranchClient(node.url, ca_file=node.ca_path) as client:
        await client.login(AUDITOR_RUN, "Ana", "Auditora", "/audit")
        yield client


async def get(client: BranchClient, path: str) -> tuple[int, dict[str, Any]]:
    async with client.http.get(f"{client.url}{path}") as response:
        assert response.status >= 400 or response.headers.get("Cache-Control") == "no-store"
        body: dict[str, Any] = await response.json()
        return response.status, body


def today() -> str:
    return datetime.datetime.now(ZONE).date().isoformat()


async def reads(node: RunningBranch) -> list[tuple[str, str, str | None, dict[str, Any]]]:
    return [
        (entry.kind, entry.actor, entry.contact_id, entry.data)
        for entry in await node.app[RECORDS].audit_entries()
        if entry.kind.endswith(".read")
    ]


async def test_contacts_of_a_period_and_the_read_recorded(
    node: RunningBranch, auditor: BranchClient
) -> None:
    status, body = await get(auditor, "/api/audit/contacts")
    assert status == 200
    assert (body["from"], body["to"], body["truncated"]) == (today(), today(), False)
    [contact] = body["contacts"]
    assert (contact["folio"][-6:], contact["citizen_run"], contact["reason_text"]) == (
        "000001",
        CITIZEN_RUN,
        "hola",
    )
    assert await reads(node) == [
        (
            "records.read",
            f"auditor:{AUDITOR_RUN}",
            None,
            {"from": today(), "to": today(), "service": None, "count": 1},
        )
    ]


async def test_one_contact_with_chat_and_its_story(
    node: RunningBranch, auditor: BranchClient
) -> None:
    status, body = await get(auditor, "/api/audit/contacts/c1")
    assert status == 200
    assert body["contact"]["executive_name"] == "Eva Díaz"
    assert [(line["sender"], line["text"]) for line in body["chat"]] == [
        ("citizen", "¿me escucha?")
    ]
    # The read itself is part of the contact's story, as the last entry.
    story, read = body["trail"]
    assert (read["kind"], read["actor"]) == ("records.read", f"auditor:{AUDITOR_RUN}")
    assert (story["kind"], story["actor"], story["sealed"], story["erased"]) == (
        "contact.joined",
        f"citizen:{CITIZEN_RUN}",
        True,
        False,
    )
    assert "salt" not in story
    assert await reads(node) == [("records.read", f"auditor:{AUDITOR_RUN}", "c1", {})]


async def test_the_trail_in_pages_and_its_verification(
    node: RunningBranch, auditor: BranchClient
) -> None:
    # The auditor's own login is entry 2, after the contact's entry 1.
    status, first = await get(auditor, "/api/audit/entries?limit=1")
    assert status == 200 and [entry["seq"] for entry in first["entries"]] == [1]
    assert first["next"] == 1
    status, rest = await get(auditor, "/api/audit/entries?after=1&limit=500")
    assert [entry["kind"] for entry in rest["entries"]] == ["login", "audit.read"]
    assert rest["next"] is None
    status, verdict = await get(auditor, "/api/audit/verify")
    head = verdict["head"]
    assert (status, verdict["ok"], verdict["entries"], verdict["broken"]) == (200, True, 4, None)
    assert verdict["language"] == "es-CL"
    status, anchored = await get(auditor, f"/api/audit/verify?head={head['seq']}:{head['hash']}")
    assert anchored["ok"] is True
    status, wrong = await get(auditor, f"/api/audit/verify?head={head['seq']}:{'0' * 64}")
    assert (wrong["ok"], wrong["broken"]) == (
        False,
        {"seq": head["seq"], "reason": "differs from the recorded head"},
    )


@pytest.mark.parametrize(
    ("path", "status", "code", "message"),
    [
        # The period is a report's: the same rules and words as /api/reports.
        (
            "/api/audit/contacts?from=ayer",
            400,
            "bad_report_query",
            "from: 'ayer' no es una fecha (AAAA-MM-DD)",
        ),
        (
            "/api/audit/contacts?from=2025-01-01&to=2026-03-01",
            400,
            "bad_report_query",
            "el período tiene más de 366 días",
        ),
        (
            "/api/audit/contacts?from=2026-03-02&to=2026-03-01",
            400,
            "bad_report_query",
            "to: 2026-03-01 es anterior a from (2026-03-02)",
        ),
        (
            "/api/audit/entries?limit=0",
            400,
            "bad_query",
            "limit: '0' is not a whole number from 1 to 500",
        ),
        (
            "/api/audit/entries?after=-1",
            400,
            "bad_query",
            "after: '-1' is not a whole number from 0 to 4611686018427387904",
        ),
        (
            "/api/audit/entries?limit=%C2%B2",
            400,
            "bad_query",
            "limit: '²' is not a whole number from 1 to 500",
        ),
        (
            f"/api/audit/verify?head=%C2%B2:{'0' * 64}",
            400,
            "bad_query",
            f"head: '²:{'0' * 64}' is not SEQ:HASH as `branch audit head` prints",
        ),
        (
            "/api/audit/verify?head=12",
            400,
            "bad_query",
            "head: '12' is not SEQ:HASH as `branch audit head` prints",
        ),
        ("/api/audit/contacts/nada", 404, "unknown_contact", "contact 'nada' does not exist"),
    ],
)
async def test_bad_queries_are_named(
    auditor: BranchClient, path: str, status: int, code: str, message: str
) -> None:
    got, body = await get(auditor, path)
    # A period's problem (for the page's words) is the reports' own, tested there.
    assert (got, {"code": body["code"], "message": body["message"]}) == (
        status,
        {"code": code, "message": message},
    )
    assert ("problem" in body) == (code == "bad_report_query")


async def test_others_are_refused_by_name(node: RunningBranch) -> None:
    async with BranchClient(node.url, ca_file=node.ca_path) as citizen:
        assert await get(citizen, "/api/audit/entries") == (
            401,
            {"code": "not_authenticated", "message": "No has ingresado"},
        )
        await citizen.login(CITIZEN_RUN, "Ana", "Rojas")
        assert await get(citizen, "/api/audit/contacts/c1") == (
            403,
            {"code": "forbidden", "message": "the citizen role may not read records"},
        )
    assert await reads(node) == []


async def test_auditors_and_admins_land_on_the_audit_page(node: RunningBranch) -> None:
    for run in (AUDITOR_RUN, ADMIN_RUN):
        async with BranchClient(node.url, ca_file=node.ca_path) as client:
            await client.login(run, "Ana", "Rojas", "/")
            async with client.http.get(f"{node.url}/", allow_redirects=False) as landing:
                assert landing.status == 200
            async with client.http.get(f"{node.url}/audit") as page:
                assert page.status == 200 and "/static/js/audit.js" in await page.text()


async def test_after_a_purge_the_records_show_no_person_and_the_chain_verifies(
    node: RunningBranch, auditor: BranchClient
) -> None:
    now = time.time()
    purge = await node.app[RECORDS].purge(now + 60, now, "system")
    assert (purge.contacts, purge.entries) == (1, 1)
    status, listed = await get(auditor, "/api/audit/contacts")
    assert status == 200
    [contact] = listed["contacts"]
    assert (contact["citizen_run"], contact["citizen_name"], contact["reason_text"]) == ("", "", "")
    assert contact["purged_at"] is not None and contact["executive_name"] == "Eva Díaz"
    status, detail = await get(auditor, "/api/audit/contacts/c1")
    assert status == 200 and detail["chat"] == []
    assert (detail["trail"][0]["actor"], detail["trail"][0]["erased"]) == ("citizen", True)
    status, verdict = await get(auditor, "/api/audit/verify")
    assert (status, verdict["ok"], verdict["erased"], verdict["broken"]) == (200, True, 1, None)
