"""The commit script on a real Redis: version check, every change applied, keys only from KEYS."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from importlib import resources

import pytest
from redis.asyncio import Redis
from redis.exceptions import ResponseError

from tests.servers.redis import RedisServer

SCRIPT = resources.files("branch.live").joinpath("lua/commit.lua").read_text("utf-8")


@pytest.fixture
async def client(redis_server: RedisServer) -> AsyncIterator[Redis]:
    redis = Redis.from_url(redis_server.url, decode_responses=True)
    yield redis
    await redis.aclose()


def keys(prefix: str) -> list[str]:
    return [f"{prefix}{name}" for name in ("version", "hash", "zset", "set", "string")]


async def test_applies_every_change_and_bumps_the_version(client: Redis, redis_prefix: str) -> None:
    version, hash_, zset, set_, string = keys(redis_prefix)
    await client.hset(hash_, "gone", "x")
    await client.zadd(zset, {"old": 1.0})
    await client.sadd(set_, "drop")
    commit = client.register_script(SCRIPT)
    result = await commit(
        keys=[version, hash_, zset, set_, string],
        args=[
            *(0, "hset", 2, "a", "1", "hdel", 2, "gone", "zadd", 3, 1795525200.125, "c1"),
            *("zrem", 3, "old", "sadd", 4, "svc", "srem", 4, "drop", "set", 5, "cursor"),
        ],
    )
    assert result == 1
    assert await client.hgetall(hash_) == {"a": "1"}
    assert await client.zrange(zset, 0, -1, withscores=True) == [("c1", 1795525200.125)]
    assert await client.smembers(set_) == {"svc"}
    assert await client.get(string) == "cursor"
    assert await client.get(version) == "1"
    assert await commit(keys=[version, string], args=[1, "del", 2]) == 2
    assert await client.exists(string) == 0


async def test_a_moved_version_writes_nothing(client: Redis, redis_prefix: str) -> None:
    version, hash_, *_ = keys(redis_prefix)
    await client.set(version, 7)
    commit = client.register_script(SCRIPT)
    assert await commit(keys=[version, hash_], args=[6, "hset", 2, "a", "1"]) == -1
    assert await commit(keys=[version, hash_], args=[0, "hset", 2, "a", "1"]) == -1
    assert await client.exists(hash_) == 0
    assert await client.get(version) == "7"


async def test_tidy_drops_a_service_only_when_its_line_is_empty(
    client: Redis, redis_prefix: str
) -> None:
    version, _hash, zset, set_, _string = keys(redis_prefix)
    await client.sadd(set_, "general")
    await client.zadd(zset, {"c1": 1.0, "c2": 2.0})
    commit = client.register_script(SCRIPT)
    await commit(keys=[version, set_, zset], args=[0, "zrem", 3, "c1", "tidy", 2, "general", 3])
    assert await client.smembers(set_) == {"general"}
    await commit(keys=[version, set_, zset], args=[1, "zrem", 3, "c2", "tidy", 2, "general", 3])
    assert await client.smembers(set_) == set()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["x"], "commit: ARGV[1] is not a version: x"),
        ([0, "eval", 2, "a"], "commit: unknown change eval at ARGV[2]"),
        ([0, "hset", 2, "a"], "commit: change hset at ARGV[2] is cut short"),
        ([0, "hset", 3, "a", "1"], "commit: change hset at ARGV[2] names no key in KEYS"),
        ([0, "hset", 1, "a", "1"], "commit: change hset at ARGV[2] names no key in KEYS"),
        (
            [0, "hset", 2, "a", "1", "zadd", 2, "soon", "m"],
            "commit: zadd at ARGV[6] has no numeric score",
        ),
    ],
)
async def test_a_malformed_change_list_writes_nothing(
    client: Redis, redis_prefix: str, args: list[str | int], message: str
) -> None:
    version, hash_, *_ = keys(redis_prefix)
    commit = client.register_script(SCRIPT)
    with pytest.raises(ResponseError) as raised:
        await commit(keys=[version, hash_], args=args)
    assert str(raised.value) == message
    assert await client.exists(hash_, version) == 0


def test_every_key_comes_from_keys() -> None:
    """Cluster-ready: each Redis call names KEYS[1] or a key looked up in KEYS by index."""
    targets = re.findall(r"redis\.call\('\w+', (.+?)(?:, ARGV|\)$|\) or|\) ==)", SCRIPT, re.M)
    assert len(targets) == SCRIPT.count("redis.call(") == 12
    assert set(targets) == {"KEYS[1]", "key", "key_at(ARGV[i + 3])"}
    assert "return KEYS[index]" in SCRIPT


async def test_touches_no_key_outside_keys(client: Redis, redis_prefix: str) -> None:
    version, hash_, zset, set_, string = keys(redis_prefix)
    commit = client.register_script(SCRIPT)
    await commit(
        keys=[version, hash_, zset, set_, string],
        args=[
            *(0, "hset", 2, "a", "1", "zadd", 3, 1, "m", "sadd", 4, "s", "set", 5, "v"),
            *("zrem", 3, "m", "tidy", 4, "s", 3),
        ],
    )
    written = {key async for key in client.scan_iter(match=f"{redis_prefix}*")}
    assert written == {version, hash_, string}
