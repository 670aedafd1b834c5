"""The commit script on a real Redis: version check, every change applied, keys only from KEYS."""

from __future__ import annotations

import re

import pytest
from redis.asyncio import Redis
from redis.exceptions import ResponseError

from branch.live.scripts import COMMIT_SCRIPT as SCRIPT


def keys(prefix: str) -> list[str]:
    """version, epoch, this commit's token, then the keys the changes name (from 4 on)."""
    names = ("version", "epoch", "commit:t1", "hash", "zset", "set", "string")
    return [f"{prefix}{name}" for name in names]


def read(version: int | str, epoch: str = "e1") -> list[str | int]:
    """ARGV[1..3]: the version and epoch the step read, how long the token is kept."""
    return [version, epoch, 60]


@pytest.fixture(autouse=True)
async def epoch(client: Redis, redis_prefix: str) -> None:
    await client.set(f"{redis_prefix}epoch", "e1")


async def test_applies_every_change_and_bumps_the_version(client: Redis, redis_prefix: str) -> None:
    version, epoch, token, hash_, zset, set_, string = keys(redis_prefix)
    await client.hset(hash_, "gone", "x")
    await client.zadd(zset, {"old": 1.0})
    await client.sadd(set_, "drop")
    commit = client.register_script(SCRIPT)
    result = await commit(
        keys=[version, epoch, token, hash_, zset, set_, string],
        args=[
            *read(0),
            *("hset", 4, "a", "1", "hdel", 4, "gone", "zadd", 5, 1795525200.125, "c1"),
            *("zrem", 5, "old", "sadd", 6, "svc", "srem", 6, "drop", "set", 7, "cursor"),
        ],
    )
    assert result == 1
    assert await client.hgetall(hash_) == {"a": "1"}
    assert await client.zrange(zset, 0, -1, withscores=True) == [("c1", 1795525200.125)]
    assert await client.smembers(set_) == {"svc"}
    assert await client.get(string) == "cursor"
    assert await client.get(version) == "1"
    other = f"{redis_prefix}commit:t2"
    assert await commit(keys=[version, epoch, other, string], args=[*read(1), "del", 4]) == 2
    assert await client.exists(string) == 0


async def test_a_repeated_commit_answers_as_the_first_time_and_writes_nothing(
    client: Redis, redis_prefix: str
) -> None:
    version, epoch, token, hash_, *_ = keys(redis_prefix)
    commit = client.register_script(SCRIPT)
    ks, args = [version, epoch, token, hash_], [*read(0), "hset", 4, "a", "1"]
    assert await commit(keys=ks, args=args) == 1
    await client.hdel(hash_, "a")
    assert await commit(keys=ks, args=args) == 1
    assert await client.exists(hash_) == 0
    assert await client.get(version) == "1"
    assert await client.get(token) == "1"
    assert 0 < await client.ttl(token) <= 60


async def test_a_moved_version_writes_nothing(client: Redis, redis_prefix: str) -> None:
    version, epoch, token, hash_, *_ = keys(redis_prefix)
    await client.set(version, 7)
    commit = client.register_script(SCRIPT)
    for moved in (6, 0):
        ks, args = [version, epoch, token, hash_], [*read(moved), "hset", 4, "a", "1"]
        assert await commit(keys=ks, args=args) == -1
    assert await client.exists(hash_, token) == 0
    assert await client.get(version) == "7"


@pytest.mark.parametrize("now", ["e2", None])
async def test_another_epoch_writes_nothing_even_at_the_version_read(
    client: Redis, redis_prefix: str, now: str | None
) -> None:
    """Redis restarted empty (and maybe got a new epoch) and counted back to the version read."""
    version, epoch, token, hash_, *_ = keys(redis_prefix)
    await client.set(version, 3)
    await (client.set(epoch, now) if now else client.delete(epoch))
    commit = client.register_script(SCRIPT)
    ks, args = [version, epoch, token, hash_], [*read(3), "hset", 4, "a", "1"]
    assert await commit(keys=ks, args=args) == -1
    assert await client.exists(hash_, token) == 0
    assert await client.get(version) == "3"


