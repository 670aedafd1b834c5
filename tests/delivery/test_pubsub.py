"""Cross-node delivery on a real Redis: two or three nodes in one process, sharing one server."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import pytest
from redis.asyncio import Redis
from redis.exceptions import ConnectionError as RedisConnectionError

from branch.config import load_settings
from branch.delivery.base import Changed
from branch.delivery.factory import open_delivery
from branch.delivery.keys import PAGES_TTL_SECONDS, DeliveryKeys
from branch.delivery.pubsub import RedisDelivery
from branch.delivery.scripts import load_script
from branch.errors import CLOSE_GOING_AWAY, CLOSE_REPLACED, CLOSE_SESSION_ENDED
from branch.hub import Hub
from branch.tasks import stop
from tests.servers.redis import RedisServer, StartRedis

ANA = "citizen:44.444.444-4"
EVA = "executive:11.111.111-1"
# Node timeout for these tests: short, so a dead node is noticed at once, and long
# enough that a node on a loaded machine is not taken for dead between heartbeats.
TIMEOUT = 1.0
# Least seconds between two change announcements of one node.
CHANGE_INTERVAL = 0.2


class Page:
    """A page as the delivery sees it: what it was sent and how it was closed."""

    def __init__(self, session_id: str = "s1") -> None:
        self.session_id = session_id
        self.texts: list[str] = []
        self.closed: tuple[int, str] | None = None
        self.arrived = asyncio.Event()

    async def send_text(self, text: str) -> bool:
        self.texts.append(text)
        self.arrived.set()
        return True

    async def close(self, code: int, reason: str) -> None:
        self.closed = (code, reason)
        self.arrived.set()

    @property
    def messages(self) -> list[dict[str, Any]]:
        return [json.loads(text) for text in self.texts]

    async def wait(self, done: Callable[[], bool], timeout: float = 5.0) -> None:
        async with asyncio.timeout(timeout):
            while not done():
                self.arrived.clear()
                await self.arrived.wait()


class Lost:
    """The pages a node reported lost."""

    def __init__(self) -> None:
        self.keys: list[str] = []
        self.reported = asyncio.Event()

    async def report(self, user_key: str) -> None:
        self.keys.append(user_key)
        self.reported.set()


StartNode = Callable[..., Awaitable[RedisDelivery]]


@pytest.fixture
def keys(redis_prefix: str) -> DeliveryKeys:
    return DeliveryKeys(redis_prefix)


@pytest.fixture
async def redis(redis_server: RedisServer) -> AsyncIterator[Redis]:
    client = Redis.from_url(redis_server.url, decode_responses=True)
    yield client
    await client.aclose()


@pytest.fixture
async def start_node(redis_server: RedisServer, keys: DeliveryKeys) -> AsyncIterator[StartNode]:
    """Factory: an open delivery node; ``lost`` collects the pages it reports lost."""
    nodes: list[RedisDelivery] = []

    async def start(
        node_id: str,
        lost: Lost | None = None,
        changed: Changed | None = None,
        server: RedisServer = redis_server,
    ) -> RedisDelivery:
        node = RedisDelivery(
            server.url,
            node_timeout=TIMEOUT,
            clock=lambda: 1000.0,
            node_id=node_id,
            keys=keys,
            change_interval=CHANGE_INTERVAL,
        )
        await node.open((lost or Lost()).report, changed)
        nodes.append(node)
        return node

    yield start
    for node in nodes:
        await node.close()


async def crash(node: RedisDelivery) -> None:
    """Stop the node's heartbeat and channel as SIGKILL would: nothing is cleaned up."""
    for task in node._tasks:
        task.cancel()
    await asyncio.gather(*node._tasks, return_exceptions=True)
    node._tasks = []


async def stop_beating(node: RedisDelivery) -> None:
    """Only the heartbeat stops: the test decides when the node looks at Redis."""
    beats = [task for task in node._tasks if task.get_name().startswith("heartbeat")]
    assert len(beats) == 1
    await stop(beats[0])
    assert beats[0].cancelled()


async def test_a_message_reaches_a_page_on_another_node(start_node: StartNode) -> None:
    a, b = await start_node("a"), await start_node("b")
    page = Page()
    await b.open_page(ANA, page)
    assert await a.send(ANA, {"type": "queue.position", "position": 1}) is True
    await page.wait(lambda: len(page.texts) == 1)
    assert page.messages == [{"type": "queue.position", "position": 1}]
    assert a.page(ANA) is None and b.page(ANA) is page
    assert (len(a), len(b)) == (0, 1)


