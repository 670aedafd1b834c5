"""An open page: its websocket, the session that opened it, and its heartbeat.

The node pings pages itself instead of leaving it to aiohttp's ``heartbeat``.
That one keeps a timer per socket and, on Python 3.11, a task per ping, and its
first ping sets the 31st attribute of the websocket response: CPython shares an
instance's attribute keys with its class only up to 30, so from then on every
open socket carried a dictionary of its own (≈ 1.6 KB; a waiting page costs ≈ 16
KB in all). Here one task beats for every page of the node (`beat`), and a page
keeps one small counter that its handler resets at every frame.

A send to a page never waits for that page's socket, so a page that stops
reading cannot hold up the sends to the others (a line's positions, a
wallboard, a relayed candidate) that the node makes one after another. aiohttp's
writer waits for a socket to drain once it has written 256 KiB to it and the
transport holds more than its high-water mark; a text is written directly only
while the transport holds nothing and the text fits under that mark, which
cannot make it wait. Otherwise it joins the page's backlog, written by a task
of its own; both exist only while the page is backed up, so a page that reads
costs nothing more. A page whose backlog grows past its bound is closed with
4408 (`Outbox`).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import deque
from collections.abc import Iterable

from aiohttp import web

from branch.errors import CLOSE_FELL_BEHIND, CLOSE_SESSION_ENDED
from branch.live.sessions import SessionStore
from branch.tasks import stop

log = logging.getLogger(__name__)

# A page's `quiet`: what the beats have seen of it.
HEARD = 0  # a frame came in since the last beat
QUIET = 1  # silent for a whole beat: pinged at the next
PINGED = 2  # pinged and silent since: taken for gone at the next beat
BUSY = -1  # its handler is working on a frame; frames wait unread meanwhile, the pong too
# Pings sent before the beat lets the rest of the node run.
PINGS_PER_STEP = 500
# Longest text written directly: at four bytes a character at most, it stays under the
# transport's high-water mark (64 KiB), so writing it alone cannot pause the writer.
DIRECT_CHARS = 16_000
FELL_BEHIND = "fell behind"


class PageConnection:
    """Adapts an aiohttp websocket to the hub's connection protocol."""

    # No slot of its own for a backlog: every open page would pay for it (`Outbox`).
    __slots__ = ("__weakref__", "outbox", "quiet", "session_id", "socket", "transport")

    def __init__(
        self,
        socket: web.WebSocketResponse,
        transport: asyncio.Transport,
        outbox: Outbox,
        session_id: str = "",
    ) -> None:
        self.socket = socket
        self.transport = transport
        self.outbox = outbox
        self.session_id = session_id
        self.quiet = HEARD

    async def send_text(self, text: str) -> None:
        """Send ``text`` after what was sent before; never waits for the socket to drain."""
        if self.socket.closed:
            return
        if len(text) > DIRECT_CHARS or unsent(self.transport) or self in self.outbox.backlogs:
            self.outbox.hold(self, text)
            return
        await self.socket.send_str(text)

    async def close(self, code: int, reason: str) -> None:
        try:
            if code == CLOSE_SESSION_ENDED:
                # A page closed because its login ended takes the login with it, so it
                # cannot simply reconnect, whoever ended it (a node of an earlier
                # version sends a supervisor's log-out without ending the logins).
                await self.outbox.sessions.delete_session(self.session_id)
        except Exception:
            log.warning("ending the session of a closed page failed", exc_info=True)
        finally:
            # Behind data the page has not read, the close frame would wait for it too.
            if not self.outbox.close_later(self, code, reason):
                await self.socket.close(code=code, message=reason.encode())

    async def beat(self) -> bool:
        """One heartbeat for this page; whether it sent a ping."""
        if self.socket.closed or self.quiet == BUSY:
            return False
        if self.quiet == HEARD:
            self.quiet = QUIET
            return False
        if self.quiet == QUIET:
            self.quiet = PINGED
            # A ping behind data the page has not read would wait for it, and hold up
            # every page after this one; such a page is as silent as one that is gone.
            if unsent(self.transport):
                return False
            with contextlib.suppress(ConnectionError):
                await self.socket.ping()
            return True
        # Not even the pong for a whole beat: the peer is gone (1006, as a lost connection).
        self.transport.abort()
        return False


def unsent(transport: asyncio.Transport) -> int:
    """Bytes written to ``transport`` that its socket has not taken yet."""
    # None once it is closing: a closed TLS transport cannot even be asked, and a
    # write to a closing one fails at once instead of waiting.
    return 0 if transport.is_closing() else transport.get_write_buffer_size()


