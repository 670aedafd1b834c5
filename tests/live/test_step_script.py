"""The step script on a real Redis: the commit, then the read of the floor it left, in one call."""

from __future__ import annotations

import orjson
import pytest
from redis.asyncio import Redis
from redis.asyncio.client import PubSub
from redis.exceptions import ResponseError

from branch.core.floor import Agent, AgentState, Waiting
from branch.live import codec
from branch.live.keys import Keys
from branch.live.scripts import STEP_SCRIPT
from branch.live.snapshot import Wants, read_reply, read_request

T0 = 1795525200.0


def commit_of(
    keys: Keys, version: int, agent: Agent, token: str = "t1"
) -> tuple[list[str], list[str | float]]:
    """commit.lua's KEYS and ARGV for one executive written as of ``version``."""
    return (
        [keys.version, keys.epoch, keys.commit(token), keys.agents],
        [version, "e1", 60, "hset", 4, agent.agent_id, codec.dump_agent(agent)],
    )


def step_args(
    commit: tuple[list[str], list[str | float]],
    read: tuple[list[str], list[str | int]],
    held: tuple[str, ...] = (),
    heads: int = 2,
    channel: str = "",
) -> tuple[list[str], list[str | float]]:
    """step.lua's KEYS and ARGV: the two scripts' own, where one ends, the contacts held."""
    (commit_keys, commit_argv), (read_keys, read_argv) = commit, read
    return (
        [*commit_keys, *read_keys],
        [
            len(commit_keys),
            len(commit_argv),
            len(held),
            heads,
            channel,
            *commit_argv,
            *read_argv,
            *held,
        ],
    )


async def put_line(client: Redis, keys: Keys, count: int) -> list[Waiting]:
    """``count`` present citizens in line for "general", in a floor of epoch "e1"."""
    await client.set(keys.epoch, "e1")
    line = [
        Waiting(f"c{index}", f"z{index}", "Ana", "general", "r", "", "F", T0 + index)
        for index in range(count)
    ]
    for entry in line:
        await client.hset(keys.entries, entry.contact_id, codec.dump_waiting(entry))
        await client.zadd(keys.present("general"), {entry.contact_id: entry.joined_at})
    await client.sadd(keys.services, "general")
    return line


async def test_the_read_sees_what_the_commit_wrote(client: Redis, redis_prefix: str) -> None:
    keys = Keys(redis_prefix)
    await client.set(keys.epoch, "e1")
    step = client.register_script(STEP_SCRIPT)
    agent = Agent("e1", "Eva", AgentState.AVAILABLE, T0)
    ks, args = step_args(commit_of(keys, 0, agent), read_request(keys, Wants(), set()))
    landed, reply, last = await step(keys=ks, args=args)
    assert (landed, last) == (1, 1)
    assert reply == [[], [], []], "what the node wrote is not sent back"
    await client.set(keys.version, 2)  # another commit followed: the read comes whole
    landed, reply, last = await step(keys=ks, args=args)
    assert (landed, last) == (1, 0), "the repeated call answers as the first time"
    snapshot = read_reply(reply, set())
    assert snapshot is not None
    assert (snapshot.version, snapshot.epoch, dict(snapshot.agents)) == (2, "e1", {"e1": agent})


async def test_after_the_last_commit_only_the_entries_the_node_does_not_hold_come_back(
    client: Redis, redis_prefix: str
) -> None:
    keys = Keys(redis_prefix)
    line = await put_line(client, keys, 3)
    step = client.register_script(STEP_SCRIPT)
    agent = Agent("e1", "Eva", AgentState.AVAILABLE, T0)
    ks, args = step_args(
        commit_of(keys, 0, agent), read_request(keys, Wants(), {"general"}), held=("c0", "c2")
    )
    landed, reply, last = await step(keys=ks, args=args)
    assert (landed, last) == (1, 1)
    # Heads: one more than the executives not in a call, so two of the three.
    assert reply == [[], ["c0", "c1"], [codec.dump_waiting(line[1])]]


async def test_a_refused_commit_writes_nothing_and_reads_the_floor_that_refused_it(
    client: Redis, redis_prefix: str
) -> None:
    keys = Keys(redis_prefix)
    await client.set(keys.epoch, "e1")
    await client.set(keys.version, 4)
    there = Agent("e1", "Eva", AgentState.NOT_READY, T0)
    await client.hset(keys.agents, "e1", codec.dump_agent(there))
    step = client.register_script(STEP_SCRIPT)
    mine = Agent("e1", "Eva", AgentState.AVAILABLE, T0 + 1)
    ks, args = step_args(commit_of(keys, 3, mine), read_request(keys, Wants(), set()))
    landed, reply, last = await step(keys=ks, args=args)
    assert (landed, last) == (-1, 0)
    snapshot = read_reply(reply, set())
    assert snapshot is not None and (snapshot.version, dict(snapshot.agents)) == (4, {"e1": there})
    assert await client.exists(keys.commit("t1")) == 0


