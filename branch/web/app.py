"""The aiohttp application: routes, stores' lifetime, shutdown."""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import time
import weakref
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from branch.auth.sessions import Session
from branch.config import Settings
from branch.delivery.factory import open_delivery
from branch.errors import CLOSE_GOING_AWAY
from branch.live.factory import open_live_store
from branch.live.sessions import open_session_store
from branch.metrics import Metrics
from branch.people import ADMIN, EXECUTIVE, SUPERVISOR, User
from branch.records.factory import open_record_store
from branch.retention import purge_expired
from branch.service import BranchService
from branch.tasks import stop
from branch.tickets import ticket_key
from branch.tls import server_context
from branch.web.audit import setup_audit
from branch.web.auth import (
    AUTH_EVENT_HOOKS,
    LOGOUT_HOOKS,
    SESSION_KEY,
    SESSIONS,
    current_session,
    setup_auth,
)
from branch.web.connection import beat
from branch.web.guard import guarded, redirect
from branch.web.headers import install_security_headers, install_static_caching
from branch.web.keys import (
    HUB,
    LIVE,
    METRICS,
    ORIGINS,
    OUTBOX,
    PAGES,
    RECORDS,
    SERVICE,
    SETTINGS,
)
from branch.web.openapi import setup_openapi
from branch.web.outbox import Outbox
from branch.web.pages import STATIC_DIR, page, staff_page
from branch.web.reports import setup_reports
from branch.web.ws import close_pages_of, watch_sessions, websocket

__all__ = ["RECORDS", "SERVICE", "create_app", "run_server"]

log = logging.getLogger(__name__)

UPKEEP_SECONDS = 1.0
READY_TIMEOUT_SECONDS = 2.0
STAFF_ROLES = frozenset({EXECUTIVE, SUPERVISOR})


async def landing(request: web.Request) -> web.StreamResponse:
    return page("index.html")


async def citizen_page(request: web.Request) -> web.StreamResponse:
    if await current_session(request) is None:
        return redirect("/login?next=/citizen")
    return page("citizen.html")


async def executive_page(request: web.Request) -> web.StreamResponse:
    return await staff_page(request, "executive.html", STAFF_ROLES)


async def supervisor_page(request: web.Request) -> web.StreamResponse:
    # The admin watches the wallboard; only a supervisor's actions are accepted (PERMISSIONS).
    return await staff_page(request, "supervisor.html", (SUPERVISOR, ADMIN))


async def healthz(request: web.Request) -> web.StreamResponse:
    """The process is alive and serving."""
    return web.json_response({"status": "ok"})


async def readyz(request: web.Request) -> web.StreamResponse:
    """The stores answer: a load balancer may send people here."""
    failed = []
    for name, store in (("live", request.app[LIVE]), ("records", request.app[RECORDS])):
        try:
            await asyncio.wait_for(store.ping(), READY_TIMEOUT_SECONDS)
        except Exception as error:
            log.warning("readiness: %s store unreachable: %s", name, type(error).__name__)
            failed.append(name)
    if failed:
        return web.json_response({"status": "unavailable", "failed": failed}, status=503)
    return web.json_response({"status": "ready"})


async def metrics(request: web.Request) -> web.StreamResponse:
    """Prometheus text format; the live figures are read from the live store now."""
    app = request.app
    live = app[LIVE]
    queues = app[SETTINGS].queues
    executives: dict[str, int] = {}
    for agent in await live.agents():
        executives[agent.state.value] = executives.get(agent.state.value, 0) + 1
    registry = app[METRICS]
    registry.live = {
        "waiting": {queue.code: (await live.line(queue.code)).waiting for queue in queues},
        "executives": executives,
        "calls": sum(1 for call in await live.calls() if call.answered_at is not None),
        "pages": len(app[HUB]),
    }
    body = generate_latest(registry.registry)
    return web.Response(body=body, headers={"Content-Type": CONTENT_TYPE_LATEST})


async def _stores(app: web.Application) -> AsyncIterator[None]:
    settings = app[SETTINGS]
    live = open_live_store(settings.stores_live, settings.floor_rules, settings.stores_live_prefix)
    records = open_record_store(
        settings.records_url, journal=Path(settings.data_dir) / "records-journal.sqlite3"
    )
    await live.open()
    try:
        await records.open()
    except BaseException:
        await live.close()  # the start fails; the store that did open is not left dangling
        raise
    app[LIVE] = live
    app[RECORDS] = records
    delivery = app[HUB]
    service = BranchService(
        settings,
        live,
        records,
        delivery,
        metrics=app[METRICS],
        ticket_key=ticket_key(app[SESSION_KEY]),
        sessions=app[SESSIONS],
    )
    app[SERVICE] = service

    async def lost(user_key: str) -> None:
        # A page that vanished with a dead node: as if it had closed here.
        role, _, person_id = user_key.partition(":")
        await service.disconnected(User(person_id, "", role))

    await delivery.open(lost, service.supervision.push_soon)
    upkeep = asyncio.create_task(_upkeep(service))
    yield
    await stop(upkeep)
    await service.supervision.close()
    await service.close()
    await delivery.close()
    await records.close()
    await live.close()


async def _upkeep(service: BranchService) -> None:
    while True:
        await asyncio.sleep(UPKEEP_SECONDS)
        try:
            await service.tick()
        except Exception:
            # One failed round must not stop the grace periods from ever expiring.
            log.exception("upkeep failed")


