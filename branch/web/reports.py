"""The supervisors' reports: the page and its JSON/CSV endpoint (thin: role, parse, compute)."""

from __future__ import annotations

import datetime
import time
from zoneinfo import ZoneInfo

from aiohttp import web

from branch.auth.identity import Role
from branch.auth.sessions import Session
from branch.errors import BadReportQuery, Forbidden, NotAuthenticated
from branch.reports import (
    FORMATS,
    ReportQuery,
    audit_report,
    build_report,
    report_csv,
    report_document,
)
from branch.web.auth import current_session
from branch.web.guard import guarded
from branch.web.keys import RECORDS, SETTINGS
from branch.web.pages import staff_page

# Who may see reports: the one place to widen it. Admins read what supervisors read.
REPORT_ROLES = frozenset({Role.SUPERVISOR, Role.ADMIN})


def _actor(session: Session) -> str:
    return f"{session.role.value}:{session.person.run.format()}"


async def reports_page(request: web.Request) -> web.StreamResponse:
    return await staff_page(request, "reports.html", REPORT_ROLES)


async def reports_api(request: web.Request) -> web.StreamResponse:
    """GET /api/reports?from&to&service&executive&format=json|csv&download=1."""
    session = await current_session(request)
    if session is None:
        raise NotAuthenticated("No has ingresado")
    if session.role not in REPORT_ROLES:
        raise Forbidden("Los reportes son solo para supervisores y administradores")
    settings = request.app[SETTINGS]
    params = request.query
    form = params.get("format", "json")
    if form not in FORMATS:
        raise BadReportQuery(f"format: {form[:20]!r} no es json ni csv", problem="bad_format")
    now = time.time()
    today = datetime.datetime.fromtimestamp(now, ZoneInfo(settings.service_timezone)).date()
    query = ReportQuery.parse(
        settings,
        today,
        params.get("from"),
        params.get("to"),
        params.get("service"),
        params.get("executive"),
    )
    records = request.app[RECORDS]
    report = await build_report(records, settings, query)
    download = form == "csv" or params.get("download") == "1"
    kind = "report.exported" if download else "report.viewed"
    await audit_report(records, kind, _actor(session), query, form, now)
    headers = {"Cache-Control": "no-store"}
    if download:
        name = f"reporte-{query.first}-{query.last}.{form}"
        headers["Content-Disposition"] = f'attachment; filename="{name}"'
    if form == "csv":
        return web.Response(
            text=report_csv(report, settings), content_type="text/csv", headers=headers
        )
    document = {**report_document(report, query, settings), "language": settings.language}
    return web.json_response(document, headers=headers)


def setup_reports(app: web.Application) -> None:
    app.router.add_get("/reports", guarded(reports_page))
    app.router.add_get("/api/reports", guarded(reports_api))
