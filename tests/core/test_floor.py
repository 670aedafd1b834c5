"""The floor's rules: strict FIFO, longest-idle pairing, offers that fall through, ends."""

from __future__ import annotations

from collections.abc import Sequence

import pytest

from branch.core.floor import (
    AgentChanged,
    AgentState,
    CallStarted,
    ContactEnded,
    EndReason,
    Floor,
    Offered,
    OfferWithdrawn,
    QueueChanged,
    Waiting,
)
from branch.errors import AlreadyQueued, InvalidState, NoOffer, NotInCall, NotQueued


def citizen(name: str, joined_at: float, service: str = "general") -> Waiting:
    return Waiting(f"c-{name}", name, name.title(), service, "otro", "", f"F-{name}", joined_at)


def offers(events: Sequence[object]) -> list[tuple[str, str]]:
    return [(e.call.citizen_id, e.call.agent_id) for e in events if isinstance(e, Offered)]


@pytest.mark.parametrize(
    ("arrivals", "expected"),
    [
        ([("ana", 1.0), ("bea", 2.0), ("cam", 3.0)], ["ana", "bea", "cam"]),
        ([("cam", 3.0), ("ana", 1.0), ("bea", 2.0)], ["ana", "bea", "cam"]),
        ([("bea", 2.0), ("ana", 2.0)], ["ana", "bea"]),  # same instant: contact id breaks the tie
    ],
)
def test_waiting_line_is_ordered_by_join_time(
    arrivals: list[tuple[str, float]], expected: list[str]
) -> None:
    floor = Floor()
    for name, at in arrivals:
        floor.join(citizen(name, at), now=at)
    assert [entry.citizen_id for entry in floor.waiting] == expected
    assert [floor.position(name) for name in expected] == list(range(1, len(expected) + 1))


def test_positions_are_counted_per_service() -> None:
    floor = Floor()
    floor.join(citizen("ana", 1.0, "a"), 1.0)
    floor.join(citizen("bea", 2.0, "b"), 2.0)
    floor.join(citizen("cam", 3.0, "a"), 3.0)
    assert (floor.position("ana"), floor.position("bea"), floor.position("cam")) == (1, 1, 2)
    assert floor.position("nobody") is None


def test_joining_twice_is_refused() -> None:
    floor = Floor()
    floor.join(citizen("ana", 1.0), 1.0)
    with pytest.raises(AlreadyQueued, match="Ya estás en la fila"):
        floor.join(Waiting("c-other", "ana", "Ana", "general", "otro", "", "F", 2.0), 2.0)


def test_available_executive_gets_the_longest_waiting_citizen() -> None:
    floor = Floor()
    floor.join(citizen("bea", 2.0), 2.0)
    floor.join(citizen("ana", 1.0), 2.5)
    events = floor.agent_available("exe", "Ejecutiva", 3.0)
    assert offers(events) == [("ana", "exe")]
    assert [e.agent.state for e in events if isinstance(e, AgentChanged)] == [
        AgentState.AVAILABLE,
        AgentState.OFFERED,
    ]
    assert floor.position("bea") == 1


@pytest.mark.parametrize(
    ("ready_order", "expected_agent"),
    [
        (["x", "y"], "x"),  # x has been idle longer
        (["y", "x"], "y"),
    ],
)
def test_citizen_goes_to_the_executive_idle_longest(
    ready_order: list[str], expected_agent: str
) -> None:
    floor = Floor()
    for step, agent in enumerate(ready_order):
        floor.agent_available(agent, agent.upper(), now=float(step))
    events = floor.join(citizen("ana", 10.0), 10.0)
    assert offers(events) == [("ana", expected_agent)]


def test_several_executives_take_several_citizens_in_order() -> None:
    floor = Floor()
    for index, name in enumerate(["ana", "bea", "cam"]):
        floor.join(citizen(name, float(index)), float(index))
    floor.agent_available("x", "X", 5.0)
    events = floor.agent_available("y", "Y", 6.0)
    assert offers(events) == [("bea", "y")]
    assert floor.call_of_citizen("ana") is not None
    assert [entry.citizen_id for entry in floor.waiting] == ["cam"]


def test_nobody_is_offered_without_an_available_executive() -> None:
    floor = Floor()
    floor.agent_not_ready("x", "X", 0.0)
    assert offers(floor.join(citizen("ana", 1.0), 1.0)) == []


