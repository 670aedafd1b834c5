"""The signaling websocket: authenticate, parse, hand to the service, report errors."""

from __future__ import annotations

import logging
import time
from typing import Any

from aiohttp import WSMsgType, web

from branch.auth.sessions import Session
from branch.core.ratelimit import Buckets, Rate
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
from branch.live.sessions import SessionStore
from branch.metrics import Metrics
from branch.people import User
from branch.schema import dump, parse_client
from branch.service import LIVE_ROLES, BranchService
from branch.web.auth import SESSIONS, current_session
from branch.web.keys import HUB, PAGES, SERVICE, SETTINGS

log = logging.getLogger(__name__)

HEARTBEAT_SECONDS = 20.0
# Messages refused in a row before a flooding page is closed (4429).
FLOOD_CLOSE_AFTER = 500
TOO_FAST = "Estás enviando mensajes demasiado rápido; algunos no se procesaron."


class PageConnection:
    """Adapts an aiohttp websocket to the hub's connection protocol."""

    __slots__ = ("session_id", "sessions", "socket")

    def __init__(
        self, socket: web.WebSocketResponse, session_id: str, sessions: SessionStore
    ) -> None:
        self.socket = socket
        self.session_id = session_id
        self.sessions = sessions

    async def send_text(self, text: str) -> None:
        if not self.socket.closed:
            await self.socket.send_str(text)

    async def close(self, code: int, reason: str) -> None:
        try:
            if code == CLOSE_SESSION_ENDED:
                # A page closed because its login ended takes the login with it, so it
                # cannot simply reconnect. Only this node knows which login opened it,
                # so a supervisor's log-out from another node ends the session here.
                await self.sessions.delete_session(self.session_id)
        except Exception:
            log.warning("ending the session of a closed page failed", exc_info=True)
        finally:
            await self.socket.close(code=code, message=reason.encode())


def user_of(session: Session) -> User:
    return User(session.person.run.format(), session.person.display_name, session.role.value)


async def watch_sessions(app: web.Application, now: float) -> None:
    """An open page keeps its login active; a page whose login ran out is closed (4440).

    A call in progress, or its wrap-up, is not cut: the page is closed at the first check after.
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
    settings = request.app[SETTINGS]
    origin = request.headers.get("Origin", "")
    if origin not in settings.origins:
        error = BadOrigin(f"origin {origin[:100]!r} may not open the branch's websocket")
        return web.json_response(error.to_wire(), status=error.status)

    # The transport admits more than the limit so an oversized message is read
    # whole and answered with a clean 1009; cutting it off mid-frame would reset
    # the TCP connection and the page would only see 1006.
    # No permessage-deflate, which browsers offer: its compressor and decompressor
    # keep about 100 KB resident per socket (300 KB reserved), several times what
    # an open page costs without them, to shrink messages of a few hundred bytes.
    socket = web.WebSocketResponse(
        heartbeat=HEARTBEAT_SECONDS,
        max_msg_size=settings.limits_ws_message_bytes * 4,
        compress=False,
    )
    await socket.prepare(request)
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
    page = PageConnection(socket, session.session_id, request.app[SESSIONS])
    request.app[PAGES].add(socket)
    pace = Buckets(
        Rate(burst=settings.limits_message_burst, per_second=settings.limits_messages_per_second)
    )
    refused = 0
    try:
        try:
            # Inside the try: a page half-registered when Redis fails is still forgotten.
            await hub.open_page(user.key, page)
            # Sent as text at once: a welcome kept in this frame would stay in memory
            # for as long as the page is open.
            welcome = dump(await service.connected(user))
        except Exception as error:
            # The page reconnects and its call's grace goes on; a crash here would drop it.
            await _close_unwelcome(socket, user.role, error)
            return socket
        await socket.send_str(welcome)
        del welcome
        async for frame in socket:
            if not pace.allow("page", time.monotonic()):
                # Dropped unread: a flood costs this page its messages, not the node its time.
                refused += 1
                if refused == 1 or refused % 50 == 0:
                    await socket.send_str(error_reply(RateLimited(TOO_FAST), None))
                if refused >= FLOOD_CLOSE_AFTER:
                    await socket.close(code=CLOSE_RATE_LIMITED, message=b"too many messages")
                continue
            refused = 0
            if frame.type is WSMsgType.TEXT:
                await _handle_frame(
                    service, user, socket, frame.data, settings.limits_ws_message_bytes
                )
            elif frame.type is WSMsgType.BINARY:
                await socket.send_str(
                    error_reply(BadMessage("binary frames are not accepted"), None)
                )
    finally:
        if await hub.close_page(user.key, page):
            try:
                await service.disconnected(user)
            except Exception:
                log.exception("cleaning up after %s failed", user.role)
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


async def _handle_frame(
    service: BranchService, user: User, socket: web.WebSocketResponse, data: str, max_bytes: int
) -> None:
    reply_to: str | None = None
    try:
        message = parse_client(data, max_bytes=max_bytes)
        reply_to = message.type
        await service.handle(user, message)
    except MessageTooLarge as error:
        await socket.close(code=CLOSE_TOO_LARGE, message=error.message.encode()[:120])
    except BranchError as error:
        await socket.send_str(error_reply(error, reply_to, service.metrics))
    except Exception:
        # A bug must cost one message, not the node or the person's connection.
        log.exception("message %s from a %s failed", reply_to, user.role)
        internal = InternalError("No pudimos procesar tu solicitud; inténtalo de nuevo")
        await socket.send_str(error_reply(internal, reply_to, service.metrics))
