"""Stopping a background task for good, and the tasks a part of the node starts.

On Python 3.11 a cancellation that reaches a task awaiting ``asyncio.wait_for``
just as the awaited call finishes is lost (CPython issue gh-86296, fixed in
3.12): the task carries on as if it had never been cancelled. The Redis client
goes through ``wait_for`` to send every command of a client with a socket
timeout, so a loop cancelled in the middle of one would run on, and whoever
awaited it (a node shutting down) would wait forever. Cancelling again while
the task still runs closes that gap.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Coroutine
from typing import Any, TypeVar

log = logging.getLogger(__name__)

T = TypeVar("T")

# A cancellation is lost only in that one narrow moment: the next one lands.
RETRY_SECONDS = 0.1
ATTEMPTS = 100


async def stop(task: asyncio.Task[Any]) -> None:
    """Cancel ``task`` and return once it has ended, cancelling again while it runs on."""
    for _attempt in range(ATTEMPTS):
        if task.done():
            break
        task.cancel()
        # Not awaited directly: a cancellation of the caller must stay the caller's.
        await asyncio.wait([task], timeout=RETRY_SECONDS)
    if not task.done():
        log.error("task %s still runs after %d cancellations", task.get_name(), ATTEMPTS)
    elif not task.cancelled() and task.exception() is not None:
        log.error("task %s had failed", task.get_name(), exc_info=task.exception())


class Background:
    """The tasks one part of the node starts in the background, stopped together when it closes.

    A task is held until it ends, not only until it begins its work: a push that
    has begun when its part closes would otherwise run on after the stores it uses
    were closed, and a Redis client used after closing quietly opens a new
    connection that nobody closes.
    """

    def __init__(self) -> None:
        self._tasks: set[asyncio.Task[Any]] = set()
        self.closed = False

    def start(self, work: Coroutine[Any, Any, T], name: str) -> asyncio.Task[T]:
        if self.closed:
            work.close()  # never awaited: no "was never awaited" warning for it
            raise RuntimeError("started after its part of the node closed")
        task = asyncio.get_running_loop().create_task(work, name=name)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    async def close(self) -> None:
        """Stop every task still waiting or working; none starts after this."""
        self.closed = True
        for task in list(self._tasks):
            await stop(task)