async def test_messages_from_one_node_arrive_in_the_order_sent(start_node: StartNode) -> None:
    a, b = await start_node("a"), await start_node("b")
    page = Page()
    await b.open_page(EVA, page)
    for number in range(200):
        await a.send(EVA, {"type": "signal.candidate", "n": number})
    await page.wait(lambda: len(page.texts) == 200)
    assert [message["n"] for message in page.messages] == list(range(200))


async def test_nobody_connected_anywhere_is_not_delivered(start_node: StartNode) -> None:
    a = await start_node("a")
    assert await a.send(ANA, {"type": "pong"}) is False


@pytest.mark.parametrize("notice_first", [True, False], ids=["notice-first", "page-first"])
async def test_a_newer_page_on_another_node_closes_the_older_one(
    start_node: StartNode, keys: DeliveryKeys, notice_first: bool
) -> None:
    a, b = await start_node("a"), await start_node("b")
    old, new = Page(), Page()
    await a.open_page(ANA, old)
    await b.open_page(ANA, new)
    if notice_first:
        await old.wait(lambda: old.closed is not None)
        assert old.closed == (CLOSE_REPLACED, "replaced by a newer page")
        assert a.page(ANA) is None
    # Whether the notice came first or the old page closed by itself first, its
    # handler finds it was replaced: the person is not gone, the new page stays.
    assert await a.close_page(ANA, old) is False
    assert await a.send(ANA, {"type": "pong"}) is True
    await new.wait(lambda: len(new.texts) == 1)
    redis = a.redis
    assert await redis.hgetall(keys.pages("a")) == {}
    assert await b.close_page(ANA, new) is True
    assert await redis.get(keys.page(ANA)) is None


async def test_a_newer_page_on_the_same_node_closes_the_older_one(start_node: StartNode) -> None:
    a = await start_node("a")
    old, new = Page(), Page()
    await a.open_page(ANA, old)
    await a.open_page(ANA, new)
    assert old.closed == (CLOSE_REPLACED, "replaced by a newer page")
    assert await a.close_page(ANA, old) is False
    assert await a.close_page(ANA, new) is True


async def test_a_logout_on_another_node_closes_the_page_its_login_opened(
    start_node: StartNode,
) -> None:
    a, b = await start_node("a"), await start_node("b")
    page = Page("s1")
    await b.open_page(ANA, page)
    # Another login of hers ended: this page stays. What a sends next comes after the
    # end on a's one publisher connection, so once it arrived the end was handled.
    assert await a.end_page(ANA, CLOSE_SESSION_ENDED, "session ended", session_id="s2") is True
    await a.send(ANA, {"type": "pong"})
    await page.wait(lambda: len(page.texts) == 1)
    assert page.closed is None

    assert await a.end_page(ANA, CLOSE_SESSION_ENDED, "session ended", session_id="s1") is True
    await page.wait(lambda: page.closed is not None)
    assert page.closed == (CLOSE_SESSION_ENDED, "session ended")
    # Not replaced: the page's own handler lets it go and reports its person away.
    assert b.page(ANA) is page
    assert await b.close_page(ANA, page) is True
    assert await a.end_page(ANA, CLOSE_SESSION_ENDED, "session ended") is False


async def test_a_page_ended_without_a_login_is_the_one_its_sender_saw(
    start_node: StartNode,
) -> None:
    a, b = await start_node("a"), await start_node("b")
    page = Page()
    await b.open_page(EVA, page)
    # An end naming no login (a supervisor's log-out from a node of an earlier version):
    # the person's live page closes, as ended.
    assert await a.end_page(EVA, CLOSE_SESSION_ENDED, "logged out by a supervisor") is True
    await page.wait(lambda: page.closed is not None)
    assert page.closed == (CLOSE_SESSION_ENDED, "logged out by a supervisor")
    assert await b.close_page(EVA, page) is True

    # An end that was sent for an older page of hers leaves the page that opened since.
    newer = Page()
    await b.open_page(EVA, newer)
    await b._deliver({"to": EVA, "end": "an-older-page", "code": CLOSE_SESSION_ENDED})
    assert newer.closed is None
    assert b.page(EVA) is newer


