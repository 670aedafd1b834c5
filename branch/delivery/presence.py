"""The node heartbeat, the reaper of nodes that stopped beating, and registering again.

See ``branch.delivery.pubsub`` for what a node does when it finds itself unregistered.
"""

from __future__ import annotations

import asyncio
import logging

from redis.exceptions import RedisError

from branch.delivery.keys import PAGES_TTL_SECONDS, PRESENCE_TIMEOUTS
from branch.delivery.reader import ChannelReader
from branch.errors import CLOSE_GOING_AWAY, CLOSE_REPLACED
from branch.live.epoch import current_epoch

log = logging.getLogger(__name__)

RESYNC = "reconnect to resume"


class Presence(ChannelReader):
    async def _beat(self) -> None:
        while True:
            await asyncio.sleep(self.heartbeat_interval)
            try:
                await self.heartbeat()
            except (RedisError, OSError) as exc:
                log.warning("heartbeat failed: %s", type(exc).__name__)

    async def heartbeat(self) -> None:
        """Say this node is alive, keep its pages' records, and reap nodes that died."""
        keys = self.key
        timeout_ms = int(self.node_timeout * 1000)
        async with self._joining:
            async with self.redis.pipeline(transaction=False) as pipe:
                pipe.sadd(keys.nodes, self.node_id)
                pipe.set(keys.alive(self.node_id), repr(self.clock()), px=timeout_ms)
                pipe.expire(keys.pages(self.node_id), PAGES_TTL_SECONDS)
                for user_key in self._values:
                    pipe.pexpire(keys.page(user_key), timeout_ms * PRESENCE_TIMEOUTS)
                pipe.get(keys.epoch)
                added, *_, epoch = await pipe.execute()
            if epoch != self._epoch:
                await self._register_again()
            elif added and self._registered:
                # Another node took this one for dead (it stalled past the timeout)
                # and reported its pages lost: have them reconnect, so each is
                # registered again and its person marked back.
                log.warning("node %s rejoins the deployment; closing its pages", self.node_id)
                self._values.clear()
                await self.local.close_all(CLOSE_GOING_AWAY, "node rejoining the deployment")
            self._registered = True
        # Every beat, not only after an error: a publisher left quiet past Redis's
        # `timeout` (or a firewall's idle limit) is closed with no error seen anywhere,
        # and would lose its next message (tests/delivery/test_pubsub.py).
        await self._refresh_publisher()
        await self.reap()

    async def recover(self) -> bool:
        """If Redis restarted empty since this node last looked, register it and its pages again.

        The heartbeat would within its interval; the upkeep asks first, before it
        has the pages present their tickets, so that what the floor then sends
        them from other nodes finds them. True when it did.
        """
        try:
            async with self._joining:
                if await self.redis.get(self.key.epoch) == self._epoch:
                    return False
                await self._register_again()
                return True
        except (RedisError, OSError) as exc:
            log.warning("registering again failed (%s); the heartbeat retries", type(exc).__name__)
            return False

    async def _register_again(self) -> None:
        """Redis restarted empty: write this node's records again, its pages staying open."""
        keys = self.key
        epoch = await current_epoch(self.redis, keys.epoch)
        timeout_ms = int(self.node_timeout * 1000)
        pages = dict(self._values)
        # Before the floor is rebuilt: its first messages to other nodes go out at once.
        await self._refresh_publisher()
        async with self.redis.pipeline(transaction=False) as pipe:
            pipe.sadd(keys.nodes, self.node_id)
            pipe.set(keys.alive(self.node_id), repr(self.clock()), px=timeout_ms)
            for user_key, value in pages.items():
                await self._rejoin(
                    keys=[keys.page(user_key), keys.pages(self.node_id)],
                    args=[value, user_key, timeout_ms * PRESENCE_TIMEOUTS, PAGES_TTL_SECONDS],
                    client=pipe,
                )
            _added, _alive, *newer = await pipe.execute()
        self._epoch = epoch
        self._registered = True
        log.warning(
            "Redis restarted empty: node %s registered its %d pages again", self.node_id, len(pages)
        )
        for (user_key, value), other in zip(pages.items(), newer, strict=True):
            connection = self.local.page(user_key)
            if self._values.get(user_key) != value or connection is None:
                # Closed or replaced while this ran: take back what was just written for it.
                await self._release(
                    keys=[keys.page(user_key), keys.pages(self.node_id)], args=[value, user_key]
                )
            elif other:
                # The person opened a page elsewhere after the restart: that one is theirs.
                await self._close_here(
                    user_key, connection, value, CLOSE_REPLACED, "replaced by a newer page"
                )

    async def _resync(self, user_key: str) -> None:
        """After reporting a page lost: if its person came back meanwhile, have them reconnect.

        The report and the return may cross (the new page's welcome marked them
        back just before the report marked them away); a fresh connection marks
        them back again.
        """
        value = await self.redis.get(self.key.page(user_key))
        if value is None:
            return
        node, _, page_id = str(value).partition(" ")
        envelope = {"to": user_key, "close": page_id, "code": CLOSE_GOING_AWAY, "reason": RESYNC}
        if node == self.node_id:
            await self._deliver(envelope)
        else:
            await self._publish(node, envelope)

    async def reap(self) -> list[str]:
        """Report the pages of every node whose heartbeat expired; returns those nodes."""
        redis = self.redis
        members = await redis.smembers(self.key.nodes)
        others = [str(node) for node in members if node != self.node_id]
        if not others:
            return []
        async with redis.pipeline(transaction=False) as pipe:
            for node in others:
                pipe.exists(self.key.alive(node))
            alive = await pipe.execute()
        reaped = []
        for node, is_alive in zip(others, alive, strict=True):
            # SREM answers 1 to exactly one node: one reaper per dead node.
            if is_alive or not await redis.srem(self.key.nodes, node):
                continue
            reaped.append(node)
            table = self.key.pages(node)
            pages = await redis.hgetall(table)
            log.warning("node %s stopped beating; %d pages lost with it", node, len(pages))
            for user_key, value in pages.items():
                user_key = str(user_key)
                released = await self._release(
                    keys=[self.key.page(user_key), table], args=[value, user_key]
                )
                # Someone who already reconnected elsewhere is not lost.
                if released and self._lost is not None:
                    try:
                        await self._lost(user_key)
                    except Exception:
                        log.exception("reporting a lost page failed")
                    await self._resync(user_key)
            await redis.delete(table)
        return reaped
