"""Restoring lost calls and wrap-ups: the same scenarios on memory and on Redis."""

from __future__ import annotations

import pytest

from branch.core.floor import (
    AgentState,
    Call,
    CallResumed,
    ContactEnded,
    EndReason,
    FloorRules,
    OfferWithdrawn,
    WrapupTimedOut,
)
from branch.errors import AlreadyQueued, BadTicket
from tests.live.conftest import OpenLive, OpenNodes
from tests.live.test_contract import T0, citizen, offers

ANSWERED = T0 + 100


def lost_call(agent_id: str = "x") -> Call:
    return Call(citizen("ana", T0 + 10), agent_id, agent_id.upper(), T0 + 90, answered_at=ANSWERED)


async def test_a_restored_call_holds_its_executive_until_it_ends(open_live: OpenLive) -> None:
    store = await open_live()
    await store.restore_call(lost_call(), "citizen", None, T0 + 200)
    status = await store.agent_status("x")
    assert status.agent is not None and status.call is not None
    assert (status.agent.state, status.agent.contact_id) == (AgentState.IN_CALL, "c-ana")
    assert (status.call.answered_at, status.call.agent_absent_since) == (ANSWERED, T0 + 200)
    citizen_status = await store.citizen_status("ana")
    assert citizen_status.waiting is None and citizen_status.call == status.call

    events = await store.restore_call(lost_call(), "executive", (("general",),), T0 + 201)
    assert [type(e) for e in events] == [CallResumed]
    # A citizen arriving later is not offered to the executive in the call.
    await store.join(citizen("bea", T0 + 202), T0 + 202)
    assert offers(await store.tick(T0 + 400)) == []
    events = await store.hangup("x", "c-ana", T0 + 500)
    ended = [e for e in events if isinstance(e, ContactEnded)]
    assert (ended[0].reason, ended[0].by, ended[0].in_call) == (
        EndReason.COMPLETED,
        "executive",
        True,
    )
    assert await store.calls() == []
    agent = (await store.agent_status("x")).agent
    assert agent is not None and agent.state is AgentState.WRAP_UP


async def test_tickets_naming_another_call_or_a_busy_citizen_are_refused(
    open_live: OpenLive,
) -> None:
    store = await open_live()
    await store.restore_call(lost_call(), "citizen", None, T0 + 200)
    with pytest.raises(BadTicket):
        await store.restore_call(lost_call("y"), "executive", None, T0 + 201)
    assert (await store.agent_status("y")).agent is None
    await store.join(citizen("bea", T0 + 202), T0 + 202)
    with pytest.raises(AlreadyQueued):
        await store.restore_call(
            Call(citizen("bea", T0), "z", "Z", T0, answered_at=T0 + 1), "citizen", None, T0 + 203
        )
    assert (await store.agent_status("z")).agent is None


async def test_an_offer_made_meanwhile_yields_to_the_restored_call(open_live: OpenLive) -> None:
    store = await open_live()
    await store.join(citizen("bea", T0 + 150), T0 + 150)
    assert offers(await store.agent_available("x", "X", T0 + 200)) == [("bea", "x")]
    events = await store.restore_call(lost_call(), "executive", None, T0 + 201)
    assert [e.call.citizen_id for e in events if isinstance(e, OfferWithdrawn)] == ["bea"]
    assert [e.citizen_id for e in await store.waiting("general")] == ["bea"]
    assert (await store.citizen_status("bea")).position == 1


async def test_a_restored_wrap_up_runs_out_from_the_call_end(open_live: OpenLive) -> None:
    store = await open_live(FloorRules(wrapup=120))
    await store.restore_wrapup("x", "X", "c-ana", T0 + 100, None, T0 + 200)
    agent = (await store.agent_status("x")).agent
    assert agent is not None
    assert (agent.state, agent.contact_id, agent.since) == (AgentState.WRAP_UP, "c-ana", T0 + 100)
    events = await store.tick(T0 + 220)
    assert [e.contact_id for e in events if isinstance(e, WrapupTimedOut)] == ["c-ana"]


async def test_both_sides_restored_through_two_nodes_make_one_call(open_nodes: OpenNodes) -> None:
    first, second = await open_nodes(2)
    await first.restore_call(lost_call(), "citizen", None, T0 + 200)
    await second.restore_call(lost_call(), "executive", None, T0 + 200)
    calls = await first.calls()
    assert len(calls) == 1
    assert (calls[0].citizen_absent_since, calls[0].agent_absent_since) == (None, None)
