"""This node's subscription to the other nodes' commits (the ``commits`` channel).

One connection of its own, idle between messages, read by one task, which
hands each announcement to the store in the order Redis published them: the
order the commits landed in. While the connection is down, announcements are
lost; the store's version check makes that cost a retry, nothing else.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

from redis.asyncio import Redis
from redis.asyncio.client import PubSub
from redis.exceptions import RedisError

from branch.redis_packing import packing
from branch.tasks import stop

log = logging.getLogger(__name__)

# Seconds the reader waits for a message before it looks again; and waits after
# a failed read (Redis away), so a Redis that is gone is not asked in a loop.
READ_TIMEOUT = 1.0
RETRY_SECONDS = 1.0


class CommitFeed:
    def __init__(self, url: str, channel: str, told: Callable[[str], None]) -> None:
        self.url = url
        self.channel = channel
        self.told = told
        self._listener: Redis | None = None
        self._pubsub: PubSub | None = None
        self._task: asyncio.Task[None] | None = None

    async def open(self) -> None:
        """Subscribed when this returns: every commit landing from then on is told."""
        self._listener = packing(Redis.from_url(self.url, decode_responses=True))
        self._pubsub = self._listener.pubsub(ignore_subscribe_messages=True)
        await self._pubsub.subscribe(self.channel)
        self._task = asyncio.create_task(self._read(self._pubsub), name="commits of other nodes")

    async def close(self) -> None:
        if self._task is not None:
            await stop(self._task)
            self._task = None
        if self._pubsub is not None:
            await self._pubsub.aclose()  # type: ignore[no-untyped-call]  # untyped in redis-py
            self._pubsub = None
        if self._listener is not None:
            await self._listener.aclose()
            self._listener = None

    async def _read(self, pubsub: PubSub) -> None:
        while True:
            try:
                message = await pubsub.get_message(timeout=READ_TIMEOUT)
            except (RedisError, OSError) as error:
                # The client connects again and subscribes again on the next read.
                log.warning("commits channel unreadable (%s); retrying", type(error).__name__)
                await asyncio.sleep(RETRY_SECONDS)
                continue
            if message is None or message.get("type") != "message":
                continue
            try:
                self.told(message["data"])
            except Exception:
                # Never the end of the feed: a snapshot not followed only costs a retry.
                log.exception("an announced commit could not be followed")
