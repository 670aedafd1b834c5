"""Calls and wrap-ups put back on a floor that lost them (Redis restarted empty)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

import pytest

from branch.core.floor import (
    AgentChanged,
    AgentState,
    Call,
    CallResumed,
    ContactEnded,
    EndReason,
    Floor,
    FloorRules,
    Offered,
    OfferWithdrawn,
    StaffingChanged,
    WrapupTimedOut,
)
from branch.errors import AlreadyQueued, BadTicket, InvalidState
from tests.core.test_floor import citizen

ANSWERED = 100.0
NOW = 160.0


def lost_call(service: str = "general") -> Call:
    """Ana's call with executive X, as the tickets and the record describe it."""
    return Call(citizen("ana", 10.0, service), "x", "X", 90.0, answered_at=ANSWERED)


@pytest.mark.parametrize(("side", "absent"), [("citizen", "agent"), ("executive", "citizen")])
def test_the_first_side_back_restores_the_call_with_the_other_side_absent(
    side: str, absent: str
) -> None:
    floor = Floor()
    events = floor.restore_call(lost_call(), side, None, NOW)
    call = floor.calls["c-ana"]
    assert call.answered_at == ANSWERED and call.ready
    assert (call.citizen_absent_since, call.agent_absent_since) == (
        (NOW, None) if absent == "citizen" else (None, NOW)
    )
    agent = floor.agents["x"]
    assert (agent.state, agent.contact_id, agent.since) == (AgentState.IN_CALL, "c-ana", ANSWERED)
    assert [type(e) for e in events] == [AgentChanged, StaffingChanged]


def test_the_second_side_back_resumes_the_call_and_the_floor_works_as_before() -> None:
    floor = Floor()
    floor.restore_call(lost_call(), "citizen", None, NOW)
    events = floor.restore_call(lost_call(), "executive", (("general",),), NOW + 1)
    assert [type(e) for e in events] == [CallResumed]
    assert floor.calls["c-ana"].agent_absent_since is None
    # Presenting it again changes nothing.
    assert floor.restore_call(lost_call(), "executive", None, NOW + 2) == []
    # Nobody is offered to the executive while the call lasts.
    floor.join(citizen("bea", 150.0), NOW + 3)
    assert not [e for e in floor.tick(NOW + 500) if isinstance(e, Offered)]
    ended = [e for e in floor.hangup("ana", "c-ana", NOW + 600) if isinstance(e, ContactEnded)]
    assert ended[0].reason is EndReason.COMPLETED and ended[0].in_call
    assert floor.agents["x"].state is AgentState.WRAP_UP


def test_a_side_that_never_comes_back_ends_the_call_after_the_grace() -> None:
    floor = Floor(FloorRules(grace=30))
    floor.restore_call(lost_call(), "executive", None, NOW)
    events = floor.tick(NOW + 30)
    ended = [e for e in events if isinstance(e, ContactEnded)]
    assert ended[0].reason is EndReason.CITIZEN_DROPPED
    assert floor.agents["x"].state is AgentState.WRAP_UP


@pytest.mark.parametrize(
    "other",
    [
        pytest.param(replace(lost_call(), agent_id="y"), id="another executive"),
        pytest.param(replace(lost_call(), answered_at=ANSWERED + 1), id="another start"),
        pytest.param(lost_call("especial"), id="another service"),
    ],
)
def test_the_second_ticket_must_name_the_same_call(other: Call) -> None:
    floor = Floor()
    floor.restore_call(lost_call(), "citizen", None, NOW)
    with pytest.raises(BadTicket, match=r"^El comprobante de la atención no es válido$"):
        floor.restore_call(other, "executive", None, NOW)
    assert floor.calls["c-ana"].agent_absent_since == NOW


def test_a_citizen_back_in_line_meanwhile_is_not_put_in_a_call_too() -> None:
    floor = Floor()
    floor.join(citizen("ana", 150.0), NOW)
    with pytest.raises(AlreadyQueued):
        floor.restore_call(lost_call(), "citizen", None, NOW)
    assert floor.calls == {} and "x" not in floor.agents


def test_an_offer_made_to_the_executive_meanwhile_goes_back_to_the_head_of_the_line() -> None:
    floor = Floor()
    floor.join(citizen("bea", 150.0), NOW)
    floor.agent_available("x", "X", NOW)
    events = floor.restore_call(lost_call(), "executive", None, NOW + 1)
    withdrawn = [e for e in events if isinstance(e, OfferWithdrawn)]
    assert withdrawn[0].call.citizen_id == "bea" and withdrawn[0].requeued
    assert [e.citizen_id for e in floor.waiting] == ["bea"]
    assert floor.agents["x"].state is AgentState.IN_CALL


def test_an_executive_in_another_call_is_refused() -> None:
    floor = Floor()
    floor.join(citizen("bea", 150.0), NOW)
    floor.agent_available("x", "X", NOW)
    floor.accept("x", "c-bea", NOW)
    with pytest.raises(InvalidState, match='in state "in_call"'):
        floor.restore_call(lost_call(), "executive", None, NOW + 1)
    assert list(floor.calls) == ["c-bea"]


def test_a_wrap_up_comes_back_with_the_time_left_since_the_call_ended() -> None:
    floor = Floor(FloorRules(wrapup=120))
    events = floor.restore_wrapup("x", "X", "c-ana", NOW - 100, None, NOW)
    agent = floor.agents["x"]
    assert (agent.state, agent.contact_id, agent.since) == (
        AgentState.WRAP_UP,
        "c-ana",
        NOW - 100,
    )
    assert [type(e) for e in events] == [AgentChanged, StaffingChanged]
    assert floor.restore_wrapup("x", "X", "c-ana", NOW - 100, None, NOW) == []
    floor.join(citizen("bea", 150.0), NOW)
    assert not [e for e in floor.tick(NOW + 19) if isinstance(e, Offered)]
    events = floor.tick(NOW + 20)
    assert [e for e in events if isinstance(e, WrapupTimedOut)]
    assert offers_to_x(events) == ["bea"]


def offers_to_x(events: Sequence[object]) -> list[str]:
    return [e.call.citizen_id for e in events if isinstance(e, Offered) and e.call.agent_id == "x"]


def test_only_an_answered_call_is_restored() -> None:
    with pytest.raises(ValueError, match="only an answered call is restored"):
        Floor().restore_call(replace(lost_call(), answered_at=None), "citizen", None, NOW)
