"""When to push queue positions: at once for a short line, coalesced for a long one.

Every change to a line (a join, a leave, an offer) moves the place or the count
of everyone in it, so one push is one message per waiting page. With thousands
waiting and changes arriving many times a second, pushing every change would
cost the node millions of messages a minute and delay the very updates they
carry. So a line that was longer than ``coalesce_above`` at its last push is
pushed at most once every ``every`` seconds, with its state at that moment;
shorter lines are pushed at once, as each change happens. A line so long that
pushing it that often would exceed ``messages_per_second`` is pushed less often,
in proportion to its length: at 10,000 waiting, once a second; and a line whose
push took long (a node short of CPU) waits three times as long as the push took,
so pushes take at most a third of the node. Otherwise the pushes alone took the
whole node (a logging-in crowd stalled at a few thousand waiting) and every page
saw its place later, not sooner.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable

from branch.tasks import Background

log = logging.getLogger(__name__)

COALESCE_ABOVE = 200  # people in a line
EVERY_SECONDS = 0.5
MESSAGES_PER_SECOND = 10_000  # position messages a node sends for one line, at most
# A line's pushes take at most a third of the node's time, whatever the machine gives it.
PUSH_SHARE = 1 / 3


class PositionPusher:
    def __init__(
        self,
        push: Callable[[str], Awaitable[int]],
        *,
        coalesce_above: int = COALESCE_ABOVE,
        every: float = EVERY_SECONDS,
        messages_per_second: float = MESSAGES_PER_SECOND,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        """``push(service)`` sends that line's positions and returns how many are in it."""
        self._push = push
        self.coalesce_above = coalesce_above
        self.every = every
        self.messages_per_second = messages_per_second
        self._clock = clock
        self._started: dict[str, float] = {}  # when each line's last push began
        self._period: dict[str, float] = {}  # of each long line, from its length
        self._pending: dict[str, asyncio.Task[None]] = {}  # scheduled, not yet begun
        self._later_pushes = Background()  # scheduled or begun
        self._pushing: dict[str, asyncio.Lock] = {}  # held while a line is being pushed

    async def changed(self, service: str) -> None:
        """A line changed: push it now, or make sure a push follows soon."""
        if self._later_pushes.closed:
            return  # the node is stopping: nobody is there to see it
        if service in self._pending:
            return  # the push already scheduled reads the line as it is by then
        wait = 0.0
        if service in self._period:
            wait = self._started[service] + self._period[service] - self._clock()
        if wait > 0 or self._lock(service).locked():
            # One push of a line at a time: when pushing a long line takes longer than
            # its period, overlapping pushes would pile up and take the whole node.
            later = self._later(service, max(wait, 0.0))
            self._pending[service] = self._later_pushes.start(later, f"positions of {service}")
            return
        async with self._lock(service):
            await self._run(service)

    def _lock(self, service: str) -> asyncio.Lock:
        return self._pushing.setdefault(service, asyncio.Lock())

    async def _run(self, service: str) -> None:
        # Noted before the push, so a change arriving during it schedules the next one.
        started = self._started[service] = self._clock()
        length = await self._push(service)
        if length > self.coalesce_above:
            took = self._clock() - started
            self._period[service] = max(
                self.every, length / self.messages_per_second, took / PUSH_SHARE
            )
        else:
            self._period.pop(service, None)

    async def _later(self, service: str, wait: float) -> None:
        await asyncio.sleep(wait)
        async with self._lock(service):
            # Still pending while the push before it ends, so changes meanwhile add none.
            del self._pending[service]
            try:
                await self._run(service)
            except Exception:
                # The next change schedules another push; one failure must not stop them.
                log.exception("pushing the positions of %s failed", service)

    async def close(self) -> None:
        """Cancel the pushes scheduled or under way; later changes push nothing (the node stops)."""
        await self._later_pushes.close()
        self._pending.clear()
