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
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import secrets
import socket
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import orjson
from redis.asyncio import Redis
from redis.asyncio.client import PubSub
from redis.exceptions import RedisError

from branch.delivery.base import Changed, Connection, LostPage
from branch.delivery.keys import PAGES_TTL_SECONDS, PRESENCE_TIMEOUTS, DeliveryKeys
from branch.errors import CLOSE_GOING_AWAY, CLOSE_REPLACED, CLOSE_SESSION_ENDED
from branch.hub import Hub
from branch.live.epoch import current_epoch
from branch.redis_packing import packing
from branch.redis_retry import retrying_options
from branch.schema import dump
from branch.tasks import stop

log = logging.getLogger(__name__)

LUA_DIR = Path(__file__).with_name("lua")
# Seconds the channel reader waits for a message before checking it should stop.
READ_TIMEOUT = 1.0
RESYNC = "reconnect to resume"
COMMAND_TIMEOUT = 5.0


def new_node_id() -> str:
    """Host, process and a random part: a restarted node is a new node, never its own ghost."""
    return f"{socket.gethostname()}-{os.getpid()}-{secrets.token_hex(3)}"


def load_script(name: str) -> str:
    return (LUA_DIR / f"{name}.lua").read_text()


class RedisDelivery:
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
        self._announcing: asyncio.Task[None] | None = None
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

    # ------------------------------------------------------------ life

    async def open(self, lost: LostPage, changed: Changed | None = None) -> None:
        self._lost = lost
        self._changed = changed
        # A command unanswered for that long is a Redis that is away: it fails (and
        # is logged) rather than hold a page's handler or the heartbeat forever.
        wait = COMMAND_TIMEOUT
        # Presence, claims and lookups may run twice; the publisher below may not.
        self._redis = packing(
            Redis.from_url(
                self.url,
                decode_responses=True,
                socket_timeout=wait,
                socket_connect_timeout=wait,
                **retrying_options(),
            )
        )
        self._publisher = packing(
            Redis.from_url(
                self.url,
                decode_responses=True,
                single_connection_client=True,
                socket_timeout=wait,
                socket_connect_timeout=wait,
            )
        )
        self._claim = self._redis.register_script(load_script("claim_page"))
        self._forward = self._publisher.register_script(load_script("forward"))
        self._release = self._redis.register_script(load_script("release_page"))
        self._rejoin = self._redis.register_script(load_script("rejoin_page"))
        # The channel's connection is idle between messages: no read timeout there.
        self._listener = packing(Redis.from_url(self.url, decode_responses=True))
        self._pubsub = self._listener.pubsub(ignore_subscribe_messages=True)
        await self._pubsub.subscribe(self.key.channel(self.node_id), self.key.changes)
        self._epoch = await current_epoch(self._redis, self.key.epoch)
        await self.heartbeat()
        self._tasks = [
            asyncio.create_task(self._read_channel(), name=f"channel of node {self.node_id}"),
            asyncio.create_task(self._beat(), name=f"heartbeat of node {self.node_id}"),
        ]
        log.info("node %s joined the deployment", self.node_id)

    async def close(self) -> None:
        if self._announcing is not None:
            await stop(self._announcing)
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

    # ------------------------------------------------------------ pages

    async def open_page(self, user_key: str, connection: Connection) -> None:
        replaced = self.local.attach(user_key, connection)
        value = f"{self.node_id} {secrets.token_hex(8)}"
        self._values[user_key] = value
        if replaced is not None:
            await replaced.close(CLOSE_REPLACED, "replaced by a newer page")
        previous = await self._claim(
            keys=[self.key.page(user_key), self.key.pages(self.node_id)],
            args=[
                value,
                user_key,
                int(self.node_timeout * PRESENCE_TIMEOUTS * 1000),
                PAGES_TTL_SECONDS,
            ],
        )
        if previous:
            node, _, page_id = str(previous).partition(" ")
            if node != self.node_id:
                await self._publish(node, {"to": user_key, "close": page_id})

    async def close_page(self, user_key: str, connection: Connection) -> bool:
        if not self.local.detach(user_key, connection):
            return False
        value = self._values.pop(user_key, "")
        try:
            released = await self._release(
                keys=[self.key.page(user_key), self.key.pages(self.node_id)],
                args=[value, user_key],
            )
        except (RedisError, OSError) as exc:
            # The floor lives in the same Redis; the page was ours, so report it gone.
            log.warning("releasing a page failed: %s", type(exc).__name__)
            return True
        return bool(released)

    async def end_page(
        self, user_key: str, code: int, reason: str, *, session_id: str | None = None
    ) -> bool:
        ended = False
        if self.local.page(user_key) is not None:
            ended = await self.local.end_page(user_key, code, reason, session_id=session_id)
        # Looked up even so: the page here may be one that a newer page elsewhere, of
        # the same login, is replacing at this moment.
        value = await self.redis.get(self.key.page(user_key))
        if value is None:
            return ended
        node, _, page_id = str(value).partition(" ")
        if node == self.node_id:
            return ended  # here, or here and gone (its record is being released)
        # On the publisher's connection, after whatever was sent to the page before.
        envelope: dict[str, Any] = {"to": user_key, "end": page_id, "code": code, "reason": reason}
        if session_id is not None:
            envelope["session"] = session_id
        return await self._publish(node, envelope) or ended

    def page(self, user_key: str) -> Connection | None:
        return self.local.page(user_key)

    def keys(self, prefix: str) -> list[str]:
        return self.local.keys(prefix)

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

    def announce_change(self) -> None:
        if self._announcing is not None or self._redis is None:
            return  # the announcement under way goes after this change too
        delay = max(0.0, self._announced_at + self.change_interval - time.monotonic())
        self._announcing = asyncio.get_running_loop().create_task(self._announce(delay))

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

    async def _publish(self, node: str, envelope: dict[str, Any]) -> bool:
        if self._publisher is None:
            raise RuntimeError("the delivery is not open")
        receivers = await self._publisher.publish(self.key.channel(node), orjson.dumps(envelope))
        return bool(receivers)

    async def _read_channel(self) -> None:
        pubsub = self._pubsub
        if pubsub is None:
            return
        while True:
            try:
                message = await pubsub.get_message(timeout=READ_TIMEOUT)
            except (RedisError, OSError) as exc:
                log.warning("node channel unreadable (%s); retrying", type(exc).__name__)
                await asyncio.sleep(self.heartbeat_interval)
                continue
            if message is None or message.get("type") != "message":
                continue
            try:
                if message.get("channel") != self.key.changes:
                    await self._deliver(orjson.loads(message["data"]))
                elif message["data"] != self.node_id and self._changed is not None:
                    self._changed()
            except Exception:
                log.exception("a message from another node could not be delivered")

    async def _deliver(self, envelope: dict[str, Any]) -> None:
        user_key = str(envelope.get("to", ""))
        connection = self.local.page(user_key)
        if connection is None:
            return
        if "text" in envelope:
            try:
                await connection.send_text(str(envelope["text"]))
            except (ConnectionError, RuntimeError) as exc:
                log.debug("dropping message to %s: %s", user_key, exc)
            return
        value = self._values.get(user_key, "")
        if "end" in envelope:
            # A logout names its session, which is what decides: a page that opened since
            # the sender looked, with the same login, is closed too. Without one (a
            # supervisor's log-out of a login made before logins were listed) only the
            # page the sender saw.
            session = envelope.get("session")
            if session is None and not value.endswith(f" {envelope['end']}"):
                return
            await self.local.end_page(
                user_key,
                int(envelope.get("code", CLOSE_SESSION_ENDED)),
                str(envelope.get("reason", "session ended")),
                session_id=None if session is None else str(session),
            )
            return
        if "close" in envelope and value.endswith(f" {envelope['close']}"):
            # Closed from elsewhere (a newer page, or a reaper that reported this
            # person lost just as they came back).
            code = int(envelope.get("code", CLOSE_REPLACED))
            reason = str(envelope.get("reason", "replaced by a newer page"))
            await self._close_here(user_key, connection, value, code, reason)

    async def _close_here(
        self, user_key: str, connection: Connection, value: str, code: int, reason: str
    ) -> None:
        """Close a page of this node without reporting the person gone.

        That is either untrue (they have a newer page) or already done (reaped).
        """
        self.local.detach(user_key, connection)
        self._values.pop(user_key, None)
        await self._release(
            keys=[self.key.page(user_key), self.key.pages(self.node_id)], args=[value, user_key]
        )
        await connection.close(code, reason)

    # ------------------------------------------------------------ heartbeat and reaper

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
