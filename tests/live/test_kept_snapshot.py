"""The snapshot a node keeps from its last commit: one round trip when nobody raced, right when
somebody did.

Each RedisLiveStore is a node with its own connection. The kept snapshot is
only a guess at the floor; these scenarios make it wrong on purpose (another
node commits in between, and this node missed the announcement that would have
brought its snapshot up to it: see test_follow) and check the step still does
what the floor as it is now says.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence

import pytest
from redis.asyncio import Redis

from branch.core.floor import AgentChanged, AgentState, ContactEnded, Offered, Waiting
from branch.live.redisstore import RedisLiveStore
from branch.live.snapshot import load
from tests.live.conftest import OpenNodes, deaf

T0 = 1795525200.0
Calls = dict[str, int]


def citizen(name: str, joined_at: float = T0) -> Waiting:
    return Waiting(f"c-{name}", name, name.title(), "general", "r", "", "F", joined_at)


def offers(events: Sequence[object]) -> list[tuple[str, str]]:
    return [(e.call.citizen_id, e.call.agent_id) for e in events if isinstance(e, Offered)]


def count_round_trips(store: RedisLiveStore, monkeypatch: pytest.MonkeyPatch) -> Calls:
    """How many snapshot reads and step scripts (commit and read back) the store sends."""
    calls: Calls = {"read": 0, "step": 0}

    def counted(name: str, script: Callable[..., object]) -> Callable[..., object]:
        def call(**kwargs: object) -> object:
            calls[name] += 1
            return script(**kwargs)

        return call

    monkeypatch.setattr(store, "_read", counted("read", store._read))
    monkeypatch.setattr(store, "_commit", counted("step", store._commit))
    return calls


async def test_a_step_nobody_raced_is_one_round_trip(
    open_nodes: OpenNodes, monkeypatch: pytest.MonkeyPatch
) -> None:
    [store] = await open_nodes(1)
    calls = count_round_trips(store, monkeypatch)
    await store.agent_not_ready("exe", "Eva", T0)
    assert calls == {"read": 1, "step": 1}, "nothing kept yet: read, then commit"
    await store.join(citizen("ana"), T0 + 1)
    assert calls == {"read": 2, "step": 2}, "a citizen the node has not read: read first"
    offered = await store.agent_available("exe", "Eva", T0 + 2)
    assert offers(offered) == [("ana", "exe")]
    await store.accept("exe", "c-ana", T0 + 3)
    await store.hangup("exe", "c-ana", T0 + 4)
    await store.wrapup_done("exe", "c-ana", AgentState.NOT_READY, T0 + 5)
    assert calls == {"read": 2, "step": 6}, "four steps on kept snapshots: one call each"
    assert store.conflicts == 0


async def test_an_offer_made_on_a_kept_snapshot_another_node_overtook_is_not_made(
    open_nodes: OpenNodes, monkeypatch: pytest.MonkeyPatch
) -> None:
    here, there = await open_nodes(2)
    deaf(here, monkeypatch)
    await here.join(citizen("ana"), T0)
    assert offers(await there.agent_available("eve", "Eve", T0 + 1)) == [("ana", "eve")]
    calls = count_round_trips(here, monkeypatch)
    pauses: list[float] = []
    sleep = asyncio.sleep

    async def pause(seconds: float) -> None:
        pauses.append(seconds)
        await sleep(seconds)

    monkeypatch.setattr("branch.live.redisstore.asyncio.sleep", pause)
    # Kept here: ana still waiting. The commit is refused and the floor it brings
    # back has ana offered to eve, so exe only becomes available, at once: this is
    # no collision to spread out, the fresh floor came with the refusal.
    events = await here.agent_available("exe", "Eva", T0 + 2)
    assert pauses == []
    assert offers(events) == []
    assert [e.agent.state for e in events if isinstance(e, AgentChanged)] == [AgentState.AVAILABLE]
    assert (here.conflicts, calls) == (1, {"read": 0, "step": 2})
    assert {(c.citizen_id, c.agent_id) for c in await here.calls()} == {("ana", "eve")}


async def test_a_request_refused_on_a_kept_snapshot_is_asked_of_the_floor_again(
    open_nodes: OpenNodes, monkeypatch: pytest.MonkeyPatch
) -> None:
    here, there = await open_nodes(2)
    deaf(here, monkeypatch)
    await here.join(citizen("ana"), T0)
    await here.leave("ana", T0 + 1)
    await there.join(citizen("ana", T0 + 2), T0 + 2)  # back in line, through the other node
    calls = count_round_trips(here, monkeypatch)
    # Kept here: ana not in line, which would refuse her leave with NotQueued.
    events = await here.leave("ana", T0 + 3)
    assert [(e.waiting.citizen_id, e.by) for e in events if isinstance(e, ContactEnded)] == [
        ("ana", "citizen")
    ]
    assert calls == {"read": 1, "step": 1}
    assert await there.waiting("general") == []


async def test_a_step_that_changes_nothing_on_a_kept_snapshot_is_checked_on_the_floor(
    open_nodes: OpenNodes, monkeypatch: pytest.MonkeyPatch
) -> None:
    here, there = await open_nodes(2)
    deaf(here, monkeypatch)
    await here.agent_not_ready("exe", "Eva", T0)
    await there.agent_available("exe", "Eva", T0 + 1)  # the console came back on the other node
    calls = count_round_trips(here, monkeypatch)
    # Kept here: exe already not ready, so the pause would change nothing and be lost.
    events = await here.agent_not_ready("exe", "Eva", T0 + 2)
    assert [e.agent.state for e in events if isinstance(e, AgentChanged)] == [AgentState.NOT_READY]
    assert calls == {"read": 1, "step": 1}
    agent = (await there.agent_status("exe")).agent
    assert agent is not None and (agent.state, agent.since) == (AgentState.NOT_READY, T0 + 2)


async def test_closing_a_line_that_lost_a_race_reads_the_whole_line_again(
    open_nodes: OpenNodes, monkeypatch: pytest.MonkeyPatch
) -> None:
    here, there = await open_nodes(2)
    for index in range(6):  # the first through this node, which so knows the line
        await (here if index == 0 else there).join(citizen(f"p{index}", T0 + index), T0 + index)
    commit = here._commit
    raced: list[bool] = []

    async def after_a_rival(**kwargs: object) -> object:
        if not raced:  # the other node commits between this node's read and its commit
            raced.append(True)
            await there.agent_not_ready("rival", "R", T0 + 10)
        return await commit(**kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(here, "_commit", after_a_rival)
    events = await here.close_queue("general", T0 + 20)
    # What came back with the refusal holds the heads only, not the whole line.
    assert sorted(e.waiting.citizen_id for e in events if isinstance(e, ContactEnded)) == [
        f"p{index}" for index in range(6)
    ]
    assert here.conflicts == 1
    assert await there.waiting("general") == []


async def test_what_a_node_keeps_after_losing_a_race_and_landing_is_the_floor(
    open_nodes: OpenNodes, monkeypatch: pytest.MonkeyPatch
) -> None:
    here, there = await open_nodes(2)
    deaf(here, monkeypatch)
    await here.join(citizen("ana"), T0)
    await here.join(citizen("bea", T0 + 1), T0 + 1)
    await there.agent_available("eve", "Eve", T0 + 2)  # ana offered to eve, there
    commit = here._commit
    lasts: list[int] = []

    async def noted(**kwargs: object) -> object:
        landed, reply, last = await commit(**kwargs)  # type: ignore[arg-type]
        lasts.append(last)
        return [landed, reply, last]

    monkeypatch.setattr(here, "_commit", noted)
    # Kept here: nobody offered. Refused, the whole floor comes back; the retry lands
    # and is the last commit, so only what this node's floor lacks comes back.
    assert offers(await here.agent_available("exe", "Eva", T0 + 3)) == [("bea", "exe")]
    assert lasts == [0, 1]
    assert here._kept is not None
    kept, wants = here._kept
    assert kept == await load(here._read, here.keys, wants, set(here._services))
    assert {(c.citizen_id, c.agent_id) for c in kept.calls.values()} == {
        ("ana", "eve"),
        ("bea", "exe"),
    }


async def test_a_closed_node_steps_no_more_and_connects_no_more(
    open_nodes: OpenNodes, client: Redis
) -> None:
    (node,) = await open_nodes(1)
    await node.join(citizen("ana"), T0)
    await node.close()
    connected = len(await client.client_list())
    with pytest.raises(RuntimeError, match="the Redis live store is not open"):
        await node.join(citizen("bea"), T0 + 1)  # a step its kept snapshot does not cover
    with pytest.raises(RuntimeError, match="the Redis live store is not open"):
        await node.agent_available("eva", "Eva", T0 + 2)  # one it covers
    assert len(await client.client_list()) == connected