async def test_tidy_drops_a_service_only_when_its_line_is_empty(
    client: Redis, redis_prefix: str
) -> None:
    version, epoch, _token, _hash, zset, set_, _string = keys(redis_prefix)
    await client.sadd(set_, "general")
    await client.zadd(zset, {"c1": 1.0, "c2": 2.0})
    commit = client.register_script(SCRIPT)
    for n, member in enumerate(["c1", "c2"]):
        token = f"{redis_prefix}commit:{member}"
        await commit(
            keys=[version, epoch, token, set_, zset],
            args=[*read(n), "zrem", 5, member, "tidy", 4, "general", 5],
        )
        assert await client.smembers(set_) == ({"general"} if member == "c1" else set())


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["x", "e1", 60], "commit: ARGV[1] is not a version: x"),
        ([0, "e1", "soon"], "commit: ARGV[3] is not a number of seconds: soon"),
        ([0, "e1", 0], "commit: ARGV[3] is not a number of seconds: 0"),
        ([*read(0), "eval", 4, "a"], "commit: unknown change eval at ARGV[4]"),
        ([*read(0), "hset", 4, "a"], "commit: change hset at ARGV[4] is cut short"),
        ([*read(0), "hset", 5, "a", "1"], "commit: change hset at ARGV[4] names no key in KEYS"),
        ([*read(0), "hset", 3, "a", "1"], "commit: change hset at ARGV[4] names no key in KEYS"),
        ([*read(0), "hset", 1, "a", "1"], "commit: change hset at ARGV[4] names no key in KEYS"),
        (
            [*read(0), "hset", 4, "a", "1", "zadd", 4, "soon", "m"],
            "commit: zadd at ARGV[8] has no numeric score",
        ),
        ([*read(0), "zadd", 9, "soon", "m"], "commit: change zadd at ARGV[4] names no key in KEYS"),
        ([*read(0), "tidy", 4, "s", 5], "commit: change tidy at ARGV[4] names no key in KEYS"),
        ([*read(0), "tidy", 4, "s", 2], "commit: change tidy at ARGV[4] names no key in KEYS"),
        ([*read(0), "tidy", 4, "s", "x"], "commit: change tidy at ARGV[4] names no key in KEYS"),
        ([*read(0), "tidy", 4.5, "s", 4], "commit: change tidy at ARGV[4] names no key in KEYS"),
    ],
)
async def test_a_malformed_change_list_writes_nothing(
    client: Redis, redis_prefix: str, args: list[str | int], message: str
) -> None:
    version, epoch, token, hash_, *_ = keys(redis_prefix)
    commit = client.register_script(SCRIPT)
    with pytest.raises(ResponseError) as raised:
        await commit(keys=[version, epoch, token, hash_], args=args)
    assert str(raised.value) == message
    assert await client.exists(hash_, version, token) == 0


def test_every_key_comes_from_keys() -> None:
    """Cluster-ready: each Redis call names KEYS[1..3] or a key looked up in KEYS by index."""
    calls = re.findall(
        r"redis\.call\('(\w+)', (.+?)(?:, ARGV|, version|\)+$|\) or|\) ==)", SCRIPT, re.M
    )
    assert len(calls) == SCRIPT.count("redis.call(") == 13
    # MGET names several keys; every other call one.
    targets = {key for name, named in calls for key in named.split(", " if name == "MGET" else ";")}
    assert targets == {"KEYS[1]", "KEYS[2]", "KEYS[3]", "key", "named[count]"}
    # Both are looked up only past the three of every commit and within its own KEYS.
    assert SCRIPT.count("named[count] = KEYS[") == 2
    assert "slot < 4 or slot > last_key" in SCRIPT and "line < 4 or line > last_key" in SCRIPT


async def test_touches_no_key_outside_keys(client: Redis, redis_prefix: str) -> None:
    version, epoch, token, hash_, zset, set_, string = keys(redis_prefix)
    commit = client.register_script(SCRIPT)
    await commit(
        keys=[version, epoch, token, hash_, zset, set_, string],
        args=[
            *(*read(0), "hset", 4, "a", "1", "zadd", 5, 1, "m", "sadd", 6, "s", "set", 7, "v"),
            *("zrem", 5, "m", "tidy", 6, "s", 5),
        ],
    )
    written = {key async for key in client.scan_iter(match=f"{redis_prefix}*")}
    assert written == {version, epoch, token, hash_, string}
