"""Sending to pages whose sockets backed up, without anyone waiting for them.

The node sends to its pages one after another: a line's positions, a
wallboard, a broadcast, and every cross-node message from one reader task.
aiohttp's writer makes a send wait for the socket to drain once it has written
256 KiB since it last looked and the transport holds more than its high-water
mark (64 KiB), so one page that stops reading would hold up every send after
it. A text therefore goes straight to the socket only while the transport
holds nothing unsent and the text fits under that mark: then the write cannot
pause the writer. Otherwise it joins the page's backlog, which a task of its
own writes as the socket takes it.

The backlog and its task exist only while the page is backed up, and live here
rather than on the page, so a page that reads costs nothing more (the waiting
room is measured per open socket). A page falls behind, and is closed with
4408, when more than ``max_bytes`` wait for it at the node (its backlog and its
transport's buffer), when a message waited ``max_seconds`` in its backlog, or
when its socket took nothing for ``max_seconds`` while bytes waited for it.
A stopping node closes a backed-up page the same way, with 1001, and gives it
``SHUTDOWN_GRACE_SECONDS`` to read its close.

A page being set up has a backlog too, without a writer: it is registered, so
pushes reach it, before its welcome is made, and the welcome must come first
(docs/protocol.md). What it is sent meanwhile waits behind the welcome, which
sets it going; nothing is lost, and nobody else waits for it.
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from typing import TYPE_CHECKING

from aiohttp import WSMsgType

from branch.errors import CLOSE_FELL_BEHIND
from branch.live.sessions import SessionStore
from branch.tasks import stop

if TYPE_CHECKING:
    from branch.web.connection import PageConnection

log = logging.getLogger(__name__)

# Longest text written directly: at four bytes a character at most, it stays under the
# transport's high-water mark, so writing it to an empty transport cannot pause the writer.
DIRECT_CHARS = 16_000
# What a backlog's writer lets the transport hold; the rest waits in the backlog, where
# its age is known.
WRITE_AHEAD = 64 * 1024
# How often a writer looks again at a socket that took nothing: soon at first, since
# most pages catch up within milliseconds, then a few times a second.
FIRST_LOOK = 0.005
LAST_LOOK = 0.25
FELL_BEHIND = "fell behind"
# How long a stopping node gives backed-up pages to take their close (1001), all pages
# together. The frame waits behind what the kernel has already taken and what the
# transport holds (about WRITE_AHEAD; the rest of a backlog is dropped), which a page
# reading on any usable link takes in well under a second. Waiting out ``max_seconds``
# (15 s) for a page that reads nothing would hold up the stop, and a rolling restart,
# for nothing.
SHUTDOWN_GRACE_SECONDS = 2.0


def unsent(transport: asyncio.Transport) -> int:
    """Bytes written to ``transport`` that its socket has not taken yet."""
    # Nothing once it is closing: a closed TLS transport cannot even be asked, and a
    # write to a closing one fails at once instead of waiting.
    return 0 if transport.is_closing() else transport.get_write_buffer_size()


class Backlog:
    """What waits for one backed-up page, oldest first, and the task that writes it."""

    __slots__ = ("closing", "limit", "size", "task", "texts")

    def __init__(self) -> None:
        # (when it was sent, the text in UTF-8): encoded once, here rather than by the
        # socket as it writes it, so the bound counts bytes, which a text in Spanish has
        # more of than characters.
        self.texts: deque[tuple[float, bytes]] = deque()
        self.size = 0  # bytes in ``texts``
        self.closing: tuple[int, str] | None = None  # the close the page gets instead
        self.limit: asyncio.Timeout | None = None  # interrupts the writer's wait
        self.task: asyncio.Task[None] | None = None  # None while the page awaits its welcome


class Outbox:
    """What the pages of a node share: the logins they stand on, and the backlogs."""

    def __init__(self, sessions: SessionStore, max_bytes: int, max_seconds: float) -> None:
        self.sessions = sessions
        self.max_bytes = max_bytes
        self.max_seconds = max_seconds
        self.backlogs: dict[PageConnection, Backlog] = {}

    def hold(self, page: PageConnection, text: str) -> bool:
        """Queue ``text`` for ``page`` behind what already waits for it.

        False when it is dropped instead: the page is being closed, or this text was
        more than it may have waiting.
        """
        backlog = self._backlog(page)
        if backlog.closing is not None:
            return False  # what a page being closed is still sent is dropped
        data = text.encode()
        backlog.texts.append((asyncio.get_running_loop().time(), data))
        backlog.size += len(data)
        return self._within_bound(page, backlog)

    def hold_until_welcome(self, page: PageConnection) -> None:
        """Keep what ``page`` is sent from now on until its welcome is sent."""
        self.backlogs[page] = Backlog()

    async def welcome(self, page: PageConnection, text: str) -> bool:
        """Send the welcome ``text`` first, then what was held for ``page`` meanwhile."""
        backlog = self.backlogs.get(page)
        if backlog is None or backlog.task is not None:
            return await page.send_text(text)  # not held, or already being closed
        if not backlog.texts:
            del self.backlogs[page]  # the common case: nothing came meanwhile
            return await page.send_text(text)
        data = text.encode()
        backlog.texts.appendleft((asyncio.get_running_loop().time(), data))
        backlog.size += len(data)
        self._start(page, backlog)
        return self._within_bound(page, backlog)

    def forget_unwelcomed(self, page: PageConnection) -> None:
        """The page's handler ends: drop what was held for a welcome that never came."""
        backlog = self.backlogs.get(page)
        if backlog is not None and backlog.task is None:
            del self.backlogs[page]

    def close_later(self, page: PageConnection, code: int, reason: str) -> bool:
        """Leave the close of a backed-up page to its writer; False when it is not backed up."""
        if page not in self.backlogs and not unsent(page.transport):
            return False
        backlog = self._backlog(page)
        if backlog.closing is None:
            self._end(page, backlog, code, reason)
        return True

    async def close(self) -> None:
        """The node is stopping, its pages' closes left to their writers: let those finish.

        A page that has not taken its close within ``SHUTDOWN_GRACE_SECONDS`` is cut off.
        """
        writers = [backlog.task for backlog in self.backlogs.values() if backlog.task]
        if writers:
            await asyncio.wait(writers, timeout=SHUTDOWN_GRACE_SECONDS)
        for page, backlog in list(self.backlogs.items()):
            if backlog.task is not None:
                await stop(backlog.task)
            page.cut_off()
        self.backlogs.clear()

    def _backlog(self, page: PageConnection) -> Backlog:
        backlog = self.backlogs.get(page)
        if backlog is None:
            backlog = self.backlogs[page] = Backlog()
            self._start(page, backlog)
        return backlog

    def _start(self, page: PageConnection, backlog: Backlog) -> None:
        backlog.task = asyncio.create_task(self._write(page, backlog), name="page backlog")

    def _within_bound(self, page: PageConnection, backlog: Backlog) -> bool:
        """False, the page closed and what waited for it dropped, when too much waits."""
        if backlog.size + unsent(page.transport) > self.max_bytes:
            self._end(page, backlog, CLOSE_FELL_BEHIND, FELL_BEHIND)
            return False
        return True

    def _end(self, page: PageConnection, backlog: Backlog, code: int, reason: str) -> None:
        if backlog.task is None:
            self._start(page, backlog)  # closed before its welcome: the writer closes it
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
            self._end(page, backlog, code, reason)
            if code == CLOSE_FELL_BEHIND:
                log.info("a page fell behind (%d bytes unsent): closed", unsent(page.transport))
            try:
                # The close frame goes behind what the page has not read: it sees the code
                # if it reads that far in time, a cut connection (1006) otherwise. A closed
                # transport still waits for its socket to take all it holds, which a page
                # that reads nothing never does.
                async with asyncio.timeout(self.max_seconds):
                    await page.socket.close(code=code, message=reason.encode())
                    look = FIRST_LOOK
                    while page.tcp is not None and page.tcp.fileno() != -1:
                        await asyncio.sleep(look)
                        look = min(look * 2, LAST_LOOK)
            except TimeoutError:
                page.cut_off()
        except (ConnectionError, RuntimeError):
            page.cut_off()  # gone meanwhile: its handler lets it go
        except Exception:
            log.exception("writing to a backed-up page failed")
            page.cut_off()
        finally:
            if self.backlogs.get(page) is backlog:
                del self.backlogs[page]

    async def _drain(self, page: PageConnection, backlog: Backlog) -> bool:
        """Write the backlog in order; True once all is taken, False when the page fell behind."""
        loop = asyncio.get_running_loop()
        look = FIRST_LOOK
        held = unsent(page.transport)
        moved = loop.time()  # when the socket last took something
        try:
            async with asyncio.timeout(None) as limit:
                backlog.limit = limit
                while backlog.closing is None:
                    if page.socket.closed:
                        return True  # closed by its handler: nothing is owed any more
                    now, left = loop.time(), unsent(page.transport)
                    if left < held:
                        moved = now
                    texts = backlog.texts
                    if texts and left < WRITE_AHEAD:
                        _sent_at, data = texts.popleft()
                        backlog.size -= len(data)
                        # The writer may still wait for the socket; that wait is bounded too.
                        limit.reschedule(now + self.max_seconds)
                        await page.socket.send_frame(data, WSMsgType.TEXT)
                        limit.reschedule(None)
                        held, look = unsent(page.transport), FIRST_LOOK
                        continue
                    if not texts and not left:
                        return True  # caught up: its sends go straight to the socket again
                    held = left
                    if now - moved > self.max_seconds or (
                        texts and now - texts[0][0] > self.max_seconds
                    ):
                        return False
                    await asyncio.sleep(look)
                    look = min(look * 2, LAST_LOOK)
        except TimeoutError:
            pass
        finally:
            backlog.limit = None
        return False