async def test_after_the_last_commit_the_node_says_how_many_heads_and_redis_counts_none(
    client: Redis, redis_prefix: str
) -> None:
    keys = Keys(redis_prefix)
    line = await put_line(client, keys, 4)
    # Executives in Redis that would make the script's own count two, not three.
    for name in ("e1", "e2"):
        busy = Agent(name, "Eva", AgentState.IN_CALL, T0)
        await client.hset(keys.agents, name, codec.dump_agent(busy))
    step = client.register_script(STEP_SCRIPT)
    agent = Agent("e3", "Ivo", AgentState.AVAILABLE, T0)
    read = read_request(keys, Wants(), {"general"})
    ks, args = step_args(commit_of(keys, 0, agent), read, held=("c0",), heads=3)
    landed, reply, last = await step(keys=ks, args=args)
    assert (landed, last) == (1, 1)
    assert reply == [[], ["c0", "c1", "c2"], [codec.dump_waiting(e) for e in line[1:3]]]
    # Another commit followed: the floor is not the node's, so the script counts
    # from what Redis holds (one executive not in a call: two heads).
    await client.set(keys.version, 2)
    landed, reply, last = await step(keys=ks, args=args)
    assert (landed, last) == (1, 0), "the repeated call answers as the first time"
    snapshot = read_reply(reply, set())
    assert snapshot is not None and sorted(snapshot.entries) == ["c0", "c1"]


async def test_a_repeated_call_reads_whole_even_when_no_commit_followed(
    client: Redis, redis_prefix: str
) -> None:
    keys = Keys(redis_prefix)
    await client.set(keys.epoch, "e1")
    step = client.register_script(STEP_SCRIPT)
    agent = Agent("e1", "Eva", AgentState.AVAILABLE, T0)
    ks, args = step_args(commit_of(keys, 0, agent), read_request(keys, Wants(), set()))
    assert (await step(keys=ks, args=args))[2] == 1
    # Its reply lost, the client sends it again: the token answers, and the script
    # cannot tell whether another commit came between, so the floor comes whole.
    landed, reply, last = await step(keys=ks, args=args)
    assert (landed, last) == (1, 0)
    snapshot = read_reply(reply, set())
    assert snapshot is not None and (snapshot.version, dict(snapshot.agents)) == (1, {"e1": agent})


@pytest.mark.parametrize(
    ("split", "message"),
    [
        (["x", 7, 0, 2], "step: ARGV[1..4] do not split KEYS and ARGV: x, 7, 0, 2"),
        ([99, 7, 0, 2], "step: ARGV[1..4] do not split KEYS and ARGV: 99, 7, 0, 2"),
        ([4, 2, 0, 2], "step: ARGV[1..4] do not split KEYS and ARGV: 4, 2, 0, 2"),
        ([4, 7, "y", 2], "step: ARGV[1..4] do not split KEYS and ARGV: 4, 7, y, 2"),
        ([4, 7, -1, 2], "step: ARGV[1..4] do not split KEYS and ARGV: 4, 7, -1, 2"),
        ([4, 7, 99, 2], "step: ARGV[1..4] do not split KEYS and ARGV: 4, 7, 99, 2"),
        ([4, 7, 0, "z"], "step: ARGV[1..4] do not split KEYS and ARGV: 4, 7, 0, z"),
        ([4, 7, 0, -1], "step: ARGV[1..4] do not split KEYS and ARGV: 4, 7, 0, -1"),
        ([4, 7, 0, 1.5], "step: ARGV[1..4] do not split KEYS and ARGV: 4, 7, 0, 1.5"),
        ([4.5, 7, 0, 2], "step: ARGV[1..4] do not split KEYS and ARGV: 4.5, 7, 0, 2"),
        ([4, 6.5, 0, 2], "step: ARGV[1..4] do not split KEYS and ARGV: 4, 6.5, 0, 2"),
        ([4, 7, 0.5, 2], "step: ARGV[1..4] do not split KEYS and ARGV: 4, 7, 0.5, 2"),
    ],
)
async def test_a_bad_split_is_refused_before_anything_runs(
    client: Redis, redis_prefix: str, split: list[str | float], message: str
) -> None:
    keys = Keys(redis_prefix)
    (commit_keys, commit_argv), (read_keys, read_argv) = (
        commit_of(keys, 0, Agent("e1", "Eva", AgentState.AVAILABLE, T0)),
        read_request(keys, Wants(), set()),
    )
    step = client.register_script(STEP_SCRIPT)
    with pytest.raises(ResponseError) as raised:
        await step(keys=[*commit_keys, *read_keys], args=[*split, "", *commit_argv, *read_argv])
    assert str(raised.value) == message
    assert await client.exists(keys.agents, keys.version) == 0


