"""Several nodes at the same instant: one offer per citizen, one per executive, FIFO kept.

Each RedisLiveStore has its own connection, as separate nodes do. Many
executives become available in the same instant on different nodes while a
line of citizens waits; every step races every other one.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Sequence

import pytest

from branch.core.floor import AgentState, CallStarted, Offered, Waiting
from branch.errors import LiveBusy
from branch.live.redisstore import RedisLiveStore
from tests.live.conftest import OpenNodes

T0 = 1795525200.0


def offered(results: Sequence[Sequence[object]]) -> list[tuple[str, str]]:
    return [
        (event.call.contact_id, event.call.agent_id)
        for events in results
        for event in events
        if isinstance(event, Offered)
    ]


async def check_floor(store: RedisLiveStore, line: list[Waiting]) -> None:
    calls = await store.calls()
    assert len({call.citizen_id for call in calls}) == len(calls), "a citizen offered twice"
    assert len({call.agent_id for call in calls}) == len(calls), "an executive with two offers"
    waiting = await store.waiting("general")
    assert waiting == sorted(waiting, key=lambda entry: (entry.joined_at, entry.contact_id))
    busy = {call.contact_id for call in calls}
    assert {entry.contact_id for entry in waiting} | busy <= {entry.contact_id for entry in line}
    assert not busy & {entry.contact_id for entry in waiting}


@pytest.mark.parametrize("seed", range(3))
async def test_many_executives_at_once_on_several_nodes(open_nodes: OpenNodes, seed: int) -> None:
    chance = random.Random(seed)
    nodes = await open_nodes(4)
    # Several citizens share a join instant: the contact id orders them.
    line = [
        Waiting(f"c{i:03d}", f"p{i:03d}", "P", "general", "r", "", "F", T0 + chance.randrange(12))
        for i in range(30)
    ]
    for entry in line:  # arrivals are spread; the executives are what coincides
        await chance.choice(nodes).join(entry, T0 + 20)
    fifo = sorted(line, key=lambda entry: (entry.joined_at, entry.contact_id))
    agents = [f"e{i:02d}" for i in range(10)]

    results = await asyncio.gather(
        *(chance.choice(nodes).agent_available(a, a, T0 + 30) for a in agents)
    )
    first = offered(results)
    assert sorted(contact for contact, _agent in first) == sorted(e.contact_id for e in fifo[:10])
    assert sorted(agent for _contact, agent in first) == agents
    await check_floor(nodes[0], line)

    # They all answer, hang up and are free again at one instant: the next ten, in order.
    calls = {call.agent_id: call.contact_id for call in await nodes[1].calls()}
    started = await asyncio.gather(
        *(chance.choice(nodes).accept(a, calls[a], T0 + 31) for a in agents)
    )
    assert sum(isinstance(e, CallStarted) for events in started for e in events) == 10
    await asyncio.gather(*(chance.choice(nodes).hangup(a, calls[a], T0 + 40) for a in agents))
    results = await asyncio.gather(
        *(
            chance.choice(nodes).wrapup_done(a, calls[a], AgentState.AVAILABLE, T0 + 50)
            for a in agents
        )
    )
    second = offered(results)
    assert sorted(contact for contact, _agent in second) == sorted(
        e.contact_id for e in fifo[10:20]
    )
    await check_floor(nodes[2], line)
    assert [e.contact_id for e in await nodes[3].waiting("general")] == [
        e.contact_id for e in fifo[20:]
    ]


async def test_two_nodes_pairing_one_citizen_at_once_offer_it_once(
    open_nodes: OpenNodes, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A real collision, forced: both read the floor, the other node commits first."""
    first, second = await open_nodes(2)
    await first.join(Waiting("c1", "p1", "P", "general", "r", "", "F", T0), T0)
    commit = first._commit
    rival: list[Sequence[object]] = []

    async def after_the_other(**kwargs: object) -> object:
        if not rival:  # this node has read the floor and paired p1 with e1
            rival.append(await second.agent_available("e2", "E2", T0 + 1))
        return await commit(**kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(first, "_commit", after_the_other)
    mine = await first.agent_available("e1", "E1", T0 + 1)
    assert offered([mine, *rival]) == [("c1", "e2")]
    assert (first.conflicts, second.conflicts) == (1, 0)
    assert {(c.contact_id, c.agent_id) for c in await first.calls()} == {("c1", "e2")}
    agent = (await first.agent_status("e1")).agent
    assert agent is not None and agent.state is AgentState.AVAILABLE


async def test_a_step_that_always_loses_gives_up_with_busy(
    open_nodes: OpenNodes, monkeypatch: pytest.MonkeyPatch
) -> None:
    store, rival = await open_nodes(2)
    commit = store._commit

    async def after_a_rival(**kwargs: object) -> object:
        # Another node commits between this node's read and its commit, every time.
        await rival.agent_not_ready("rival", "R", T0)
        await rival.agent_gone("rival", T0)
        return await commit(**kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(store, "_commit", after_a_rival)
    monkeypatch.setattr("branch.live.redisstore.COMMIT_ATTEMPTS", 3)
    with pytest.raises(LiveBusy) as raised:
        await store.join(Waiting("c1", "p1", "P", "general", "r", "", "F", T0), T0)
    assert (raised.value.code, raised.value.status, raised.value.message) == (
        "busy",
        503,
        "El estado de la sucursal cambia demasiado rápido; intenta de nuevo",
    )
    assert store.conflicts == 3
    assert await store.waiting("general") == [], "nothing was written"


def test_busy_says_the_same_thing_wherever_it_is_raised() -> None:
    assert LiveBusy().to_wire() == {
        "type": "error",
        "code": "busy",
        "message": "El estado de la sucursal cambia demasiado rápido; intenta de nuevo",
    }
