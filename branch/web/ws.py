"""The signaling websocket: authenticate, parse, hand to the service, report errors."""

from __future__ import annotations

import logging
import time
from typing import Any

from aiohttp import WSMsgType, web

from branch.auth.sessions import Session
from branch.core.ratelimit import Bucket, Rate
from branch.delivery.base import Delivery
from branch.errors import (
    CLOSE_FORBIDDEN,
    CLOSE_INTERNAL,
    CLOSE_NOT_AUTHENTICATED,
    CLOSE_RATE_LIMITED,
    CLOSE_SESSION_ENDED,
    CLOSE_TOO_LARGE,
    CLOSE_TRY_AGAIN,
    BadMessage,
    BadOrigin,
    BranchError,
    InternalError,
    MessageTooLarge,
    RateLimited,
    ServiceUnavailable,
)
from branch.logs import REQUEST_ID, new_request_id
from branch.metrics import Metrics
from branch.people import EXECUTIVE, User
from branch.schema import ClientMessage, dump, parse_client
from branch.service import LIVE_ROLES, BranchService
from branch.web.auth import SESSIONS, current_session
from branch.web.connection import BUSY, HEARD, PageConnection
from branch.web.guard import INTERNAL
from branch.web.keys import HUB, METRICS, ORIGINS, OUTBOX, PAGES, SERVICE, SETTINGS

log = logging.getLogger(__name__)

# Messages refused in a row before a flooding page is closed (4429).
FLOOD_CLOSE_AFTER = 500
TOO_FAST = "Estás enviando mensajes demasiado rápido; algunos no se procesaron."
# Read once: on Python 3.11 naming an enum member costs ≈ 0.1 µs, and every frame
# a page sends is compared with several of them.
TEXT, BINARY, PING, PONG = WSMsgType.TEXT, WSMsgType.BINARY, WSMsgType.PING, WSMsgType.PONG
CLOSE, CLOSING, CLOSED = WSMsgType.CLOSE, WSMsgType.CLOSING, WSMsgType.CLOSED


def user_of(session: Session) -> User:
    return User(session.person.run.format(), session.person.display_name, session.role.value)


async def watch_sessions(app: web.Application, now: float) -> None:
    """An open page keeps its login active; a page whose login ran out is closed (4440).

    A call in progress, or its wrap-up, is not cut: the page is closed at the first check after.
    A session missing because Redis restarted empty is no logout: the read that notices
    writes back the sessions this node's pages hold, this one included.
    """
    hub, store, service = app[HUB], app[SESSIONS], app[SERVICE]
    for key in hub.keys(""):
        page = hub.page(key)
        if not isinstance(page, PageConnection):
            continue
        session = await store.get_session(page.session_id, now)
        if session is not None:
            await store.touch(page.session_id, now)
            continue
        role, _, person_id = key.partition(":")
        if await service.busy_with_contact(User(person_id, "", role)):
            continue
        await page.close(CLOSE_SESSION_ENDED, "session expired")


async def close_pages_of(hub: Delivery, session: Session) -> None:
    """After a logout: the page that session opened closes with 4440, on whichever node."""
    key = user_of(session).key
    await hub.end_page(key, CLOSE_SESSION_ENDED, "session ended", session_id=session.session_id)


def error_reply(error: BranchError, reply_to: str | None, metrics: Metrics | None = None) -> str:
    if metrics is not None:
        metrics.errors.labels(error.code).inc()
    payload: dict[str, Any] = error.to_wire()
    if reply_to:
        payload["replyTo"] = reply_to
    return dump(payload)