def test_accept_starts_the_call() -> None:
    floor = Floor()
    floor.join(citizen("ana", 1.0), 1.0)
    floor.agent_available("x", "X", 2.0)
    events = floor.accept("x", "c-ana", 3.0)
    started = [e for e in events if isinstance(e, CallStarted)]
    assert started and started[0].call.answered_at == 3.0
    assert floor.agents["x"].state is AgentState.IN_CALL


@pytest.mark.parametrize(("agent", "contact"), [("x", "c-bea"), ("y", "c-ana")])
def test_accept_without_that_offer_is_refused(agent: str, contact: str) -> None:
    floor = Floor()
    floor.join(citizen("ana", 1.0), 1.0)
    floor.agent_available("x", "X", 2.0)
    floor.agent_not_ready("y", "Y", 2.0)
    with pytest.raises(NoOffer):
        floor.accept(agent, contact, 3.0)


def test_executive_leaving_during_an_offer_puts_the_citizen_back_at_the_head() -> None:
    floor = Floor()
    floor.join(citizen("ana", 1.0), 1.0)
    floor.agent_available("x", "X", 2.0)
    floor.join(citizen("bea", 3.0), 3.0)
    events = floor.agent_gone("x", 4.0)
    assert any(isinstance(e, OfferWithdrawn) and e.requeued for e in events)
    assert [entry.citizen_id for entry in floor.waiting] == ["ana", "bea"]
    assert "x" not in floor.agents
    # The next executive gets ana, not bea.
    assert offers(floor.agent_available("y", "Y", 5.0)) == [("ana", "y")]


def test_citizen_leaving_during_an_offer_frees_the_executive_for_the_next() -> None:
    floor = Floor()
    floor.join(citizen("ana", 1.0), 1.0)
    floor.join(citizen("bea", 2.0), 2.0)
    floor.agent_available("x", "X", 3.0)
    events = floor.leave("ana", 4.0)
    ended = [e for e in events if isinstance(e, ContactEnded)]
    assert ended[0].reason is EndReason.CITIZEN_LEFT and not ended[0].in_call
    assert offers(events) == [("bea", "x")]


@pytest.mark.parametrize(
    ("who", "reason", "agent_state"),
    [
        ("ana", EndReason.COMPLETED, AgentState.WRAP_UP),
        ("x", EndReason.COMPLETED, AgentState.WRAP_UP),
    ],
)
def test_hangup_ends_the_call_and_starts_wrap_up(
    who: str, reason: EndReason, agent_state: AgentState
) -> None:
    floor = Floor()
    floor.join(citizen("ana", 1.0), 1.0)
    floor.agent_available("x", "X", 2.0)
    floor.accept("x", "c-ana", 3.0)
    events = floor.hangup(who, "c-ana", 9.0)
    ended = [e for e in events if isinstance(e, ContactEnded)]
    assert ended[0].reason is reason and ended[0].in_call
    assert ended[0].by == ("citizen" if who == "ana" else "executive")
    assert floor.agents["x"].state is agent_state
    assert floor.calls == {}


def test_hangup_by_an_outsider_is_refused() -> None:
    floor = Floor()
    floor.join(citizen("ana", 1.0), 1.0)
    floor.agent_available("x", "X", 2.0)
    floor.accept("x", "c-ana", 3.0)
    with pytest.raises(NotInCall):
        floor.hangup("mallory", "c-ana", 4.0)


@pytest.mark.parametrize(
    ("gone", "reason"),
    [("citizen", EndReason.CITIZEN_DROPPED), ("executive", EndReason.EXECUTIVE_DROPPED)],
)
def test_a_dropped_page_ends_the_call(gone: str, reason: EndReason) -> None:
    floor = Floor()
    floor.join(citizen("ana", 1.0), 1.0)
    floor.agent_available("x", "X", 2.0)
    floor.accept("x", "c-ana", 3.0)
    events = floor.citizen_gone("ana", 4.0) if gone == "citizen" else floor.agent_gone("x", 4.0)
    ended = [e for e in events if isinstance(e, ContactEnded)]
    assert [e.reason for e in ended] == [reason]
    assert floor.calls == {}


def test_waiting_citizen_dropping_ends_the_contact_as_dropped() -> None:
    floor = Floor()
    floor.join(citizen("ana", 1.0), 1.0)
    events = floor.citizen_gone("ana", 2.0)
    assert QueueChanged("general") in events
    assert [e.reason for e in events if isinstance(e, ContactEnded)] == [EndReason.CITIZEN_DROPPED]
    assert floor.citizen_gone("ana", 3.0) == []


