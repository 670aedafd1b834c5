"""hiredis's packer writes the very bytes redis-py's would, and refuses what redis-py refuses."""

from __future__ import annotations

import random
import struct
from typing import Any

import pytest
from redis.asyncio import Redis
from redis.asyncio.connection import (
    Connection,
    SSLConnection,
    UnixDomainSocketConnection,
)
from redis.exceptions import DataError

from branch.auth.identity import Role
from branch.auth.sessions import Session
from branch.core.floor import FloorRules, Waiting
from branch.delivery.keys import DeliveryKeys
from branch.delivery.pubsub import RedisDelivery
from branch.live.redis_sessions import RedisSessionStore
from branch.live.redisstore import RedisLiveStore
from branch.redis_packing import (
    PackedConnection,
    PackedSSLConnection,
    PackedUnixConnection,
    pack,
    packed,
    packing,
)
from tests.delivery.test_pubsub import Page
from tests.live.test_sessions import PERSON
from tests.servers.redis import RedisServer


def redis_py(*args: Any) -> bytes:
    return b"".join(bytes(chunk) for chunk in Connection().pack_command(*args))


def random_floats(count: int) -> list[float]:
    rng = random.Random(8)
    found = [struct.unpack("d", struct.pack("Q", rng.getrandbits(64)))[0] for _ in range(count)]
    return [value for value in found if value == value]  # NaN is no score anyone writes


@pytest.mark.parametrize(
    "args",
    [
        ("EVALSHA", "a" * 40, 2, "{branch}:version", "{branch}:epoch", 0, "e1"),
        ("HSET", "k", "ñandú", '{"name":"José Ñuñoa"}'),
        ("ZADD", "k", 1795525200.123456, "c-1", 0.1, "c-2", -0.0, "c-3", 1e22, "c-4"),
        ("SET", "k", 2**70, -3, float("inf"), 5e-324, 1.7976931348623157e308),
        ("SET", b"k", b"\x00\xff", bytearray(b"ab"), memoryview(b"cd")),
        ("CONFIG GET", "maxmemory"),
        (b"CONFIG GET", "maxmemory"),
        ("ZADD", "k", *random_floats(2000)),
        ("SET", "k", "x" * 100_000),  # past redis-py's buffer cutoff, where it sends chunks
    ],
)
def test_the_bytes_are_redis_pys(args: tuple[Any, ...]) -> None:
    assert b"".join(pack(*args)) == redis_py(*args)


@pytest.mark.parametrize("bad", [None, True])
def test_what_redis_py_refuses_is_refused(bad: object) -> None:
    with pytest.raises(DataError) as raised:
        pack("SET", "k", bad)
    assert str(raised.value) == (
        f"Redis cannot take {bad!r} (argument 2 of SET): send bytes, a string, an int or a float"
    )
    with pytest.raises(DataError):
        redis_py("SET", "k", bad)


@pytest.mark.parametrize(
    ("chosen", "used"),
    [
        (Connection, PackedConnection),
        (SSLConnection, PackedSSLConnection),
        (UnixDomainSocketConnection, PackedUnixConnection),
        (PackedConnection, PackedConnection),
    ],
)
def test_each_kind_of_connection_packs_with_hiredis(chosen: type, used: type) -> None:
    assert packed(chosen) is used
    assert issubclass(used, chosen)


@pytest.fixture
def sent(monkeypatch: pytest.MonkeyPatch) -> list[tuple[Any, ...]]:
    """Every command packed through hiredis from now on."""
    commands: list[tuple[Any, ...]] = []

    def counted(*args: Any) -> list[bytes]:
        commands.append(args)
        return pack(*args)

    monkeypatch.setattr("branch.redis_packing.pack", counted)
    return commands


async def test_the_live_store_sends_through_the_packer(
    redis_server: RedisServer, redis_prefix: str, sent: list[tuple[Any, ...]]
) -> None:
    store = RedisLiveStore(redis_server.url, FloorRules(), redis_prefix)
    await store.open()
    try:
        assert store.redis.connection_pool.connection_class is PackedConnection
        entry = Waiting("c-ana", "ana", "Ana", "general", "r", "", "F", 1795525200.5)
        await store.join(entry, 1795525200.5)
        assert await store.waiting("general") == [entry]
    finally:
        await store.close()
    assert any(args[0] == "EVALSHA" for args in sent)


@pytest.mark.parametrize(
    ("url", "used"),
    [
        ("redis://127.0.0.1:1/0", PackedConnection),
        ("rediss://127.0.0.1:1/0", PackedSSLConnection),
        ("unix:///tmp/nowhere.sock", PackedUnixConnection),
    ],
)
async def test_a_client_packs_with_hiredis_on_the_connection_its_url_chose(
    url: str, used: type
) -> None:
    client = packing(Redis.from_url(url))
    try:
        assert client.connection_pool.connection_class is used
    finally:
        await client.aclose()


async def test_the_delivery_sends_and_listens_through_the_packer(
    redis_server: RedisServer, redis_prefix: str, sent: list[tuple[Any, ...]]
) -> None:
    async def nobody_lost(user_key: str) -> None:
        raise AssertionError(f"{user_key} reported lost")

    first, second = (
        RedisDelivery(
            redis_server.url,
            node_timeout=10.0,
            clock=lambda: 1000.0,
            node_id=node_id,
            keys=DeliveryKeys(redis_prefix),
        )
        for node_id in ("a", "b")
    )
    await first.open(nobody_lost)
    await second.open(nobody_lost)
    try:
        for client in (first._redis, first._publisher, first._listener):
            assert client is not None
            assert client.connection_pool.connection_class is PackedConnection
        page = Page()
        await second.open_page("citizen:44.444.444-4", page)
        # A page on the other node: found, published, read off the channel, delivered.
        assert await first.send("citizen:44.444.444-4", {"type": "pong"}) is True
        await page.wait(lambda: len(page.texts) == 1)
        assert page.texts == ['{"type":"pong"}']
        assert await first.end_page("citizen:44.444.444-4", 4440, "session ended") is True
        await page.wait(lambda: page.closed is not None)
    finally:
        await first.close()
        await second.close()
    commands = {args[0] for args in sent}
    assert {"SUBSCRIBE", "EVALSHA", "PUBLISH", "PING", "SADD"} <= commands


async def test_the_session_store_sends_through_the_packer(
    redis_server: RedisServer, redis_prefix: str, sent: list[tuple[Any, ...]]
) -> None:
    store = RedisSessionStore(redis_server.url, redis_prefix)
    try:
        assert store.redis.connection_pool.connection_class is PackedConnection
        session = Session("s-packed", PERSON, Role.CITIZEN, 100.0, 1100.0)
        await store.put_session(session)
        assert await store.get_session("s-packed", 200.0) == session
    finally:
        await store.close()
    assert {"EVALSHA", "MGET"} <= {args[0] for args in sent}