async def test_a_login_ended_where_its_page_is_being_replaced_closes_the_newer_one_too(
    start_node: StartNode,
) -> None:
    a, b = await start_node("a"), await start_node("b")
    old, new = Page("s1"), Page("s1")
    await a.open_page(EVA, old)
    # a has not yet heard that the same login opened a newer page on b.
    readers = [task for task in a._tasks if task.get_name().startswith("channel")]
    assert len(readers) == 1
    await stop(readers[0])
    await b.open_page(EVA, new)
    assert a.page(EVA) is old

    assert await a.end_page(EVA, CLOSE_SESSION_ENDED, "session ended", session_id="s1") is True
    assert old.closed == (CLOSE_SESSION_ENDED, "session ended")
    await new.wait(lambda: new.closed is not None)
    assert new.closed == (CLOSE_SESSION_ENDED, "session ended")


async def test_a_page_ended_on_its_own_node_closes_there(start_node: StartNode) -> None:
    a = await start_node("a")
    page = Page("s1")
    await a.open_page(ANA, page)
    assert await a.end_page(ANA, CLOSE_SESSION_ENDED, "session ended", session_id="s2") is False
    assert page.closed is None
    assert await a.end_page(ANA, CLOSE_SESSION_ENDED, "session ended", session_id="s1") is True
    assert page.closed == (CLOSE_SESSION_ENDED, "session ended")
    assert await a.close_page(ANA, page) is True


class Announcements:
    """When a node heard that another one changed the floor."""

    def __init__(self) -> None:
        self.heard: list[float] = []
        self.arrived = asyncio.Event()

    def __call__(self) -> None:
        self.heard.append(asyncio.get_running_loop().time())
        self.arrived.set()


async def test_a_change_is_announced_to_the_other_nodes_coalesced(start_node: StartNode) -> None:
    heard_a, heard_b = Announcements(), Announcements()
    a = await start_node("a", changed=heard_a)
    await start_node("b", changed=heard_b)
    loop = asyncio.get_running_loop()
    started = loop.time()
    a.announce_change()  # the first one goes at once
    async with asyncio.timeout(5):
        await heard_b.arrived.wait()
    assert heard_b.heard[0] - started < 1.0
    # A burst of a hundred changes over a second: a few announcements, one per interval.
    burst = loop.time()
    for _ in range(100):
        a.announce_change()
        await asyncio.sleep(0.01)
    burst = loop.time() - burst
    await asyncio.sleep(CHANGE_INTERVAL * 2)  # the last one, after the burst, arrives
    # Counted, not timed: arrival gaps on the receiving side shrink whenever a loaded
    # machine delays one announcement and not the next, so only the count tells the
    # sender's coalescing (a hundred changes, one announcement per interval at most).
    assert 4 <= len(heard_b.heard) <= 2 + burst / CHANGE_INTERVAL + 1
    assert heard_a.heard == []  # a node does not hear itself


async def test_broadcasts_find_pages_on_every_node(start_node: StartNode) -> None:
    a, b = await start_node("a"), await start_node("b")
    await a.open_page(EVA, Page())
    await b.open_page("executive:12.345.678-5", Page())
    await b.open_page(ANA, Page())
    expected = ["executive:11.111.111-1", "executive:12.345.678-5"]
    assert await a.everywhere("executive:") == expected
    assert await b.everywhere("executive:") == expected
    assert a.keys("executive:") == [EVA]


async def test_the_pages_of_a_dead_node_are_reported_lost_once(
    start_node: StartNode, keys: DeliveryKeys
) -> None:
    lost_a, lost_b = Lost(), Lost()
    a = await start_node("a", lost_a)
    b = await start_node("b", lost_b)
    c = await start_node("c")
    await c.open_page(ANA, Page())
    await c.open_page(EVA, Page())
    moved = Page()
    await crash(c)
    # The executive reconnects through node b before anyone notices c died.
    await b.open_page(EVA, moved)
    # Both living nodes' heartbeats reap; only one of them reports each lost page.
    async with asyncio.timeout(5):
        await asyncio.wait(
            [asyncio.create_task(lost.reported.wait()) for lost in (lost_a, lost_b)],
            return_when=asyncio.FIRST_COMPLETED,
        )
    await asyncio.sleep(TIMEOUT)
    assert (await a.reap(), await b.reap()) == ([], [])
    assert lost_a.keys + lost_b.keys == [ANA]
    redis = a.redis
    assert await redis.smembers(keys.nodes) == {"a", "b"}
    assert await redis.exists(keys.pages("c"), keys.page(ANA)) == 0
    assert await a.send(EVA, {"type": "pong"}) is True
    await moved.wait(lambda: len(moved.texts) == 1)