def test_leave_when_not_waiting_is_refused() -> None:
    with pytest.raises(NotQueued):
        Floor().leave("ana", 1.0)


def test_wrap_up_returns_the_executive_and_serves_the_next() -> None:
    floor = Floor()
    floor.join(citizen("ana", 1.0), 1.0)
    floor.agent_available("x", "X", 2.0)
    floor.accept("x", "c-ana", 3.0)
    floor.hangup("ana", "c-ana", 4.0)
    floor.join(citizen("bea", 5.0), 5.0)
    assert floor.agents["x"].state is AgentState.WRAP_UP
    events = floor.wrapup_done("x", "c-ana", AgentState.AVAILABLE, 6.0)
    assert offers(events) == [("bea", "x")]


def test_executive_states_pass_one_guard() -> None:
    floor = Floor()
    floor.join(citizen("ana", 1.0), 1.0)
    floor.agent_available("x", "X", 2.0)
    floor.accept("x", "c-ana", 3.0)
    with pytest.raises(InvalidState, match='Cannot go from "in_call" to "not_ready"'):
        floor.agent_not_ready("x", "X", 4.0)
    with pytest.raises(InvalidState, match='Cannot go from "in_call" to "available"'):
        floor.agent_available("x", "X", 4.0)


def test_repeating_a_state_emits_no_change() -> None:
    floor = Floor()
    floor.agent_not_ready("x", "X", 1.0)
    assert floor.agent_not_ready("x", "X", 2.0) == []
    assert floor.agents["x"].since == 1.0


def test_waiting_entry_validates_itself() -> None:
    with pytest.raises(ValueError, match="needs a contact and a citizen"):
        Waiting("", "ana", "Ana", "general", "otro", "", "F", 1.0)


def test_an_absent_citizen_keeps_the_place_but_is_skipped() -> None:
    floor = Floor()
    floor.join(citizen("ana", 1.0), 1.0)
    floor.join(citizen("bea", 2.0), 2.0)
    assert floor.citizen_away("ana", 3.0) == []
    assert floor.position("ana") == 1
    assert offers(floor.agent_available("x", "X", 4.0)) == [("bea", "x")]
    # Back before the grace ends: still first in line, and offered next.
    assert floor.citizen_back("ana", 5.0) == []
    assert offers(floor.agent_available("y", "Y", 6.0)) == [("ana", "y")]


def test_a_citizen_who_leaves_while_offered_goes_back_to_the_same_place() -> None:
    floor = Floor()
    floor.join(citizen("ana", 1.0), 1.0)
    floor.join(citizen("bea", 2.0), 2.0)
    floor.agent_available("x", "X", 3.0)
    events = floor.citizen_away("ana", 4.0)
    withdrawn = [e for e in events if isinstance(e, OfferWithdrawn)]
    assert withdrawn and withdrawn[0].requeued and withdrawn[0].reason is EndReason.CITIZEN_DROPPED
    assert offers(events) == [("bea", "x")]
    assert floor.position("ana") == 1 and floor.find_waiting("ana") is not None


@pytest.mark.parametrize(("elapsed", "dropped"), [(119.0, False), (120.0, True), (300.0, True)])
def test_grace_expiry(elapsed: float, dropped: bool) -> None:
    floor = Floor()
    floor.join(citizen("ana", 1.0), 1.0)
    floor.citizen_away("ana", 10.0)
    events = floor.expire_absent(10.0 + elapsed, grace=120.0)
    ended = [e.reason for e in events if isinstance(e, ContactEnded)]
    assert ended == ([EndReason.CITIZEN_DROPPED] if dropped else [])
    assert (floor.find_waiting("ana") is None) is dropped


def test_present_citizens_never_expire() -> None:
    floor = Floor()
    floor.join(citizen("ana", 1.0), 1.0)
    assert floor.expire_absent(10_000.0, grace=120.0) == []


def test_a_call_in_progress_ends_when_the_citizen_page_vanishes() -> None:
    floor = Floor()
    floor.join(citizen("ana", 1.0), 1.0)
    floor.agent_available("x", "X", 2.0)
    floor.accept("x", "c-ana", 3.0)
    events = floor.citizen_away("ana", 4.0)
    assert [e.reason for e in events if isinstance(e, ContactEnded)] == [EndReason.CITIZEN_DROPPED]
