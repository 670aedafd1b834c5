"""Announcements that the floor changed, so that other nodes push their wallboards."""

from __future__ import annotations

import asyncio
import logging
import time

from redis.exceptions import RedisError

from branch.delivery.node import DeliveryNode

log = logging.getLogger(__name__)


class ChangeAnnouncements(DeliveryNode):
    def announce_change(self) -> None:
        if self._announcing is not None or self._redis is None or self._announcements.closed:
            return  # the announcement under way goes after this change too
        delay = max(0.0, self._announced_at + self.change_interval - time.monotonic())
        self._announcing = self._announcements.start(self._announce(delay), "change announcement")

    async def _announce(self, delay: float) -> None:
        await asyncio.sleep(delay)
        # From here on a change needs an announcement of its own: the others may read first.
        self._announcing = None
        self._announced_at = time.monotonic()
        try:
            # On the pool, not the publisher: a page's messages need not wait behind it,
            # and a repeated announcement costs only an extra wallboard push.
            await self.redis.publish(self.key.changes, self.node_id)
        except (RedisError, OSError) as exc:
            log.warning("announcing a change failed: %s", type(exc).__name__)
