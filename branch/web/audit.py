"""The auditors' page and read-only JSON endpoints: records, audit trail, verification."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web

from branch.auth.sessions import Session
from branch.errors import Forbidden, NotAuthenticated
from branch.inspection import READERS, Inspection
from branch.web.auth import current_session
from branch.web.guard import guarded
from branch.web.keys import RECORDS, SETTINGS
from branch.web.pages import staff_page

Read = Callable[[Inspection, str, web.Request], Awaitable[dict[str, Any]]]


async def audit_page(request: web.Request) -> web.StreamResponse:
    return await staff_page(request, "audit.html", READERS)


async def _reader(request: web.Request) -> Session:
    session = await current_session(request)
    if session is None:
        raise NotAuthenticated("No has ingresado")
    if session.role.value not in READERS:
        raise Forbidden(f"the {session.role.value} role may not read records")
    return session


def _endpoint(read: Read) -> Callable[[web.Request], Awaitable[web.StreamResponse]]:
    async def handler(request: web.Request) -> web.StreamResponse:
        session = await _reader(request)
        inspection = Inspection(request.app[RECORDS], request.app[SETTINGS])
        actor = f"{session.role.value}:{session.person.run.format()}"
        return web.json_response(
            await read(inspection, actor, request), headers={"Cache-Control": "no-store"}
        )

    return handler


async def _contacts(inspection: Inspection, actor: str, request: web.Request) -> dict[str, Any]:
    return await inspection.contacts(actor, request.query)


async def _contact(inspection: Inspection, actor: str, request: web.Request) -> dict[str, Any]:
    return await inspection.contact(actor, request.match_info["contact_id"])


async def _entries(inspection: Inspection, actor: str, request: web.Request) -> dict[str, Any]:
    return await inspection.entries(actor, request.query)


async def _verify(inspection: Inspection, actor: str, request: web.Request) -> dict[str, Any]:
    # The page's default language comes along with the first thing it asks.
    verdict = await inspection.verification(request.query)
    return {**verdict, "language": request.app[SETTINGS].language}


def setup_audit(app: web.Application) -> None:
    app.router.add_get("/audit", guarded(audit_page))
    app.router.add_get("/api/audit/contacts", guarded(_endpoint(_contacts)))
    app.router.add_get("/api/audit/contacts/{contact_id}", guarded(_endpoint(_contact)))
    app.router.add_get("/api/audit/entries", guarded(_endpoint(_entries)))
    app.router.add_get("/api/audit/verify", guarded(_endpoint(_verify)))
