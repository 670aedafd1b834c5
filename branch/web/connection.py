"""An open page: its websocket, the session that opened it, and its heartbeat.

The node pings pages itself instead of leaving it to aiohttp's ``heartbeat``.
That one keeps a timer per socket and, on Python 3.11, a task per ping, and its
first ping sets the 31st attribute of the websocket response: CPython shares an
instance's attribute keys with its class only up to 30, so from then on every
open socket carried a dictionary of its own (≈ 1.6 KB; a waiting page costs ≈ 16
KB in all). Here one task beats for every page of the node (`beat`), and a page
keeps one small counter that its handler resets at every frame.

A send to a page never waits for that page's socket to drain: one that stops
reading must not hold up the sends the node makes to the others one after
another (a line's positions, a wallboard, a relayed candidate). See
`branch/web/outbox.py`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
import struct
from asyncio.trsock import TransportSocket
from collections.abc import Iterable

from aiohttp import web

from branch.errors import CLOSE_SESSION_ENDED
from branch.web.outbox import DIRECT_CHARS, Outbox, unsent

log = logging.getLogger(__name__)

# SO_LINGER on, for no time: closing the socket resets the connection.
RESET_ON_CLOSE = struct.pack("ii", 1, 0)

# A page's `quiet`: what the beats have seen of it.
HEARD = 0  # a frame came in since the last beat
QUIET = 1  # silent for a whole beat: pinged at the next
PINGED = 2  # pinged and silent since: taken for gone at the next beat
BUSY = -1  # its handler is working on a frame; frames wait unread meanwhile, the pong too
# Pings sent before the beat lets the rest of the node run.
PINGS_PER_STEP = 500


class PageConnection:
    """Adapts an aiohttp websocket to the hub's connection protocol."""

    # No slot for a backlog: every open page would pay for it, and few ever have one.
    __slots__ = ("__weakref__", "outbox", "quiet", "session_id", "socket", "tcp", "transport")

    def __init__(
        self,
        socket: web.WebSocketResponse,
        transport: asyncio.Transport,
        outbox: Outbox,
        session_id: str = "",
    ) -> None:
        self.socket = socket
        self.transport = transport
        # Asked now: a TLS transport closed twice cannot be asked any more (Python 3.11).
        self.tcp: TransportSocket | None = transport.get_extra_info("socket")
        self.outbox = outbox
        self.session_id = session_id
        self.quiet = HEARD

    async def send_text(self, text: str) -> bool:
        """Send ``text`` after what was sent before; never waits for the socket to drain.

        False when the page is closed or being closed, and ``text`` was dropped.
        """
        if self.socket.closed:
            return False
        transport = self.transport
        # The relay's every message passes here: `unsent` inlined. A closing transport
        # cannot be asked for its buffer, and the write below fails at once for it.
        if (
            len(text) <= DIRECT_CHARS
            and (transport.is_closing() or not transport.get_write_buffer_size())
            and self not in self.outbox.backlogs
        ):
            await self.socket.send_str(text)
            return True
        return self.outbox.hold(self, text)

    async def send_welcome(self, text: str) -> bool:
        """Send the welcome, then what the page was sent since ``hold_until_welcome``."""
        return await self.outbox.welcome(self, text)

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
        self.cut_off()
        return False

    def cut_off(self) -> None:
        """Drop the page's TCP connection now, with whatever it has not read."""
        self.transport.abort()
        tcp = self.tcp
        if tcp is None or tcp.fileno() == -1:
            return
        with contextlib.suppress(OSError):
            # A reset: closed as usual, the socket would go on offering a page that reads
            # nothing what the kernel holds for it (megabytes), for minutes.
            tcp.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, RESET_ON_CLOSE)
            # A TLS transport closed twice (aiohttp closes it from the websocket and from
            # the request handler) lets go of the TCP transport under it on Python 3.11,
            # and its abort() then does nothing: the TCP transport finds its socket shut
            # down and closes it itself. After an abort that worked, this changes nothing.
            tcp.shutdown(socket.SHUT_RDWR)


async def beat(pages: Iterable[PageConnection]) -> None:
    """One heartbeat for every open page: every other beat a silent one is pinged."""
    pinged = 0
    for page in list(pages):
        if await page.beat():
            pinged += 1
            if pinged % PINGS_PER_STEP == 0:
                await asyncio.sleep(0)
