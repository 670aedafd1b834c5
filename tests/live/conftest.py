"""Live stores for the contract suite: every scenario runs on memory and on a real Redis."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable

import pytest
from redis.asyncio import Redis

from branch.core.floor import FloorRules
from branch.live.base import LiveStore
from branch.live.factory import open_live_store
from branch.live.follow import parse
from branch.live.redisstore import RedisLiveStore
from tests.servers.redis import RedisServer

OpenLive = Callable[..., Awaitable[LiveStore]]
OpenNodes = Callable[[int], Awaitable[list[RedisLiveStore]]]


@pytest.fixture(params=["memory", "redis"])
async def open_live(
    request: pytest.FixtureRequest, redis_server: RedisServer, redis_prefix: str
) -> AsyncIterator[OpenLive]:
    """Factory: a store of the parametrized kind; Redis ones of one test share one floor."""
    opened: list[LiveStore] = []

    async def make(rules: FloorRules | None = None) -> LiveStore:
        url = "memory://" if request.param == "memory" else redis_server.url
        store = open_live_store(url, rules or FloorRules(), redis_prefix)
        await store.open()
        opened.append(store)
        return store

    yield make
    for store in opened:
        await store.close()


@pytest.fixture
async def open_nodes(redis_server: RedisServer, redis_prefix: str) -> AsyncIterator[OpenNodes]:
    """Factory: that many Redis live stores on one floor, each with its own connection as
    separate nodes have."""
    opened: list[RedisLiveStore] = []

    async def make(count: int) -> list[RedisLiveStore]:
        nodes = [RedisLiveStore(redis_server.url, FloorRules(), redis_prefix) for _ in range(count)]
        for node in nodes:
            await node.open()
            opened.append(node)
        return nodes

    yield make
    for node in opened:
        await node.close()


@pytest.fixture
async def client(redis_server: RedisServer) -> AsyncIterator[Redis]:
    """A plain client on the test's redis-server, for the scripts' own tests."""
    redis = Redis.from_url(redis_server.url, decode_responses=True)
    yield redis
    await redis.aclose()


def deaf(node: RedisLiveStore, monkeypatch: pytest.MonkeyPatch, *versions: int) -> None:
    """The node misses the announcements of those commits, or of every one from now on."""
    told = node._feed.told

    def missed(text: str) -> None:
        if versions and parse(text).version not in versions:
            told(text)

    monkeypatch.setattr(node._feed, "told", missed)


def hearing(node: RedisLiveStore, monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """The versions of the announcements the node handles from now on, in order."""
    heard: list[int] = []
    told = node._feed.told

    def noted(text: str) -> None:
        told(text)
        with contextlib.suppress(ValueError):  # what is no announcement is not one heard
            heard.append(parse(text).version)

    monkeypatch.setattr(node._feed, "told", noted)
    return heard


async def heard_up_to(version: int, *heard: list[int]) -> None:
    """Until each list of announcements reaches ``version`` (a commit reaches every node)."""
    for _attempt in range(2000):
        if all(version in versions or version == 0 for versions in heard):
            return
        await asyncio.sleep(0.005)
    raise AssertionError(f"announcement of version {version} not heard: {heard}")