async def websocket(request: web.Request) -> web.StreamResponse:
    # Not behind `guarded` (branch/web/guard.py), so its checks and error mapping are here:
    # a wrapper's coroutine would stay suspended for as long as the page is open.
    # Every log line of this websocket, for its whole life, carries this id.
    REQUEST_ID.set(new_request_id())
    origin = request.headers.get("Origin", "")
    if origin not in request.app[ORIGINS]:
        error = BadOrigin(f"origin {origin[:100]!r} may not open the branch's websocket")
        return web.json_response(error.to_wire(), status=error.status)
    settings = request.app[SETTINGS]
    # The transport admits more than the limit so an oversized message is read
    # whole and answered with a clean 1009; cutting it off mid-frame would reset
    # the TCP connection and the page would only see 1006.
    # No permessage-deflate, which browsers offer: its compressor and decompressor
    # keep about 100 KB resident per socket (300 KB reserved), several times what
    # an open page costs without them, to shrink messages of a few hundred bytes.
    # No aiohttp heartbeat and no automatic pong: the node's own beat pings the page
    # (branch/web/connection.py), and sees its pongs here.
    socket = web.WebSocketResponse(
        autoping=False, max_msg_size=settings.limits_ws_message_bytes * 4, compress=False
    )
    try:
        await socket.prepare(request)
        transport = request.transport
        if transport is None:  # gone during the handshake
            return socket
        page = PageConnection(socket, transport, request.app[OUTBOX])
        # Not judged by the heartbeat while it is set up: its pong would wait unread.
        page.quiet = BUSY
        request.app[PAGES].add(page)
        try:
            session = await current_session(request)
        except Exception as error:  # the session store is away: a close code, not a broken frame
            await _close_unwelcome(socket, "live", error)
            return socket
        if session is None:
            await socket.close(code=CLOSE_NOT_AUTHENTICATED, message=b"not authenticated")
            return socket
        if session.role.value not in LIVE_ROLES:
            await socket.close(code=CLOSE_FORBIDDEN, message=b"no live floor access for this role")
            return socket

        service = request.app[SERVICE]
        hub = request.app[HUB]
        user = user_of(session)
        page.session_id = session.session_id
        pace = Bucket(
            Rate(
                burst=settings.limits_message_burst,
                per_second=settings.limits_messages_per_second,
            ),
            time.monotonic(),
        )
        refused = 0
        max_bytes = settings.limits_ws_message_bytes
        sessions = request.app[SESSIONS]
        # While the page is open its login outlives a Redis restarted empty (docs/operations.md).
        sessions.hold(session)
        # Not kept in this frame: the store replaces its record at every touch, and this
        # copy would stay beside the current one for as long as the page is open.
        del session
        try:
            try:
                # Registered before its welcome is made, so it misses nothing that changes
                # meanwhile; what it is sent waits behind the welcome, the first message.
                page.outbox.hold_until_welcome(page)
                # Inside the try: a page half-registered when Redis fails is still forgotten.
                await hub.open_page(user.key, page)
                if user.role == EXECUTIVE and not await sessions.get_session(
                    page.session_id, time.time()
                ):
                    # A supervisor's log-out ended this login after it was read above,
                    # and may have looked for the person's page before it was registered:
                    # one of the two sees the other. The others' pages are not someone
                    # else's to log out, so they skip this read.
                    await page.close(CLOSE_SESSION_ENDED, "session ended")
                    return socket
                # Sent as text at once: a welcome kept in this frame would stay in memory
                # for as long as the page is open.
                welcome = dump(await service.connected(user))
            except Exception as error:
                # The page reconnects and its call's grace goes on; a crash here would drop it.
                await _close_unwelcome(socket, user.role, error)
                return socket
            # Through the page, as every message to it, so it stays in order behind a backlog.
            await page.send_welcome(welcome)
            del welcome
            page.quiet = HEARD
            while True:
                # Not `async for`: aiohttp's __anext__ adds a coroutine, and names
                # three enum members, to every frame; it ends on the same three.
                frame = await socket.receive()
                kind = frame.type
                if kind is CLOSE or kind is CLOSING or kind is CLOSED:
                    break
                page.quiet = HEARD
                if kind is PONG:
                    continue
                if kind is PING:
                    # As aiohttp's autoping would, and outside the page's rate.
                    await socket.pong(frame.data)
                    continue
                if not pace.allow(time.monotonic()):
                    # Dropped unread: a flood costs this page its messages, not the node its time.
                    refused += 1
                    if refused == 1 or refused % 50 == 0:
                        await page.send_text(error_reply(RateLimited(TOO_FAST), None))
                    if refused >= FLOOD_CLOSE_AFTER:
                        await page.close(CLOSE_RATE_LIMITED, "too many messages")
                    continue
                refused = 0
                if kind is TEXT:
                    page.quiet = BUSY
                    # Handled here rather than in a coroutine of its own: this runs for
                    # every message a page sends, a relayed description above all.
                    message: ClientMessage | None = None
                    try:
                        message = parse_client(frame.data, max_bytes=max_bytes)
                        await service.handle(user, message)
                    except Exception as error:
                        await _answer_failure(page, service, user, message, error)
                    page.quiet = HEARD
                elif kind is BINARY:
                    await page.send_text(
                        error_reply(BadMessage("binary frames are not accepted"), None)
                    )
        finally:
            page.outbox.forget_unwelcomed(page)
            sessions.release(page.session_id)
            if await hub.close_page(user.key, page):
                try:
                    await service.disconnected(user)
                except Exception:
                    log.exception("cleaning up after %s failed", user.role)
    except web.HTTPException:
        raise
    except Exception:
        # What the guard of the HTTP routes does for them; the page, if open, is lost.
        request.app[METRICS].errors.labels("internal").inc()
        log.exception("%s %s failed", request.method, request.path)
        if not socket.prepared:
            return web.json_response(INTERNAL, status=500)
    return socket


async def _close_unwelcome(socket: web.WebSocketResponse, who: str, error: Exception) -> None:
    if isinstance(error, ServiceUnavailable):
        log.warning("a %s page could not be set up: %s", who, error.code)
        code, reason = CLOSE_TRY_AGAIN, error.code
    else:
        log.error("setting up a %s page failed", who, exc_info=error)
        code, reason = CLOSE_INTERNAL, InternalError.code
        if isinstance(error, BranchError):
            reason = error.code
    await socket.close(code=code, message=reason.encode())


async def _answer_failure(
    page: PageConnection,
    service: BranchService,
    user: User,
    message: ClientMessage | None,
    error: Exception,
) -> None:
    """What the page is told when its frame was refused or failed (``message``: as parsed)."""
    reply_to = None if message is None else message.type
    if isinstance(error, MessageTooLarge):
        # A close reason may hold 123 bytes.
        await page.close(CLOSE_TOO_LARGE, error.message.encode()[:120].decode(errors="ignore"))
    elif isinstance(error, BranchError):
        await page.send_text(error_reply(error, reply_to, service.metrics))
    else:
        # A bug must cost one message, not the node or the person's connection.
        log.error("message %s from a %s failed", reply_to, user.role, exc_info=error)
        internal = InternalError("No pudimos procesar tu solicitud; inténtalo de nuevo")
        await page.send_text(error_reply(internal, reply_to, service.metrics))
