"""A script on a connection of its own: answers as redis-py's would, through restarts and cancels."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
from redis.asyncio import Redis
from redis.exceptions import ResponseError

from branch.live.script_connection import ScriptConnection
from branch.redis_packing import packed
from tests.servers.redis import RedisServer, StartRedis

ECHO = "return {KEYS[1], ARGV[1], #ARGV}"
# Busy for ARGV[1] ms inside Redis, then answers ARGV[2].
SLOW = """local t = redis.call('TIME')
local start = t[1] * 1000000 + t[2]
repeat
  t = redis.call('TIME')
until t[1] * 1000000 + t[2] - start >= tonumber(ARGV[1]) * 1000
return ARGV[2]"""


def live_client(url: str) -> Redis:
    """A client as the live store makes it (decoded replies, hiredis packer)."""
    client = Redis.from_url(url, decode_responses=True, socket_connect_timeout=5)
    pool = client.connection_pool
    pool.connection_class = packed(pool.connection_class)
    return client


@pytest.fixture
async def opened(redis_server: RedisServer) -> AsyncIterator[Redis]:
    client = live_client(redis_server.url)
    yield client
    await client.aclose()


async def test_answers_as_the_client_s_own_script_call(opened: Redis) -> None:
    call = ScriptConnection(opened, ECHO)
    assert await call(keys=["k"], args=["é", 2.5]) == ["k", "é", 2]
    assert await call(keys=["k"], args=["a"]) == await opened.register_script(ECHO)(
        keys=["k"], args=["a"]
    )
    failing = ScriptConnection(opened, "return redis.error_reply('step: no')")
    with pytest.raises(ResponseError) as raised:
        await failing(keys=[], args=[])
    assert str(raised.value) == "step: no"
    assert await call(keys=["k"], args=["z"]) == ["k", "z", 1], "an error leaves it usable"
    await call.close()
    await failing.close()


async def test_loads_the_script_again_when_redis_forgot_it(opened: Redis) -> None:
    call = ScriptConnection(opened, ECHO)
    assert await call(keys=["k"], args=["x"]) == ["k", "x", 1]
    await opened.script_flush()
    assert await call(keys=["k"], args=["y"]) == ["k", "y", 1]
    await call.close()


async def test_a_redis_restarted_is_reconnected_to(start_redis: StartRedis) -> None:
    server = start_redis()
    client = live_client(server.url)
    call = ScriptConnection(client, ECHO)
    assert await call(keys=["k"], args=["x"]) == ["k", "x", 1]
    server.stop()
    server.start()  # the same port, empty: no connection, no script
    assert await call(keys=["k"], args=["y"]) == ["k", "y", 1]
    await call.close()
    await client.aclose()


async def test_a_cancelled_call_leaves_no_reply_for_the_next(opened: Redis) -> None:
    call = ScriptConnection(opened, SLOW)
    waiting = asyncio.create_task(call(keys=[], args=[80, "late"]))
    await asyncio.sleep(0.03)  # written, its reply not yet there
    waiting.cancel()
    with pytest.raises(asyncio.CancelledError):
        await waiting
    assert await call(keys=[], args=[0, "mine"]) == "mine"
    await call.close()


async def test_overlapping_calls_each_get_their_own_reply(opened: Redis) -> None:
    call = ScriptConnection(opened, ECHO)
    replies = await asyncio.gather(*(call(keys=[f"k{n}"], args=[n]) for n in range(20)))
    assert replies == [[f"k{n}", str(n), 1] for n in range(20)]
    await call.close()
