"""The publisher: this node's single connection for messages to other nodes' channels.

One connection, so that the messages of one page reach the other node in the
order sent (see ``branch.delivery.pubsub``).
"""

from __future__ import annotations

from typing import Any

import orjson
from redis.exceptions import RedisError

from branch.delivery.node import DeliveryNode


class Publisher(DeliveryNode):
    async def _publish(self, node: str, envelope: dict[str, Any]) -> bool:
        if self._publisher is None:
            raise RuntimeError("the delivery is not open")
        receivers = await self._publisher.publish(self.key.channel(node), orjson.dumps(envelope))
        return bool(receivers)

    async def _refresh_publisher(self) -> None:
        """Have the publisher's connection open on the Redis that is there now.

        It never repeats a command, so the first message after Redis restarted
        would fail on the connection the old server closed; a ping fails there
        instead (dropping it), and the second opens a new one.
        """
        if self._publisher is None:
            raise RuntimeError("the delivery is not open")
        try:
            await self._publisher.ping()
        except (RedisError, OSError):
            await self._publisher.ping()