async def beat(pages: Iterable[PageConnection]) -> None:
    """One heartbeat for every open page: every other beat a silent one is pinged."""
    pinged = 0
    for page in list(pages):
        if await page.beat():
            pinged += 1
            if pinged % PINGS_PER_STEP == 0:
                await asyncio.sleep(0)


class Backlog:
    """What waits for one backed-up page, oldest first, and the task that writes it."""

    __slots__ = ("closing", "limit", "size", "task", "texts")

    def __init__(self) -> None:
        self.texts: deque[tuple[float, str]] = deque()  # (when it was sent, text)
        self.size = 0  # characters in ``texts``
        self.closing: tuple[int, str] | None = None  # the close the page is owed instead
        self.limit: asyncio.Timeout | None = None  # the writer's deadline while it writes
        self.task: asyncio.Task[None] | None = None


class Outbox:
    """What the pages of a node share: the logins they stand on, and the backlogs.

    A page falls behind, and is closed with 4408, when a message waited more than
    ``max_seconds`` for its socket, or when more than ``max_bytes`` wait for it
    at the node (its backlog and what its transport holds).
    """

    def __init__(self, sessions: SessionStore, max_bytes: int, max_seconds: float) -> None:
        self.sessions = sessions
        self.max_bytes = max_bytes
        self.max_seconds = max_seconds
        self.backlogs: dict[PageConnection, Backlog] = {}

    def hold(self, page: PageConnection, text: str) -> None:
        """Queue ``text`` for ``page`` behind what already waits for it."""
        backlog = self._backlog(page)
        if backlog.closing is not None:
            return  # the page is being closed: what it is still sent is dropped
        backlog.texts.append((asyncio.get_running_loop().time(), text))
        backlog.size += len(text)
        if backlog.size + unsent(page.transport) > self.max_bytes:
            self._end(backlog, CLOSE_FELL_BEHIND, FELL_BEHIND)

    def close_later(self, page: PageConnection, code: int, reason: str) -> bool:
        """Leave the close of a backed-up page to its writer; False when it is not backed up."""
        if page not in self.backlogs and not unsent(page.transport):
            return False
        backlog = self._backlog(page)
        if backlog.closing is None:
            self._end(backlog, code, reason)
        return True

    async def close(self) -> None:
        """Stop every writer (the node is stopping): a backed-up page is cut off."""
        for page, backlog in list(self.backlogs.items()):
            if backlog.task is not None:
                await stop(backlog.task)
            page.transport.abort()
        self.backlogs.clear()

    def _backlog(self, page: PageConnection) -> Backlog:
        backlog = self.backlogs.get(page)
        if backlog is None:
            backlog = self.backlogs[page] = Backlog()
            backlog.task = asyncio.create_task(self._write(page, backlog), name="page backlog")
        return backlog

    def _end(self, backlog: Backlog, code: int, reason: str) -> None:
        backlog.closing = (code, reason)
        backlog.texts.clear()
        backlog.size = 0
        if backlog.limit is not None and not backlog.limit.expired():
            # The writer stops waiting for the socket now, and closes it.
            backlog.limit.reschedule(asyncio.get_running_loop().time())

    async def _write(self, page: PageConnection, backlog: Backlog) -> None:
        try:
            if await self._drain(page, backlog):
                return
            code, reason = backlog.closing or (CLOSE_FELL_BEHIND, FELL_BEHIND)
            self._end(backlog, code, reason)
            if code == CLOSE_FELL_BEHIND:
                log.info(
                    "closing a page that fell behind (%d bytes unsent)", unsent(page.transport)
                )
            try:
                # The close frame goes behind what the page has not read: it sees the code
                # if it reads that far in time, a cut connection (1006) otherwise.
                async with asyncio.timeout(self.max_seconds):
                    await page.socket.close(code=code, message=reason.encode())
            except TimeoutError:
                page.transport.abort()
        except (ConnectionError, RuntimeError):
            page.transport.abort()  # gone meanwhile: its handler lets it go
        except Exception:
            log.exception("writing to a backed-up page failed")
            page.transport.abort()
        finally:
            if self.backlogs.get(page) is backlog:
                del self.backlogs[page]

    async def _drain(self, page: PageConnection, backlog: Backlog) -> bool:
        """Write the backlog in order; True once it is empty, False when the page fell behind."""
        try:
            async with asyncio.timeout(None) as limit:
                backlog.limit = limit
                while backlog.closing is None:
                    if not backlog.texts:
                        return True  # caught up: from now on its sends go directly again
                    sent_at, text = backlog.texts.popleft()
                    backlog.size -= len(text)
                    limit.reschedule(sent_at + self.max_seconds)
                    # Waits for this page's socket only: nothing else waits for this task.
                    await page.socket.send_str(text)
        except TimeoutError:
            pass
        finally:
            backlog.limit = None
        return False