async def test_a_malformed_commit_is_the_error_and_nothing_is_read(
    client: Redis, redis_prefix: str
) -> None:
    keys = Keys(redis_prefix)
    await client.set(keys.epoch, "e1")
    step = client.register_script(STEP_SCRIPT)
    bad: tuple[list[str], list[str | float]] = (
        [keys.version, keys.epoch, keys.commit("t1"), keys.agents],
        [0, "e1", 60, "hset", 9],
    )
    ks, args = step_args(bad, read_request(keys, Wants(), set()))
    with pytest.raises(ResponseError) as raised:
        await step(keys=ks, args=args)
    assert str(raised.value) == "commit: change hset at ARGV[4] is cut short"
    assert await client.exists(keys.agents, keys.version) == 0


async def test_a_commit_cannot_name_the_reads_keys(client: Redis, redis_prefix: str) -> None:
    keys = Keys(redis_prefix)
    await client.set(keys.epoch, "e1")
    step = client.register_script(STEP_SCRIPT)
    agent = Agent("e1", "Eva", AgentState.AVAILABLE, T0)
    commit_keys, commit_argv = commit_of(keys, 0, agent)
    # KEYS[5] is there, but it is the read's first key (the version), not the commit's.
    beyond = (commit_keys, [*commit_argv, "del", 5])
    ks, args = step_args(beyond, read_request(keys, Wants(), set()))
    with pytest.raises(ResponseError) as raised:
        await step(keys=ks, args=args)
    assert str(raised.value) == "commit: change del at ARGV[8] names no key in KEYS"
    assert await client.exists(keys.agents, keys.version) == 0


@pytest.mark.parametrize(("wants", "heads"), [(Wants(), 0), (Wants(heads=False), 2)])
async def test_after_the_last_commit_no_heads_are_read_when_none_are_wanted(
    client: Redis, redis_prefix: str, wants: Wants, heads: int
) -> None:
    keys = Keys(redis_prefix)
    await put_line(client, keys, 3)
    step = client.register_script(STEP_SCRIPT)
    agent = Agent("e1", "Eva", AgentState.AVAILABLE, T0)
    read = read_request(keys, wants, {"general"})
    ks, args = step_args(commit_of(keys, 0, agent), read, heads=heads)
    assert await step(keys=ks, args=args) == [1, [[], [], []], 1]


async def told(pubsub: PubSub) -> list[object]:
    """Every message the subscription got by now, decoded."""
    found = []
    while (message := await pubsub.get_message(timeout=0.2)) is not None:
        if message["type"] == "message":  # not the subscription's confirmation
            found.append(orjson.loads(message["data"]))
    return found


async def test_a_landed_commit_is_announced_when_another_node_listens(
    client: Redis, redis_prefix: str
) -> None:
    keys = Keys(redis_prefix)
    await client.set(keys.epoch, "e1")
    step = client.register_script(STEP_SCRIPT)
    mine, theirs = client.pubsub(), client.pubsub()
    await mine.subscribe(keys.commits)
    first = Agent("e1", "Eva", AgentState.AVAILABLE, T0)
    commit = commit_of(keys, 0, first)
    ks, args = step_args(commit, read_request(keys, Wants(), set()), channel=keys.commits)
    assert (await step(keys=ks, args=args))[0] == 1
    assert await told(mine) == [], "nobody but the committing node listens: nothing sent"
    await theirs.subscribe(keys.commits)
    second = Agent("e1", "Eva", AgentState.NOT_READY, T0 + 1)
    commit = commit_of(keys, 1, second, "t2")
    ks, args = step_args(commit, read_request(keys, Wants(), set()), channel=keys.commits)
    assert (await step(keys=ks, args=args))[0] == 2
    announced = [2, commit[0], [str(value) for value in commit[1]]]
    assert await told(mine) == [announced]
    assert await told(theirs) == [announced]
    assert (await step(keys=ks, args=args))[0] == 2, "repeated: its token answers"
    refused = commit_of(keys, 1, first, "t3")
    ks, args = step_args(refused, read_request(keys, Wants(), set()), channel=keys.commits)
    assert (await step(keys=ks, args=args))[0] == -1
    ks, args = step_args(commit_of(keys, 2, first, "t4"), read_request(keys, Wants(), set()))
    assert (await step(keys=ks, args=args))[0] == 3, "landed, no channel given"
    assert await told(theirs) == [], "no repeated, refused or channel-less commit is told"
    for pubsub in (mine, theirs):
        await pubsub.aclose()  # type: ignore[no-untyped-call]
