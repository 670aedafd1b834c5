"""A Redis link takes one call at a time and says so when asked for two."""

from __future__ import annotations

import asyncio

import pytest
from redis.asyncio import Redis

from branch.redis_link import RedisLink
from branch.redis_packing import pack
from tests.servers.redis import RedisServer


async def test_a_second_call_while_one_waits_is_refused(redis_server: RedisServer) -> None:
    client = Redis.from_url(redis_server.url, decode_responses=True)
    link = await RedisLink.open(client.connection_pool.make_connection())  # type: ignore[no-untyped-call]  # untyped in redis-py
    first = asyncio.create_task(link.ask(pack("PING")))
    await asyncio.sleep(0)  # written, waiting for its reply
    with pytest.raises(RuntimeError) as raised:
        await link.ask(pack("PING"))
    assert str(raised.value) == (
        f"a call to 127.0.0.1:{redis_server.port} is still waiting for its reply"
    )
    assert await first == "PONG"
    assert await link.ask(pack("ECHO", "next")) == "next"
    await link.aclose()
    assert link.closed
    await client.aclose()
