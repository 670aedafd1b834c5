"""Following the other nodes' commits: one round trip after another node's commit, never a
wrong floor.

Each RedisLiveStore is a node with its own connections, all on one real
redis-server. A node brought up to another's commit must hold exactly what a
read would give; one that cannot tell, missed an announcement or got one out of
order keeps its older snapshot, whose commit the version check refuses.
"""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import AsyncIterator, Sequence
from functools import partial

import pytest
from redis.asyncio import Redis
from redis.asyncio.client import PubSub

from branch.core.floor import AgentState, FloorRules, Offered, Waiting
from branch.live.follow import Announcement, follow, parse
from branch.live.keys import Keys
from branch.live.redisstore import RedisLiveStore
from branch.live.snapshot import Snapshot, Wants, load
from tests.live.conftest import OpenNodes, deaf, heard_up_to, hearing
from tests.live.test_kept_snapshot import count_round_trips
from tests.servers.redis import StartRedis

T0 = 1795525200.0


def citizen(name: str, joined_at: float = T0, service: str = "general") -> Waiting:
    return Waiting(f"c-{name}", name, name.title(), service, "r", "", "F", joined_at)


def offers(events: Sequence[object]) -> list[tuple[str, str]]:
    return [(e.call.citizen_id, e.call.agent_id) for e in events if isinstance(e, Offered)]


async def version(node: RedisLiveStore) -> int:
    return int(await node.redis.get(node.keys.version) or 0)


async def fresh(node: RedisLiveStore) -> Snapshot:
    """What a read with the node's kept wants gives now."""
    assert node._kept is not None
    return await load(node._read, node.keys, node._kept[1], set(node._services))


Pair = tuple[RedisLiveStore, RedisLiveStore, list[int]]


@pytest.fixture
async def pair(open_nodes: OpenNodes, monkeypatch: pytest.MonkeyPatch) -> Pair:
    """Two nodes, and the versions of the announcements the second one handles."""
    here, there = await open_nodes(2)
    return here, there, hearing(there, monkeypatch)


class Told:
    """Every commit announced since it subscribed, as a listening node gets them."""

    def __init__(self, pubsub: PubSub) -> None:
        self.pubsub = pubsub
        self.found: list[Announcement] = []

    async def first(self, count: int) -> list[Announcement]:
        while len(self.found) < count:
            message = await self.pubsub.get_message(timeout=5)
            assert message is not None, f"{count} announcements expected, {len(self.found)} came"
            if message["type"] == "message":
                self.found.append(parse(message["data"]))
        return self.found[:count]


@pytest.fixture
async def announcements(client: Redis, redis_prefix: str) -> AsyncIterator[Told]:
    pubsub = client.pubsub()
    await pubsub.subscribe(Keys(redis_prefix).commits)
    yield Told(pubsub)
    await pubsub.aclose()  # type: ignore[no-untyped-call]


async def test_a_node_told_of_the_other_nodes_join_pairs_in_one_round_trip(
    pair: Pair, monkeypatch: pytest.MonkeyPatch
) -> None:
    here, there, heard = pair
    await there.agent_not_ready("exe", "Eva", T0)
    await here.join(citizen("ana"), T0 + 1)
    await heard_up_to(await version(here), heard)
    calls = count_round_trips(there, monkeypatch)
    assert offers(await there.agent_available("exe", "Eva", T0 + 2)) == [("ana", "exe")]
    assert calls == {"read": 0, "step": 1}
    assert (there.conflicts, there.followed) == (0, 1)
    assert there._kept is not None and there._kept[0] == await fresh(there)


