"""The authorization matrix, from one table: every role against every message and endpoint.

The tables here are written independently of ``branch.service.PERMISSIONS`` and the
route handlers, so a change to either that widens access fails here.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from branch import schema
from branch.config import load_settings
from branch.errors import BranchError, Forbidden
from branch.hub import Hub
from branch.live.memory import MemoryLiveStore
from branch.people import User
from branch.records.sqlite import SqliteRecordStore
from branch.service import BranchService
from branch.tls import client_context
from branch.web.app import create_app
from branch.web.client import BranchClient
from tests.conftest import (
    ADMIN_RUN,
    AUDITOR_RUN,
    CITIZEN_RUN,
    EXECUTIVE_RUN,
    SUPERVISOR_RUN,
    StartBranch,
)

C, E, S, AU, AD = "citizen", "executive", "supervisor", "auditor", "admin"
ROLES = (C, E, S, AU, AD)
RUNS = {C: CITIZEN_RUN, E: EXECUTIVE_RUN, S: SUPERVISOR_RUN, AU: AUDITOR_RUN, AD: ADMIN_RUN}

# Which roles may send each websocket message type. The auditor sends none: its
# socket is closed before any message (below); the admin only watches.
MESSAGES: dict[str, set[str]] = {
    "ping": {C, E, S, AD},
    "queue.join": {C},
    "queue.ready": {C},
    "queue.resume": {C},
    "queue.leave": {C},
    "agent.available": {E},
    "agent.not_ready": {E},
    "agent.pause_after": {E},
    "offer.accept": {E},
    "offer.decline": {E},
    "call.hangup": {C, E},
    "call.transfer": {E},
    "chat.send": {C, E},
    "signal.description": {C, E},
    "signal.candidate": {C, E},
    "wrapup.submit": {E},
    "survey.submit": {C},
    "call.audio_only": {C},
    "call.camera": {C, E},
    "call.reclaim": {C, E},
    "supervisor.not_ready": {S},
    "supervisor.pause_after": {S},
    "supervisor.log_out": {S},
    "supervisor.broadcast": {S},
    "supervisor.clear_notice": {S},
}

SAMPLES: dict[str, dict[str, Any]] = {
    "ping": {},
    "queue.join": {"reason": "otro"},
    "queue.ready": {"contactId": "c"},
    "queue.resume": {"ticket": "t"},
    "queue.leave": {},
    "agent.available": {},
    "agent.not_ready": {},
    "agent.pause_after": {},
    "offer.accept": {"contactId": "c"},
    "offer.decline": {"contactId": "c", "reason": "otro"},
    "call.hangup": {"contactId": "c"},
    "call.transfer": {"contactId": "c", "service": "general"},
    "chat.send": {"contactId": "c", "text": "hola"},
    "signal.description": {"contactId": "c", "description": {"type": "offer", "sdp": "v=0"}},
    "signal.candidate": {"contactId": "c", "candidate": None},
    "wrapup.submit": {"contactId": "c", "outcome": "resuelto", "reason": "otro"},
    "survey.submit": {"contactId": "c", "score": 5},
    "call.audio_only": {"contactId": "c", "audioOnly": True},
    "call.camera": {"contactId": "c", "cameraOff": True},
    "call.reclaim": {"ticket": "t"},
    "supervisor.not_ready": {"executive": EXECUTIVE_RUN},
    "supervisor.pause_after": {"executive": EXECUTIVE_RUN},
    "supervisor.log_out": {"executive": EXECUTIVE_RUN},
    "supervisor.broadcast": {"service": "general", "text": "Hay demoras"},
    "supervisor.clear_notice": {"service": "general"},
}


def test_the_table_covers_every_message_type() -> None:
    assert set(MESSAGES) == set(schema.CLIENT_MESSAGES) == set(SAMPLES)


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("kind", sorted(MESSAGES))
async def test_every_role_against_every_message(
    role: str, kind: str, records: SqliteRecordStore, hub: Hub
) -> None:
    settings = load_settings({})
    service = BranchService(settings, MemoryLiveStore(settings.floor_rules), records, hub)
    user = User(RUNS[role], "Persona", role)
    message = schema.parse_client(schema.dump({"type": kind, **SAMPLES[kind]}), max_bytes=65536)
    if role in MESSAGES[kind]:
        try:
            await service.handle(user, message)
        except Forbidden:  # pragma: no cover - the assertion below explains
            pytest.fail(f"{role} may send {kind} but was refused")
        except BranchError:
            pass  # allowed, and refused for another reason (nothing offered, no call…)
    else:
        with pytest.raises(Forbidden):
            await service.handle(user, message)


ANONYMOUS = "anonymous"
# (method, path) -> status by who asks. A redirect to the login is 302.
CALLERS = (ANONYMOUS, *ROLES)


def everyone(status: int) -> dict[str, int]:
    return dict.fromkeys(CALLERS, status)


def readers(status: int) -> dict[str, int]:
    """Auditors and admins get ``status``; anonymous 401; every other role 403."""
    return {**everyone(403), ANONYMOUS: 401, AU: status, AD: status}


ENDPOINTS: dict[tuple[str, str], dict[str, int]] = {
    ("GET", "/"): everyone(200),
    ("GET", "/healthz"): everyone(200),
    ("GET", "/readyz"): everyone(200),
    # Counts only, no personal data; restrict it to the monitoring network at the proxy.
    ("GET", "/metrics"): everyone(200),
    ("GET", "/static/favicon.svg"): everyone(200),
    ("GET", "/openapi.json"): everyone(200),
    ("GET", "/login"): everyone(302),
    ("GET", "/auth/callback"): everyone(400),  # no state: the failure page
    ("GET", "/ws"): everyone(400),  # not an upgrade
    ("GET", "/citizen"): {**everyone(200), ANONYMOUS: 302},
    ("GET", "/executive"): {ANONYMOUS: 302, C: 403, E: 200, S: 200, AU: 403, AD: 403},
    ("GET", "/supervisor"): {ANONYMOUS: 302, C: 403, E: 403, S: 200, AU: 403, AD: 200},
    ("GET", "/audit"): {**everyone(403), ANONYMOUS: 302, AU: 200, AD: 200},
    ("GET", "/api/me"): {**everyone(200), ANONYMOUS: 401},
    ("GET", "/api/audit/contacts"): readers(200),
    ("GET", "/api/audit/contacts/nobody"): readers(404),
    ("GET", "/api/audit/entries"): readers(200),
    ("GET", "/api/audit/verify"): readers(200),
    ("GET", "/reports"): {ANONYMOUS: 302, C: 403, E: 403, S: 200, AU: 403, AD: 200},
    ("GET", "/api/reports"): {ANONYMOUS: 401, C: 403, E: 403, S: 200, AU: 403, AD: 200},
    ("GET", "/api/reports?format=csv"): {ANONYMOUS: 401, C: 403, E: 403, S: 200, AU: 403, AD: 200},
    # The development provider's own endpoints (development mode only) know no roles.
    ("GET", "/dev-login/.well-known/openid-configuration"): everyone(200),
    ("GET", "/dev-login/jwks"): everyone(200),
    ("GET", "/dev-login/authorize"): everyone(400),
    ("POST", "/dev-login/authorize"): everyone(400),
    ("POST", "/dev-login/token"): everyone(401),
    ("GET", "/dev-login/userinfo"): everyone(401),
    ("POST", "/dev-login/userinfo"): everyone(401),
    ("GET", "/dev-login/logout"): everyone(302),
    # Last: it ends the session the rows above use.
    ("POST", "/logout"): everyone(303),
}


def test_the_endpoint_table_names_every_caller() -> None:
    for endpoint, statuses in ENDPOINTS.items():
        assert set(statuses) == set(CALLERS), endpoint


def _template_matches(template: str, path: str) -> bool:
    pattern = re.sub(r"\\\{\w+\\\}", "[^/]+", re.escape(template))
    return re.fullmatch(pattern, path.partition("?")[0]) is not None


def test_the_endpoint_table_covers_every_route(tmp_path: Path) -> None:
    app = create_app(load_settings({}, mode="development", data_dir=str(tmp_path)))
    for route in app.router.routes():
        if route.method == "HEAD":
            continue
        info = route.resource.get_info() if route.resource else {}
        template = info.get("formatter") or info.get("path") or f"{info.get('prefix')}/{{file}}"
        assert any(
            method == route.method and _template_matches(template, path)
            for method, path in ENDPOINTS
        ), f"{route.method} {template} is not in the authorization table"


async def test_every_role_against_every_endpoint(start_branch: StartBranch) -> None:
    node = await start_branch(limits_logins_per_minute=100)  # many logins from one address
    for who in CALLERS:
        async with BranchClient(node.url, ca_file=node.ca_path) as client:
            if who != ANONYMOUS:
                await client.login(RUNS[who], "Persona", "Prueba", "/")
            for (method, path), expected in ENDPOINTS.items():
                async with client.http.request(
                    method, f"{node.url}{path}", headers={"Origin": node.url}, allow_redirects=False
                ) as response:
                    assert response.status == expected[who], (who, method, path)


async def test_an_anonymous_socket_is_refused(start_branch: StartBranch) -> None:
    node = await start_branch()
    connector = aiohttp.TCPConnector(ssl=client_context(node.ca_path))
    async with (
        aiohttp.ClientSession(connector=connector) as http,
        http.ws_connect(f"{node.url.replace('https', 'wss')}/ws", origin=node.url) as socket,
    ):
        await socket.receive()
        assert socket.close_code == 4401


async def test_the_auditor_never_reaches_the_live_floor(start_branch: StartBranch) -> None:
    node = await start_branch()
    async with BranchClient(node.url, ca_file=node.ca_path) as auditor:
        await auditor.login(AUDITOR_RUN, "Ana", "Auditora", "/")
        async with auditor.http.ws_connect(
            f"{node.url.replace('https', 'wss')}/ws", origin=node.url
        ) as socket:
            await socket.receive()
            assert socket.close_code == 4403


async def test_the_admin_watches_the_floor_without_acting(start_branch: StartBranch) -> None:
    node = await start_branch()
    async with BranchClient(node.url, ca_file=node.ca_path) as admin:
        await admin.login(ADMIN_RUN, "Alba", "Admin", "/")
        welcome = await admin.connect()
        assert welcome["role"] == "admin"
        await admin.send("ping")
        assert (await admin.receive("pong"))["type"] == "pong"
        await admin.send("agent.available")
        error = await admin.receive("error")
        assert (error["code"], error["message"]) == (
            "forbidden",
            "agent.available is not allowed for the admin role",
        )
