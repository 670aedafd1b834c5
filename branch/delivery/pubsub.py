"""Delivery across nodes through Redis: presence records, one channel per node, a heartbeat.

Each page this node holds has a presence record saying which node and page it
is; a message for a person whose page lives elsewhere is published on that
node's channel and delivered there by its reader. A node heartbeat refreshes
the node's ``alive`` key and its presence records; when a node stops beating
(SIGKILL, a lost machine), the first living node to notice reports each of its
pages as lost, so the floor treats the people as away and their grace periods
run, and they keep their place or call by reconnecting to any node.

A page is closed from another node in two ways: replaced by a newer page of
the same person (4409: it goes without the person counting as away, the new
page is there), or ended (a logout or a supervisor's log-out, 4440: it goes as
any closed page, through its own handler, so its person is away).

A node that finds itself unregistered tells two cases apart by the live
store's epoch (``branch.live.epoch``). Unchanged: the others took it for dead
(it stalled past the timeout) and reported its pages lost, so it closes them
and each reconnects to be marked back. Changed: Redis restarted empty and
nobody reported anything; the floor is being rebuilt from the pages' tickets
(``queue.reclaim``), which only works on the open pages, so the node writes its
pages' records again and keeps them open.

Order: every message of one page is handled in that page's own task, one after
the other, and each is published with ``await`` on this node's single publisher
connection. Redis runs one connection's commands in the order they arrive and
pushes them to each subscriber in that order; the receiving node reads its
channel in one task and hands each message to the page before reading the next.
So whatever one side of a call sends reaches the other side in the order sent,
which is all a call's signaling needs (a pool of publisher connections would
let two messages overtake each other).

The parts, one module each: ``node`` (the state they share), ``publisher``,
``pages`` (presence records; closing and ending a page from any node),
``reader`` (this node's channel), ``presence`` (heartbeat, reaper, registering
again) and ``changes`` (the wallboards' change announcements). ``RedisDelivery``
here opens and closes them and sends.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Iterable, Set
from typing import Any

import orjson
from redis.asyncio import Redis
from redis.exceptions import RedisError

from branch.delivery.base import Changed, Connection, LostPage
from branch.delivery.changes import ChangeAnnouncements
from branch.delivery.presence import Presence
from branch.delivery.scripts import load_script
from branch.live.epoch import current_epoch
from branch.redis_packing import packing
from branch.redis_retry import retrying_options
from branch.schema import dump
from branch.tasks import stop

log = logging.getLogger(__name__)

COMMAND_TIMEOUT = 5.0


class RedisDelivery(Presence, ChangeAnnouncements):
    """The delivery across nodes; the parts it is made of are its base classes."""

    # ------------------------------------------------------------ life

    async def open(self, lost: LostPage, changed: Changed | None = None) -> None:
        self._lost = lost
        self._changed = changed
        # A command unanswered for that long is a Redis that is away: it fails (and
        # is logged) rather than hold a page's handler or the heartbeat forever.
        bounded = {"socket_timeout": COMMAND_TIMEOUT, "socket_connect_timeout": COMMAND_TIMEOUT}
        # Presence, claims and lookups may run twice; the publisher below may not.
        self._redis = self._client(**bounded, **retrying_options())
        self._publisher = self._client(**bounded, single_connection_client=True)
        self._claim = self._redis.register_script(load_script("claim_page"))
        self._forward = self._publisher.register_script(load_script("forward"))
        self._release = self._redis.register_script(load_script("release_page"))
        self._rejoin = self._redis.register_script(load_script("rejoin_page"))
        # The channel's connection is idle between messages: no read timeout there.
        self._listener = self._client()
        self._pubsub = self._listener.pubsub(ignore_subscribe_messages=True)
        await self._pubsub.subscribe(self.key.channel(self.node_id), self.key.changes)
        self._epoch = await current_epoch(self._redis, self.key.epoch)
        await self.heartbeat()
        self._tasks = [
            asyncio.create_task(self._read_channel(), name=f"channel of node {self.node_id}"),
            asyncio.create_task(self._beat(), name=f"heartbeat of node {self.node_id}"),
        ]
        log.info("node %s joined the deployment", self.node_id)

    def _client(self, **options: Any) -> Redis:
        return packing(Redis.from_url(self.url, decode_responses=True, **options))

    async def close(self) -> None:
        await self._announcements.close()
        self._announcing = None
        for task in self._tasks:
            await stop(task)
        self._tasks = []
        if self._redis is not None:
            # Leaving on purpose: nothing for a reaper to do. Pages still open
            # here (none after a clean shutdown) are released as they close.
            with contextlib.suppress(RedisError, OSError):
                await self._redis.srem(self.key.nodes, self.node_id)
                await self._redis.delete(self.key.alive(self.node_id))
        if self._pubsub is not None:
            await self._pubsub.aclose()  # type: ignore[no-untyped-call]  # untyped in redis-py
        for client in (self._publisher, self._redis, self._listener):
            if client is not None:
                await client.aclose()
        self._redis = self._publisher = self._listener = None
        self._pubsub = None

    def page(self, user_key: str) -> Connection | None:
        return self.local.page(user_key)

    def keys(self, prefix: str) -> list[str]:
        return self.local.keys(prefix)

    def people(self, role: str) -> Set[str]:
        return self.local.people(role)

    async def everywhere(self, prefix: str) -> list[str]:
        nodes = await self.redis.smembers(self.key.nodes)
        async with self.redis.pipeline(transaction=False) as pipe:
            for node in nodes:
                pipe.hkeys(self.key.pages(str(node)))
            tables = await pipe.execute()
        found = set(self.local.keys(prefix))
        for table in tables:
            found.update(key for key in table if key.startswith(prefix))
        return sorted(found)

    # ------------------------------------------------------------ messages

    async def send(self, user_key: str, payload: dict[str, Any]) -> bool:
        return await self.send_text(user_key, dump(payload))

    async def send_text(self, user_key: str, text: str) -> bool:
        if self.local.page(user_key) is not None:
            return await self.local.send_text(user_key, text)
        if self._publisher is None:
            # Closed (the node is stopping): the client would open a connection of its
            # own again for this message, and nobody would close it.
            return False
        # Finding the page's node and publishing there are one script on the publisher's
        # connection: one round trip per message, and the order of the sends kept.
        envelope = orjson.dumps({"to": user_key, "text": text})
        receivers = await self._forward(
            keys=[self.key.page(user_key)],
            args=[self.node_id, self.key.channels, envelope],
        )
        return bool(receivers)

    async def send_many(self, user_keys: Iterable[str], payload: dict[str, Any]) -> None:
        for key in user_keys:
            await self.send(key, payload)

    async def close_all(self, code: int, reason: str) -> None:
        await self.local.close_all(code, reason)

    def __len__(self) -> int:
        return len(self.local)