async def test_a_call_with_the_citizen_on_one_node_and_the_executive_on_another(
    open_nodes: OpenNodes, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The benchmark's flow, a human moment between steps: each step one round trip."""
    citizens, desks = await open_nodes(2)
    heard = [hearing(node, monkeypatch) for node in (citizens, desks)]
    await desks.agent_not_ready("exe", "Eva", T0)
    await citizens.join(citizen("ana"), T0 + 1)
    await heard_up_to(await version(citizens), *heard)
    for call in range(3):
        at = T0 + 2 + 10 * call
        calls = {node: count_round_trips(node, monkeypatch) for node in (citizens, desks)}
        for node, step in (
            (desks, partial(desks.agent_available, "exe", "Eva", at)),
            (desks, partial(desks.accept, "exe", "c-ana", at + 2)),
            (desks, partial(desks.hangup, "exe", "c-ana", at + 3)),
            (desks, partial(desks.wrapup_done, "exe", "c-ana", AgentState.NOT_READY, at + 4)),
            (citizens, partial(citizens.join, citizen("ana", at + 5), at + 5)),
        ):
            await step()
            await heard_up_to(await version(node), *heard)
        assert calls[desks] == {"read": 0, "step": 4}
        # The snapshots followed name the citizen the node's own join named.
        assert calls[citizens] == {"read": 0, "step": 1}
    assert (citizens.conflicts, desks.conflicts) == (0, 0)
    for node in (citizens, desks):
        assert node._kept is not None and node._kept[0] == await fresh(node)


async def test_each_announcement_brings_the_snapshot_it_follows_to_the_floor(
    open_nodes: OpenNodes, announcements: Told
) -> None:
    here, there = await open_nodes(2)
    await there.agent_not_ready("exe", "Eva", T0)
    assert there._kept is not None
    wants = there._kept[1]
    before = await fresh(there)
    await here.join(citizen("ana"), T0 + 1)
    after_join = await fresh(there)
    await here.join(citizen("bea", T0 + 2), T0 + 2)
    after_both = await fresh(there)
    _pause, joined, second = await announcements.first(3)
    keys = there.keys
    assert follow(keys, before, wants, joined) == after_join
    assert follow(keys, after_join, wants, second) == after_both
    assert follow(keys, before, wants, second) is None, "one missed: the floor is not known"
    assert follow(keys, after_join, wants, joined) is None, "already there"
    assert follow(keys, after_both, wants, joined) is None, "older than the snapshot"
    other_life = dataclasses.replace(before, epoch="another Redis life")
    assert follow(keys, other_life, wants, joined) is None
    assert joined.services(keys) == {"general"}


async def test_a_node_that_missed_an_announcement_steps_right_and_follows_again(
    pair: Pair, monkeypatch: pytest.MonkeyPatch
) -> None:
    here, there, heard = pair
    await there.agent_not_ready("exe", "Eva", T0)
    deaf(there, monkeypatch, await version(there) + 1)  # the feed was down just then
    await here.join(citizen("ana"), T0 + 1)
    await here.join(citizen("bea", T0 + 2), T0 + 2)
    await heard_up_to(await version(here), heard)
    assert there.followed == 0, "the announcement after a missed one is not followed"
    calls = count_round_trips(there, monkeypatch)
    assert offers(await there.agent_available("exe", "Eva", T0 + 3)) == [("ana", "exe")]
    assert (calls, there.conflicts) == ({"read": 0, "step": 2}, 1)
    await here.leave("bea", T0 + 4)
    await heard_up_to(await version(here), heard)
    assert there.followed == 1
    assert there._kept is not None and there._kept[0] == await fresh(there)


async def test_a_line_whose_heads_went_past_what_was_known_is_not_followed(
    pair: Pair, monkeypatch: pytest.MonkeyPatch
) -> None:
    here, there, heard = pair
    for index in range(4):
        await here.join(citizen(f"p{index}", T0 + index), T0 + index)
    # One executive not in a call: the heads are two of the four.
    await there.agent_not_ready("exe", "Eva", T0 + 5)
    assert there._kept is not None
    assert sorted(there._kept[0].entries) == ["c-p0", "c-p1"]
    # The other node pairs the head: p1 is known, p2 (a head now, one more
    # executive not in a call) is not.
    assert offers(await here.agent_available("eve", "Eve", T0 + 6)) == [("p0", "eve")]
    await heard_up_to(await version(here), heard)
    assert there.followed == 0
    calls = count_round_trips(there, monkeypatch)
    assert offers(await there.agent_available("exe", "Eva", T0 + 7)) == [("p1", "exe")]
    assert (calls, there.conflicts) == ({"read": 0, "step": 2}, 1)


async def test_a_join_past_the_known_heads_and_a_return_before_them_are_followed(
    pair: Pair,
) -> None:
    here, there, heard = pair
    for index in range(3):
        await here.join(citizen(f"p{index}", T0 + 10 + index), T0 + 10 + index)
    await here.citizen_away("p0", T0 + 14)
    await there.agent_not_ready("exe", "Eva", T0 + 15)  # heads: p1, p2 (p0 is away)
    await here.join(citizen("late", T0 + 16), T0 + 16)  # past them: not a head
    await here.join(citizen("early", T0), T0 + 17)  # an older join time: the first head
    await here.citizen_back("p0", T0 + 18)  # back in place: second
    await heard_up_to(await version(here), heard)
    assert there.followed == 3
    assert there._kept is not None
    kept = there._kept[0]
    assert kept == await fresh(there)
    assert sorted(kept.entries) == ["c-early", "c-p0"]


async def test_a_node_follows_the_citizens_it_named(
    pair: Pair, monkeypatch: pytest.MonkeyPatch
) -> None:
    here, there, heard = pair
    await there.join(citizen("ana", service="especial"), T0)
    await there.agent_not_ready("exe", "Eva", T0 + 1)  # keeps ana, named, and the heads
    await there.citizen_away("ana", T0 + 2)
    assert there._kept is not None and there._kept[1] == Wants(citizens=("ana",))
    await here.citizen_back("ana", T0 + 3)
    await here.leave("ana", T0 + 4)
    await here.join(citizen("ana", T0 + 5), T0 + 5)  # a new contact in another line
    await heard_up_to(await version(here), heard)
    assert there.followed == 3
    kept = there._kept[0]
    assert kept == await fresh(there)
    assert [(e.citizen_id, e.service) for e in kept.entries.values()] == [("ana", "general")]
    calls = count_round_trips(there, monkeypatch)
    await there.citizen_away("ana", T0 + 6)
    assert calls == {"read": 0, "step": 1}


async def test_what_is_no_announcement_is_logged_and_the_next_one_is_followed(
    pair: Pair, caplog: pytest.LogCaptureFixture
) -> None:
    here, there, heard = pair
    await there.agent_not_ready("exe", "Eva", T0)
    await here.redis.publish(here.keys.commits, '["not", "a commit"]')
    await here.join(citizen("ana"), T0 + 1)
    await heard_up_to(await version(here), heard)
    assert there.followed == 1
    assert 'live store: not an announced commit: \'["not", "a commit"]\'' in caplog.text


def test_what_is_no_announcement_says_what_is_wrong() -> None:
    with pytest.raises(ValueError) as raised:
        parse('[5, ["v", "e", "t"], ["1", "e1", "60"]]')
    assert str(raised.value) == (
        'live store: not an announced commit: \'[5, ["v", "e", "t"], ["1", "e1", "60"]]\': '
        "version 5 does not follow the one read, 1"
    )
    with pytest.raises(ValueError, match="not every key and argument is a string"):
        parse('[2, ["v", "e", "t"], ["1", "e1", 60]]')
    told = parse('[2, ["v", "e", "t", "a"], ["1", "e1", "60", "hset", "4", "x"]]')
    with pytest.raises(ValueError) as raised:
        list(told.changes())
    assert str(raised.value) == "live store: announced change 'hset' at 3 is not one"
    told = parse('[2, ["v", "e", "t", "a"], ["1", "e1", "60", "hdel", "5", "x"]]')
    with pytest.raises(ValueError) as raised:
        list(told.changes())
    assert str(raised.value) == "live store: announced change 'hdel' at 3 names no key"


async def test_after_redis_restarted_empty_a_snapshot_of_the_old_life_is_not_followed(
    start_redis: StartRedis, redis_prefix: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    redis = start_redis()
    here, there = (RedisLiveStore(redis.url, FloorRules(), redis_prefix) for _ in range(2))
    for node in (here, there):
        await node.open()
    try:
        heard = hearing(there, monkeypatch)
        await there.agent_not_ready("exe", "Eva", T0)
        await here.join(citizen("ana"), T0 + 1)
        await heard_up_to(2, heard)
        assert there._kept is not None and there._kept[0].version == 2
        old_life = there._kept[0].epoch
        redis.restart_empty()
        for _attempt in range(400):  # both feeds connect again and subscribe again
            listening = await here.redis.pubsub_numsub(here.keys.commits)
            if listening == [(here.keys.commits, 2)]:
                break
            await asyncio.sleep(0.025)
        assert listening == [(here.keys.commits, 2)]
        await here.join(citizen("bea"), T0 + 2)  # the new life's first commit
        await here.join(citizen("cid", T0 + 3), T0 + 3)
        await here.leave("cid", T0 + 4)  # made on version 2, as the snapshot kept there
        await heard_up_to(3, heard)
        assert (there.followed, there._kept[0].epoch) == (1, old_life)
        calls = count_round_trips(there, monkeypatch)
        assert offers(await there.agent_available("exe", "Eva", T0 + 5)) == [("bea", "exe")]
        assert calls == {"read": 0, "step": 2}, "refused for its epoch, the floor came back"
        await here.join(citizen("dan", T0 + 6), T0 + 6)
        await heard_up_to(5, heard)
        assert there.followed == 2, "a snapshot of this life follows again"
        assert there._kept[0] == await fresh(there)
    finally:
        monkeypatch.undo()  # the counted step calls first: closing closes the real ones
        for node in (here, there):
            await node.close()
