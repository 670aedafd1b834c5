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
    FloorRules,
    Offered,
    OfferWithdrawn,
    QueueChanged,
    Waiting,
    WrapupTimedOut,
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
    assert withdrawn and withdrawn[0].requeued and withdrawn[0].cause == "citizen_dropped"
    assert offers(events) == [("bea", "x")]
    assert floor.position("ana") == 1 and floor.find_waiting("ana") is not None


@pytest.mark.parametrize(("elapsed", "dropped"), [(119.0, False), (120.0, True), (300.0, True)])
def test_grace_expiry(elapsed: float, dropped: bool) -> None:
    floor = Floor(FloorRules(grace=120.0))
    floor.join(citizen("ana", 1.0), 1.0)
    floor.citizen_away("ana", 10.0)
    events = floor.tick(10.0 + elapsed)
    ended = [e.reason for e in events if isinstance(e, ContactEnded)]
    assert ended == ([EndReason.CITIZEN_DROPPED] if dropped else [])
    assert (floor.find_waiting("ana") is None) is dropped


def test_present_citizens_never_expire() -> None:
    floor = Floor()
    floor.join(citizen("ana", 1.0), 1.0)
    assert floor.tick(10_000.0) == []


def test_a_call_in_progress_ends_when_the_citizen_page_vanishes() -> None:
    floor = Floor()
    floor.join(citizen("ana", 1.0), 1.0)
    floor.agent_available("x", "X", 2.0)
    floor.accept("x", "c-ana", 3.0)
    events = floor.citizen_away("ana", 4.0)
    assert [e.reason for e in events if isinstance(e, ContactEnded)] == [EndReason.CITIZEN_DROPPED]


RULES = FloorRules(grace=120.0, offer_timeout=20.0, max_missed=2, missed_cooldown=15.0, wrapup=60.0)


def offered_floor() -> Floor:
    floor = Floor(RULES)
    floor.join(citizen("ana", 1.0), 1.0)
    floor.join(citizen("bea", 2.0), 2.0)
    floor.agent_available("x", "X", 10.0)
    return floor


@pytest.mark.parametrize(("elapsed", "expired"), [(19.9, False), (20.0, True)])
def test_an_unanswered_offer_returns_the_citizen_to_the_head(elapsed: float, expired: bool) -> None:
    floor = offered_floor()
    events = floor.tick(10.0 + elapsed)
    withdrawn = [e for e in events if isinstance(e, OfferWithdrawn)]
    assert bool(withdrawn) is expired
    if expired:
        assert withdrawn[0].cause == "no_answer" and withdrawn[0].requeued
        assert [entry.citizen_id for entry in floor.waiting] == ["ana", "bea"]
        agent = floor.agents["x"]
        assert (agent.state, agent.pause_reason, agent.missed) == (
            AgentState.NOT_READY,
            "no_answer",
            1,
        )


def test_one_miss_is_forgiven_after_the_cooldown_two_need_the_person() -> None:
    floor = offered_floor()
    floor.tick(30.0)  # first miss at 30
    assert floor.tick(44.0) == []
    events = floor.tick(45.0)  # cooldown over: available again, and offered ana again
    assert offers(events) == [("ana", "x")]
    floor.tick(65.0)  # second miss in a row
    assert floor.agents["x"].missed == 2
    assert offers(floor.tick(1000.0)) == []
    assert floor.agents["x"].state is AgentState.NOT_READY
    # Coming back by hand clears the streak.
    assert offers(floor.agent_available("x", "X", 1001.0)) == [("ana", "x")]
    assert floor.agents["x"].missed == 0


def test_accepting_clears_the_streak() -> None:
    floor = offered_floor()
    floor.tick(30.0)
    floor.tick(45.0)
    floor.accept("x", "c-ana", 46.0)
    assert floor.agents["x"].missed == 0


def test_decline_keeps_the_citizen_first_and_pauses_the_executive() -> None:
    floor = offered_floor()
    floor.agent_available("y", "Y", 11.0)  # bea went to y
    events = floor.decline("x", "c-ana", "conflicto", 12.0)
    withdrawn = [e for e in events if isinstance(e, OfferWithdrawn)]
    assert (withdrawn[0].cause, withdrawn[0].detail) == ("declined", "conflicto")
    assert floor.position("ana") == 1
    assert (floor.agents["x"].state, floor.agents["x"].pause_reason) == (
        AgentState.NOT_READY,
        "declined",
    )
    with pytest.raises(NoOffer):
        floor.decline("x", "c-ana", "otro", 13.0)


def test_not_ready_while_offered_must_decline() -> None:
    floor = offered_floor()
    with pytest.raises(InvalidState, match="decline the offer instead"):
        floor.agent_not_ready("x", "X", 11.0, "descanso")


def test_pause_reason_is_part_of_the_state() -> None:
    floor = Floor()
    floor.agent_not_ready("x", "X", 1.0, "descanso")
    events = floor.agent_not_ready("x", "X", 2.0, "colacion")
    assert [e.agent.pause_reason for e in events if isinstance(e, AgentChanged)] == ["colacion"]


@pytest.mark.parametrize(("elapsed", "timed_out"), [(59.0, False), (60.0, True)])
def test_wrap_up_is_time_boxed(elapsed: float, timed_out: bool) -> None:
    floor = offered_floor()
    floor.accept("x", "c-ana", 11.0)
    floor.hangup("ana", "c-ana", 100.0)
    events = floor.tick(100.0 + elapsed)
    assert [e.contact_id for e in events if isinstance(e, WrapupTimedOut)] == (
        ["c-ana"] if timed_out else []
    )
    if timed_out:
        assert offers(events) == [("bea", "x")]


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("grace", -1.0, "grace must be 0 or more, not -1.0"),
        ("max_missed", 0, "max_missed must be 1 or more, not 0"),
    ],
)
def test_rules_validate_themselves(field: str, value: float, message: str) -> None:
    with pytest.raises(ValueError) as caught:
        FloorRules(**{field: value})  # type: ignore[arg-type]
    assert str(caught.value) == message