async def _retention(app: web.Application) -> AsyncIterator[None]:
    """Each node purges personal data past the retention period: at start, then periodically."""
    settings = app[SETTINGS]
    if settings.retention_days <= 0:
        yield
        return

    async def purge_periodically() -> None:
        while True:
            try:
                await purge_expired(app[RECORDS], settings.retention_days, time.time(), "system")
            except Exception:
                log.exception("retention purge failed")
            await asyncio.sleep(settings.retention_purge_every_seconds)

    task = asyncio.create_task(purge_periodically())
    yield
    await stop(task)


def _watch_interval(settings: Settings) -> float:
    # Often enough that a limit is enforced within a quarter of itself, at most every 15 s.
    shortest = min(
        settings.session_idle_seconds,
        settings.session_staff_idle_seconds,
        settings.session_max_age,
        settings.session_staff_max_age,
    )
    return max(0.2, min(15.0, shortest / 4))


async def _session_watch(app: web.Application) -> AsyncIterator[None]:
    async def watch() -> None:
        await watch_sessions(app, time.time())

    async with _repeating(_watch_interval(app[SETTINGS]), watch, "session watch"):
        yield


async def _heartbeat(app: web.Application) -> AsyncIterator[None]:
    # Every other beat a silent page is pinged, so an idle page hears from the node
    # every heartbeat_seconds; one that answers nothing for a beat after is closed.
    pages = app[PAGES]

    async def beat_pages() -> None:
        await beat(pages)

    seconds = app[SETTINGS].limits_ws_heartbeat_seconds / 2
    async with _repeating(seconds, beat_pages, "heartbeat"):
        yield


@contextlib.asynccontextmanager
async def _repeating(
    seconds: float, job: Callable[[], Awaitable[None]], what: str
) -> AsyncIterator[None]:
    """``job`` every ``seconds`` while the block runs; a failed round is logged, not fatal."""

    async def repeat() -> None:
        while True:
            await asyncio.sleep(seconds)
            try:
                await job()
            except Exception:
                log.exception("%s failed", what)

    task = asyncio.create_task(repeat())
    try:
        yield
    finally:
        await stop(task)


async def _close_pages(app: web.Application) -> None:
    pages = app[PAGES]
    for open_page in list(pages):
        await open_page.close(CLOSE_GOING_AWAY, "server shutting down")


def create_app(settings: Settings) -> web.Application:
    # No middlewares: each would stay suspended for an open websocket's whole life, so
    # the HTTP routes are `guarded` one by one instead (branch/web/guard.py).
    app = web.Application(client_max_size=256 * 1024)
    app[SETTINGS] = settings
    app[ORIGINS] = settings.origins
    app[HUB] = open_delivery(settings)
    app[METRICS] = Metrics()
    app[PAGES] = weakref.WeakSet()
    app.cleanup_ctx.append(_stores)
    app.cleanup_ctx.append(_retention)
    app.cleanup_ctx.append(_session_watch)
    app.cleanup_ctx.append(_heartbeat)
    app.on_shutdown.append(_close_pages)
    install_security_headers(app, settings)
    install_static_caching(app)

    sessions = open_session_store(settings.stores_live, settings.stores_live_prefix)

    async def close_sessions(app: web.Application) -> None:
        await sessions.close()

    app.on_cleanup.append(close_sessions)
    app[OUTBOX] = Outbox(
        sessions, settings.limits_ws_send_backlog_bytes, settings.limits_ws_send_backlog_seconds
    )

    async def close_outbox(app: web.Application) -> None:
        # After `_close_pages`: what is left are pages too backed up to read their close.
        await app[OUTBOX].close()

    app.on_shutdown.append(close_outbox)
    if settings.oidc_dev_login:
        from branch.web.devlogin import setup_dev_login

        setup_dev_login(app, settings)
    setup_auth(app, settings, sessions)
    app[LOGOUT_HOOKS].append(functools.partial(close_pages_of, app[HUB]))

    async def audit_auth(kind: str, session: Session, at: float) -> None:
        actor = f"{session.role.value}:{session.person.run.format()}"
        await app[RECORDS].audit(kind, actor, None, f"{kind}:{session.session_id}", {}, at)

    app[AUTH_EVENT_HOOKS].append(audit_auth)

    app.router.add_get("/", guarded(landing))
    app.router.add_get("/citizen", guarded(citizen_page))
    app.router.add_get("/executive", guarded(executive_page))
    app.router.add_get("/supervisor", guarded(supervisor_page))
    app.router.add_get("/ws", websocket)  # not guarded: it checks and maps for itself
    app.router.add_get("/healthz", guarded(healthz))
    app.router.add_get("/readyz", guarded(readyz))
    app.router.add_get("/metrics", guarded(metrics))
    setup_reports(app)
    setup_audit(app)
    setup_openapi(app)
    app.router.add_static("/static", STATIC_DIR)
    return app


def run_server(settings: Settings, ready: Callable[[], None] = lambda: None) -> None:
    """Serve until interrupted (the `branch serve` command); ``ready`` once it is serving."""
    ssl_context = server_context(settings.cert_path, settings.key_path) if settings.tls else None
    web.run_app(
        create_app(settings),
        host=settings.host,
        port=settings.port,
        ssl_context=ssl_context,
        access_log=None,
        # run_app prints its banner once the stores are open (startup) and the port is
        # bound: the one moment the node is ready, so that is when ours is said instead.
        print=lambda *_banner: ready(),
    )