class Crossing(Lost):
    """The person's new page opens on ``node`` just before the report of the old one."""

    def __init__(self) -> None:
        super().__init__()
        self.node: RedisDelivery | None = None
        self.page = Page()

    async def report(self, user_key: str) -> None:
        if self.node is not None and self.node.page(user_key) is None:
            await self.node.open_page(user_key, self.page)
        await super().report(user_key)


async def test_a_person_back_while_reported_lost_is_asked_to_reconnect(
    start_node: StartNode,
) -> None:
    crossing = Crossing()
    await start_node("a", crossing)
    crossing.node = await start_node("b", crossing)
    c = await start_node("c")
    await c.open_page(ANA, Page())
    await crash(c)
    # The report marked her away after her new page's welcome marked her back:
    # whichever node reaped, the new page is closed so that it reconnects.
    page = crossing.page
    await page.wait(lambda: page.closed is not None)
    assert page.closed == (CLOSE_GOING_AWAY, "reconnect to resume")
    assert crossing.keys == [ANA]
    assert crossing.node.page(ANA) is None


async def test_a_message_for_a_page_on_a_dead_node_is_not_delivered(
    start_node: StartNode,
) -> None:
    a, c = await start_node("a"), await start_node("c")
    await c.open_page(ANA, Page())
    await crash(c)
    await c._pubsub.aclose()  # type: ignore[union-attr]
    assert await a.send(ANA, {"type": "pong"}) is False


async def test_a_node_taken_for_dead_closes_its_pages_when_it_beats_again(
    start_node: StartNode, keys: DeliveryKeys
) -> None:
    lost = Lost()
    a = await start_node("a", lost)
    c = await start_node("c")
    page = Page()
    await c.open_page(ANA, page)
    await crash(c)  # a stall as long as the timeout looks the same from outside
    async with asyncio.timeout(5):
        await lost.reported.wait()
    assert lost.keys == [ANA]
    await c.heartbeat()
    assert page.closed == (CLOSE_GOING_AWAY, "node rejoining the deployment")
    assert await a.redis.sismember(keys.nodes, "c") == 1


async def test_after_redis_restarts_empty_the_pages_stay_open_and_messages_flow_again(
    start_redis: StartRedis,
) -> None:
    server = start_redis()
    nodes = [
        RedisDelivery(server.url, node_timeout=TIMEOUT, clock=lambda: 1000.0, node_id=name)
        for name in ("a", "b")
    ]
    for node in nodes:
        await node.open(Lost().report)
    a, b = nodes
    try:
        page = Page()
        await a.open_page(ANA, page)
        assert await b.send(ANA, {"type": "ping"}) is True  # b's publisher is connected
        await page.wait(lambda: len(page.texts) == 1)
        server.restart_empty()
        # The next heartbeat finds the epoch changed: nobody took the node for dead and
        # nothing was reported, so its page is registered again and kept open (its
        # person's state comes back from the page's tickets, not from a reconnect).
        redis = Redis.from_url(server.url, decode_responses=True)
        try:
            for _attempt in range(100):
                if await redis.get(a.key.page(ANA)):
                    break
                await asyncio.sleep(0.05)
            assert str(await redis.get(a.key.page(ANA))).startswith("a ")
            assert await redis.hkeys(a.key.pages("a")) == [ANA]
            assert await redis.smembers(a.key.nodes) >= {"a"}
        finally:
            await redis.aclose()
        assert page.closed is None and a.page(ANA) is page
        assert await a.recover() is False  # done already, by the heartbeat
        # As the upkeep does before the floor is rebuilt, whether b's heartbeat did or not:
        # b's publisher is then on the new server, and its first message does not fail.
        await b.recover()
        # Pub/sub keeps nothing: what is published before a's reader has subscribed
        # again reaches nobody, and says so.
        for _attempt in range(100):
            if await b.send(ANA, {"type": "pong"}):
                break
            await asyncio.sleep(0.05)
        else:
            pytest.fail("node a's channel was not subscribed again within 5 s")
        await page.wait(lambda: len(page.texts) >= 2)
        assert page.messages[1] == {"type": "pong"}
        assert page.closed is None
        assert await a.close_page(ANA, page) is True
    finally:
        for node in nodes:
            await node.close()


