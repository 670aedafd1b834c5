"""Pause after this call: asked for during a contact, applied when its wrap-up ends."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from branch.core.floor import (
    AgentState,
    Event,
    Floor,
    FloorRules,
    Offered,
    PauseAfterCallChanged,
    Waiting,
)
from branch.errors import InvalidState


def citizen(name: str, joined_at: float) -> Waiting:
    return Waiting(f"c-{name}", name, name.title(), "general", "otro", "", f"F-{name}", joined_at)


def in_call(rules: FloorRules | None = None) -> Floor:
    """Executive x talking with Ana, Bea next in line."""
    floor = Floor(rules or FloorRules(wrapup=60.0))
    floor.join(citizen("ana", 1.0), 1.0)
    floor.join(citizen("bea", 2.0), 2.0)
    floor.agent_available("x", "Ximena", 3.0)
    floor.accept("x", "c-ana", 4.0)
    return floor


def test_asking_during_the_call_changes_nothing_but_the_flag() -> None:
    floor = in_call()
    events = floor.pause_after_call("x", True, "colacion", 5.0)
    agent = floor.agents["x"]
    assert events == [PauseAfterCallChanged(agent)]
    assert (agent.state, agent.since, agent.contact_id) == (AgentState.IN_CALL, 4.0, "c-ana")
    assert (agent.pause_after_call, agent.pause_after_reason) == (True, "colacion")
    assert floor.pause_after_call("x", True, "colacion", 6.0) == []  # nothing new: no change


# Every way a wrap-up ends: submitted choosing available or a pause, timed out, or skipped
# by pressing available.
ENDINGS: dict[str, Callable[[Floor, float], list[Event]]] = {
    "submitted, then available": lambda f, now: f.wrapup_done(
        "x", "c-ana", AgentState.AVAILABLE, now
    ),
    "submitted, then not ready": lambda f, now: f.wrapup_done(
        "x", "c-ana", AgentState.NOT_READY, now
    ),
    "timed out": lambda f, now: f.tick(now + 60.0),
    "available pressed": lambda f, now: f.agent_available("x", "Ximena", now),
}


@pytest.mark.parametrize("asked_in", [AgentState.IN_CALL, AgentState.WRAP_UP])
@pytest.mark.parametrize("ending", list(ENDINGS))
def test_the_pause_takes_effect_when_the_wrap_up_ends_and_nobody_is_offered(
    asked_in: AgentState, ending: str
) -> None:
    floor = in_call()
    if asked_in is AgentState.WRAP_UP:
        floor.hangup("x", "c-ana", 10.0)
        floor.pause_after_call("x", True, "colacion", 11.0)
    else:
        floor.pause_after_call("x", True, "colacion", 5.0)
        floor.hangup("x", "c-ana", 10.0)
    assert floor.agents["x"].state is AgentState.WRAP_UP
    assert floor.agents["x"].pause_after_call  # the call ending is not the end of the contact

    events = ENDINGS[ending](floor, 20.0)
    agent = floor.agents["x"]
    assert (agent.state, agent.pause_reason) == (AgentState.NOT_READY, "colacion")
    assert (agent.pause_after_call, agent.pause_after_reason) == (False, None)
    assert not any(isinstance(event, Offered) for event in events)
    assert [entry.citizen_id for entry in floor.waiting] == ["bea"]


def test_without_a_reason_the_pause_keeps_the_one_chosen_at_wrap_up() -> None:
    floor = in_call()
    floor.pause_after_call("x", True, None, 5.0)
    floor.hangup("x", "c-ana", 10.0)
    floor.wrapup_done("x", "c-ana", AgentState.AVAILABLE, 20.0)
    agent = floor.agents["x"]
    assert (agent.state, agent.pause_reason) == (AgentState.NOT_READY, None)


def test_a_pause_chosen_at_wrap_up_wins_over_the_one_asked_for() -> None:
    floor = in_call()
    floor.pause_after_call("x", True, "colacion", 5.0)
    floor.hangup("x", "c-ana", 10.0)
    floor.agent_not_ready("x", "Ximena", 20.0, "capacitacion")
    assert floor.agents["x"].pause_reason == "capacitacion"


def test_taken_back_before_the_end_the_executive_serves_the_next_citizen() -> None:
    floor = in_call()
    floor.pause_after_call("x", True, "colacion", 5.0)
    events = floor.pause_after_call("x", False, "colacion", 6.0)
    assert (floor.agents["x"].pause_after_call, floor.agents["x"].pause_after_reason) == (
        False,
        None,
    )
    assert events == [PauseAfterCallChanged(floor.agents["x"])]
    floor.hangup("x", "c-ana", 10.0)
    events = floor.wrapup_done("x", "c-ana", AgentState.AVAILABLE, 20.0)
    assert [(e.call.citizen_id, e.call.agent_id) for e in events if isinstance(e, Offered)] == [
        ("bea", "x")
    ]


def test_the_flag_does_not_outlive_the_contact() -> None:
    floor = in_call()
    floor.pause_after_call("x", True, "colacion", 5.0)
    floor.hangup("x", "c-ana", 10.0)
    floor.wrapup_done("x", "c-ana", AgentState.AVAILABLE, 20.0)
    floor.agent_available("x", "Ximena", 30.0)  # back from the pause: Bea is offered
    assert [call.citizen_id for call in floor.calls.values()] == ["bea"]
    floor.accept("x", "c-bea", 31.0)
    floor.hangup("x", "c-bea", 40.0)
    floor.wrapup_done("x", "c-bea", AgentState.AVAILABLE, 50.0)
    assert floor.agents["x"].state is AgentState.AVAILABLE


def test_an_executive_who_drops_in_the_call_leaves_no_pause_behind() -> None:
    floor = in_call()
    floor.pause_after_call("x", True, "colacion", 5.0)
    floor.agent_gone("x", 6.0)
    assert "x" not in floor.agents
    floor.agent_available("x", "Ximena", 7.0)
    assert floor.agents["x"].state is AgentState.OFFERED  # Ana went back to the head


@pytest.mark.parametrize(
    ("setup", "state"),
    [
        (lambda f: None, "offline"),
        (lambda f: f.agent_not_ready("x", "Ximena", 1.0), "not_ready"),
        (lambda f: f.agent_available("x", "Ximena", 1.0), "available"),
        (
            lambda f: (f.join(citizen("ana", 1.0), 1.0), f.agent_available("x", "Ximena", 1.0)),
            "offered",
        ),
    ],
)
def test_without_a_contact_under_way_there_is_nothing_to_wait_for(
    setup: Callable[[Floor], object], state: str
) -> None:
    floor = Floor()
    setup(floor)
    before = dict(floor.agents)
    with pytest.raises(InvalidState) as refused:
        floor.pause_after_call("x", True, "colacion", 2.0)
    assert refused.value.message == (
        f'Cannot pause after the call in state "{state}": there is no call to wait for'
    )
    assert floor.agents == before
