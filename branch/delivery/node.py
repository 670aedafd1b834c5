"""One node of the delivery across nodes: its id, its clients and what it knows of its pages."""

from __future__ import annotations

import asyncio
import os
import secrets
import socket
from collections.abc import Callable

from redis.asyncio import Redis
from redis.asyncio.client import PubSub
from redis.commands.core import AsyncScript

from branch.delivery.base import Changed, LostPage
from branch.delivery.keys import DeliveryKeys
from branch.hub import Hub
from branch.tasks import Background


def new_node_id() -> str:
    """Host, process and a random part: a restarted node is a new node, never its own ghost."""
    return f"{socket.gethostname()}-{os.getpid()}-{secrets.token_hex(3)}"


class DeliveryNode:
    """The state every part of ``RedisDelivery`` shares; ``open`` sets the clients and scripts."""

    _claim: AsyncScript
    _forward: AsyncScript
    _release: AsyncScript
    _rejoin: AsyncScript

    def __init__(
        self,
        url: str,
        *,
        node_timeout: float,
        clock: Callable[[], float],
        node_id: str | None = None,
        keys: DeliveryKeys | None = None,
        change_interval: float = 0.25,
    ) -> None:
        self.url = url
        # Least seconds between two change announcements of this node.
        self.change_interval = change_interval
        self.node_id = node_id or new_node_id()
        self.node_timeout = node_timeout
        self.heartbeat_interval = node_timeout / 4
        self.clock = clock
        self.key = keys or DeliveryKeys()
        self.local = Hub()
        # user key -> page value of the page this node holds for them.
        self._values: dict[str, str] = {}
        self._lost: LostPage | None = None
        self._changed: Changed | None = None
        self._announcing: asyncio.Task[None] | None = None  # scheduled, not yet begun
        self._announcements = Background()  # scheduled or begun
        self._announced_at = float("-inf")  # monotonic
        self._redis: Redis | None = None
        self._publisher: Redis | None = None
        self._listener: Redis | None = None
        self._pubsub: PubSub | None = None
        self._tasks: list[asyncio.Task[None]] = []
        self._registered = False
        # The epoch of the Redis life this node's records were written in.
        self._epoch: str | None = None
        # The heartbeat and a recovery asked for by the upkeep decide one at a time.
        self._joining = asyncio.Lock()

    @property
    def redis(self) -> Redis:
        if self._redis is None:
            raise RuntimeError("the delivery is not open")
        return self._redis
