"""Live stores for the contract suite: every scenario runs on memory and on a real Redis."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable

import pytest
from redis.asyncio import Redis

from branch.core.floor import FloorRules
from branch.live.base import LiveStore
from branch.live.factory import open_live_store
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