async def test_the_upkeep_registers_the_pages_again_before_the_heartbeat_does(
    start_node: StartNode, redis: Redis, keys: DeliveryKeys
) -> None:
    a = await start_node("a")
    await stop_beating(a)
    page = Page()
    await a.open_page(ANA, page)
    # What an empty restart leaves, as the upkeep's tick may see it before a's heartbeat.
    await redis.delete(keys.epoch, keys.nodes, keys.page(ANA), keys.pages("a"), keys.alive("a"))
    assert await a.recover() is True
    value = str(await redis.get(keys.page(ANA)))
    assert value.startswith("a ") and await redis.hgetall(keys.pages("a")) == {ANA: value}
    assert await redis.sismember(keys.nodes, "a") == 1
    assert await a.recover() is False
    # The heartbeat after it finds the node registered, in this Redis life: nothing to do.
    await a.heartbeat()
    assert page.closed is None and await redis.get(keys.page(ANA)) == value
    assert await Hub().recover() is False


async def test_a_page_kept_through_an_empty_restart_yields_to_a_newer_one(
    start_node: StartNode, redis: Redis, keys: DeliveryKeys
) -> None:
    a, b = await start_node("a"), await start_node("b")
    await stop_beating(a)
    old = Page()
    await a.open_page(ANA, old)
    await redis.delete(keys.epoch, keys.page(ANA), keys.pages("a"))
    # Ana opened a new page on b before a noticed the restart: b's claim found nothing
    # to close, so a's old page learns it was replaced when a registers again.
    new = Page()
    await b.open_page(ANA, new)
    assert await a.recover() is True
    assert old.closed == (CLOSE_REPLACED, "replaced by a newer page")
    assert a.page(ANA) is None and await a.close_page(ANA, old) is False
    assert str(await redis.get(keys.page(ANA))).startswith("b ")
    assert await redis.hgetall(keys.pages("a")) == {}
    assert new.closed is None


async def test_a_quiet_publisher_outlives_redis_closing_idle_connections(
    start_redis: StartRedis, start_node: StartNode
) -> None:
    server = start_redis()
    # A deployment's Redis may close connections idle for `timeout` seconds (a firewall
    # may drop them too): nothing errs then, until the publisher's next message would.
    admin = Redis.from_url(server.url)
    try:
        await admin.config_set("timeout", 1)
        a, b = await start_node("a", server=server), await start_node("b", server=server)
        page = Page()
        await b.open_page(ANA, page)
        for sent in (1, 2):
            assert await a.send(ANA, {"type": "pong"}) is True
            await page.wait(lambda: len(page.texts) == sent)  # noqa: B023  # awaited here
            await asyncio.sleep(3.0)  # a sends nothing meanwhile; its heartbeat beats
        # The idle limit was at work: the connection of this client, as quiet, is gone.
        with pytest.raises(RedisConnectionError, match="Connection closed by server"):
            await admin.ping()
    finally:
        await admin.aclose()


async def test_a_node_that_leaves_cleanly_leaves_nothing_behind(
    redis: Redis, redis_prefix: str, start_node: StartNode, keys: DeliveryKeys
) -> None:
    a = await start_node("a")
    page = Page()
    await a.open_page(ANA, page)
    assert await a.close_page(ANA, page) is True
    await a.close()
    # The epoch is the Redis life's, shared by every node and the live store.
    assert await redis.keys(f"{redis_prefix}*") == [keys.epoch]


async def test_the_heartbeat_keeps_the_records_alive(
    start_node: StartNode, keys: DeliveryKeys
) -> None:
    a = await start_node("a")
    await a.open_page(ANA, Page())
    await asyncio.sleep(TIMEOUT * 2)
    redis = a.redis
    assert await redis.exists(keys.alive("a"), keys.page(ANA)) == 2
    assert 0 < await redis.pttl(keys.alive("a")) <= TIMEOUT * 1000
    assert 0 < await redis.ttl(keys.pages("a")) <= PAGES_TTL_SECONDS


async def test_claim_page_script(redis: Redis, keys: DeliveryKeys) -> None:
    claim = redis.register_script(load_script("claim_page"))
    slots = [keys.page(ANA), keys.pages("b")]
    assert await claim(keys=slots, args=["a p1", ANA, 5000, 60]) is None
    assert await claim(keys=slots, args=["b p2", ANA, 5000, 60]) == "a p1"
    assert await redis.get(keys.page(ANA)) == "b p2"
    assert 0 < await redis.pttl(keys.page(ANA)) <= 5000
    assert await redis.hgetall(keys.pages("b")) == {ANA: "b p2"}
    assert 0 < await redis.ttl(keys.pages("b")) <= 60


