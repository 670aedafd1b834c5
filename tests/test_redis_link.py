"""A Redis link takes one call at a time and says so when asked for two."""

from __future__ import annotations

import asyncio

import pytest
from redis.asyncio import Redis
from redis.exceptions import AuthenticationError, ConnectionError, NoScriptError, ResponseError

from branch.redis_link import RedisLink, redis_error
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


@pytest.mark.parametrize(
    ("text", "error_class", "message"),
    [
        ("NOSCRIPT No matching script.", NoScriptError, "No matching script."),
        ("WRONGPASS invalid username-password pair", AuthenticationError, "invalid username-password pair"),
        ("NOAUTH Authentication required.", AuthenticationError, "Authentication required."),
        ("ERR invalid password", AuthenticationError, "invalid password"),
        ("ERR max number of clients reached", ConnectionError, "max number of clients reached"),
        ("ERR Error running script (call to f_1): boom", ResponseError, "Error running script (call to f_1): boom"),
        ("BUSY Redis is busy running a script.", ResponseError, "BUSY Redis is busy running a script."),
    ],
)  # fmt: skip
def test_error_replies_are_redis_pys_exceptions(
    text: str, error_class: type[Exception], message: str
) -> None:
    error = redis_error(text)
    assert type(error) is error_class
    assert str(error) == message


async def test_an_error_reply_fails_only_its_call(redis_server: RedisServer) -> None:
    client = Redis.from_url(redis_server.url, decode_responses=True)
    link = await RedisLink.open(client.connection_pool.make_connection())  # type: ignore[no-untyped-call]  # untyped in redis-py
    with pytest.raises(NoScriptError):
        await link.ask(pack("EVALSHA", "0" * 40, 0))
    assert await link.ask(pack("PING")) == "PONG"
    await link.aclose()
    await client.aclose()
