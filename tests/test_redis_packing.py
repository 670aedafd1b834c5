"""hiredis's packer writes the very bytes redis-py's would, and refuses what redis-py refuses."""

from __future__ import annotations

import random
import struct
from typing import Any

import pytest
from redis.asyncio.connection import (
    Connection,
    SSLConnection,
    UnixDomainSocketConnection,
)
from redis.exceptions import DataError

from branch.core.floor import FloorRules, Waiting
from branch.live.redisstore import RedisLiveStore
from branch.redis_packing import (
    PackedConnection,
    PackedSSLConnection,
    PackedUnixConnection,
    pack,
    packed,
)
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


async def test_the_live_store_sends_through_the_packer(
    redis_server: RedisServer, redis_prefix: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    sent: list[tuple[Any, ...]] = []

    def counted(*args: Any) -> list[bytes]:
        sent.append(args)
        return pack(*args)

    monkeypatch.setattr("branch.redis_packing.pack", counted)
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