async def test_release_page_script(redis: Redis, keys: DeliveryKeys) -> None:
    release = redis.register_script(load_script("release_page"))
    await redis.set(keys.page(ANA), "b p2")
    await redis.hset(keys.pages("a"), ANA, "a p1")
    # The page on a was replaced by one on b: a forgets its own row only.
    assert await release(keys=[keys.page(ANA), keys.pages("a")], args=["a p1", ANA]) == 0
    assert await redis.get(keys.page(ANA)) == "b p2"
    assert await redis.hgetall(keys.pages("a")) == {}
    await redis.hset(keys.pages("b"), ANA, "b p2")
    assert await release(keys=[keys.page(ANA), keys.pages("b")], args=["b p2", ANA]) == 1
    assert await redis.exists(keys.page(ANA), keys.pages("b")) == 0


async def test_rejoin_page_script(redis: Redis, keys: DeliveryKeys) -> None:
    rejoin = redis.register_script(load_script("rejoin_page"))
    slots = [keys.page(ANA), keys.pages("a")]
    # Nothing there (Redis restarted empty): the page is the person's live page again.
    assert await rejoin(keys=slots, args=["a p1", ANA, 5000, 60]) is None
    assert await redis.get(keys.page(ANA)) == "a p1"
    assert 0 < await redis.pttl(keys.page(ANA)) <= 5000
    assert await redis.hgetall(keys.pages("a")) == {ANA: "a p1"}
    assert 0 < await redis.ttl(keys.pages("a")) <= 60
    # Its own record already there (the page opened after the restart): kept as it is.
    assert await rejoin(keys=slots, args=["a p1", ANA, 9000, 60]) is None
    # A newer page elsewhere: left alone, and named.
    await redis.set(keys.page(ANA), "b p2")
    await redis.delete(keys.pages("a"))
    assert await rejoin(keys=slots, args=["a p1", ANA, 5000, 60]) == "b p2"
    assert await redis.get(keys.page(ANA)) == "b p2"
    assert await redis.exists(keys.pages("a")) == 0


async def test_forward_script(redis: Redis, keys: DeliveryKeys) -> None:
    forward = redis.register_script(load_script("forward"))
    listener = redis.pubsub(ignore_subscribe_messages=True)
    await listener.subscribe(keys.channel("b"))
    slots = [keys.page(ANA)]
    # Nobody holds the page: nothing published.
    assert await forward(keys=slots, args=["a", keys.channels, "one"]) == 0
    # The page is on this very node (it is going): nothing published either.
    await redis.set(keys.page(ANA), "a p1")
    assert await forward(keys=slots, args=["a", keys.channels, "two"]) == 0
    await redis.set(keys.page(ANA), "b p2")
    assert await forward(keys=slots, args=["a", keys.channels, "three"]) == 1
    async with asyncio.timeout(5):
        while (message := await listener.get_message(timeout=1.0)) is None:
            pass
    assert (message["channel"], message["data"]) == (keys.channel("b"), "three")
    assert await listener.get_message(timeout=0.2) is None
    await listener.aclose()  # type: ignore[no-untyped-call]  # untyped in redis-py


def test_the_factory_picks_redis_delivery_with_redis_live_state(redis_server: RedisServer) -> None:
    settings = load_settings(
        {},
        stores_live=redis_server.url,
        stores_node_timeout_seconds=3,
        stores_live_prefix="{other}:",
    )
    delivery = open_delivery(settings)
    assert isinstance(delivery, RedisDelivery)
    assert delivery.key.nodes == "{other}:nodes"
    assert (delivery.url, delivery.node_timeout, delivery.heartbeat_interval) == (
        redis_server.url,
        3.0,
        0.75,
    )
    assert isinstance(open_delivery(load_settings({})), Hub)


async def test_a_closed_node_sends_nothing_to_other_nodes_and_connects_no_more(
    redis: Redis, start_node: StartNode
) -> None:
    a, b = await start_node("a"), await start_node("b")
    page = Page()
    await b.open_page(ANA, page)
    await a.close()
    connected = len(await redis.client_list())
    # A push that outlived its node's close (the node is stopping) is dropped.
    assert await a.send(ANA, {"type": "queue.position", "position": 1}) is False
    assert len(await redis.client_list()) == connected
    await asyncio.sleep(0.05)
    assert page.texts == []
