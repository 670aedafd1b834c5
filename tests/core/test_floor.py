"""The floor's rules: strict FIFO, longest-idle pairing, offers that fall through, ends."""

from __future__ import annotations

from collections.abc import Sequence

import pytest

from branch.core.floor import (
    AgentChanged,
    AgentState,
    CallInterrupted,
    CallResumed,
    CallStarted,
    CitizenSkipped,
    ContactEnded,
    EndReason,
    Floor,
    FloorRules,
    Offered,
    OfferWithdrawn,
    QueueChanged,
    ReadinessCheck,
    StaffingChanged,
    Waiting,
    WrapupTimedOut,
    place_in_line,
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
        floor.agent_available("x", "X", 4.0, (("otro",),))
    assert floor.agents["x"].skills == (), "a refused change leaves no trace"


def test_available_again_while_offered_is_refused_and_keeps_the_one_offer() -> None:
    floor = Floor()
    floor.join(citizen("ana", 1.0), 1.0)
    floor.join(citizen("bea", 2.0), 2.0)
    floor.agent_available("x", "X", 3.0)
    with pytest.raises(InvalidState) as raised:
        floor.agent_available("x", "X", 4.0)
    assert str(raised.value) == 'Cannot go from "offered" to "available": answer it first'
    assert [(call.citizen_id, call.agent_id) for call in floor.calls.values()] == [("ana", "x")]


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


def call_floor() -> Floor:
    floor = Floor(FloorRules(grace=120.0))
    floor.join(citizen("ana", 1.0), 1.0)
    floor.agent_available("x", "X", 2.0)
    floor.accept("x", "c-ana", 3.0)
    return floor


@pytest.mark.parametrize("who", ["citizen", "executive"])
def test_a_call_is_held_while_one_page_is_away_and_resumes(who: str) -> None:
    floor = call_floor()
    away = floor.citizen_away("ana", 4.0) if who == "citizen" else floor.agent_away("x", 4.0)
    assert [(type(e).__name__, e.who) for e in away if isinstance(e, CallInterrupted)] == [
        ("CallInterrupted", who)
    ]
    assert not [e for e in away if isinstance(e, ContactEnded)]
    assert floor.agents["x"].state is AgentState.IN_CALL
    assert floor.tick(4.0 + 119.0) == []  # still within the grace
    back = floor.citizen_back("ana", 124.0) if who == "citizen" else floor.agent_back("x", 124.0)
    assert [e.who for e in back if isinstance(e, CallResumed)] == [who]
    call = floor.call_of_citizen("ana")
    assert call is not None and (call.citizen_absent_since, call.agent_absent_since) == (None, None)
    assert floor.tick(10_000.0) == []  # present again: no expiry


@pytest.mark.parametrize(
    ("who", "reason"),
    [("citizen", EndReason.CITIZEN_DROPPED), ("executive", EndReason.EXECUTIVE_DROPPED)],
)
def test_a_call_held_past_the_grace_ends_as_dropped(who: str, reason: EndReason) -> None:
    floor = call_floor()
    if who == "citizen":
        floor.citizen_away("ana", 4.0)
    else:
        floor.agent_away("x", 4.0)
    events = floor.tick(124.0)
    assert [e.reason for e in events if isinstance(e, ContactEnded)] == [reason]
    assert floor.call_of_citizen("ana") is None
    if who == "citizen":
        assert floor.agents["x"].state is AgentState.WRAP_UP
    else:
        assert "x" not in floor.agents


def test_a_call_ended_while_the_executive_is_away_records_the_default_wrap_up() -> None:
    floor = call_floor()
    floor.agent_away("x", 4.0)
    events = floor.hangup("ana", "c-ana", 5.0)
    assert [type(e).__name__ for e in events if isinstance(e, WrapupTimedOut | ContactEnded)] == [
        "ContactEnded",
        "WrapupTimedOut",
    ]
    assert "x" not in floor.agents  # nobody at the desk: not offered anyone


def test_an_executive_away_without_a_call_is_gone_at_once() -> None:
    floor = Floor()
    floor.join(citizen("ana", 1.0), 1.0)
    floor.agent_available("x", "X", 2.0)  # ana is offered to x
    events = floor.agent_away("x", 3.0)
    assert [e.cause for e in events if isinstance(e, OfferWithdrawn)] == ["executive_gone"]
    assert "x" not in floor.agents and floor.position("ana") == 1


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


# ------------------------------------------------------------ services, skills, routing


@pytest.mark.parametrize(
    ("skills", "expected"),
    [
        ((), "ana"),  # every service alike: the longest waiting overall
        ((("triage", "especialista"),), "ana"),  # one tier: still the longest waiting
        ((("especialista",), ("triage",)), "bea"),  # especialista first, though bea came later
        ((("triage",), ("especialista",)), "ana"),
        ((("especialista",),), "bea"),
        ((("otro",),), None),  # serves nothing that has people waiting
    ],
)
def test_an_executive_takes_the_longest_waiting_of_the_first_skill_tier_with_people(
    skills: tuple[tuple[str, ...], ...], expected: str | None
) -> None:
    floor = Floor()
    floor.join(citizen("ana", 1.0, "triage"), 1.0)
    floor.join(citizen("bea", 2.0, "especialista"), 2.0)
    floor.join(citizen("cam", 3.0, "especialista"), 3.0)
    events = floor.agent_available("x", "X", 4.0, skills=skills)
    assert offers(events) == ([(expected, "x")] if expected else [])


def test_staffed_counts_only_executives_serving_the_service() -> None:
    floor = Floor()
    floor.agent_not_ready("x", "X", 1.0, skills=(("triage",),))
    floor.agent_available("y", "Y", 1.0, skills=(("triage", "especialista"),))
    floor.agent_available("z", "Z", 1.0)  # every service
    assert (floor.staffed("triage"), floor.staffed("especialista"), floor.staffed()) == (3, 2, 3)
    floor.agent_gone("z", 2.0)
    assert floor.staffed("especialista") == 1


def test_a_skill_change_applies_at_the_next_state_change() -> None:
    floor = Floor()
    floor.join(citizen("ana", 1.0, "especialista"), 1.0)
    assert offers(floor.agent_available("x", "X", 2.0, skills=(("triage",),))) == []
    floor.agent_not_ready("x", "X", 3.0)  # skills None: unchanged
    assert floor.agents["x"].skills == (("triage",),)
    assert offers(floor.agent_available("x", "X", 4.0, skills=(("especialista",),))) == [
        ("ana", "x")
    ]


def serve(floor: Floor, agent: str, now: float) -> None:
    """One whole call for the executive, from whoever waits."""
    name = f"{agent}-{now:g}"
    floor.join(citizen(name, now), now)
    call = floor.call_of_citizen(name)
    assert call is not None and call.agent_id == agent
    floor.accept(agent, call.contact_id, now)
    floor.hangup(agent, call.contact_id, now)
    floor.wrapup_done(agent, call.contact_id, AgentState.AVAILABLE, now)


@pytest.mark.parametrize(
    ("routing", "expected"),
    [
        # x idle since 30, y since 20, z since 10
        ("longest_idle", ["z", "y", "x"]),
        # answered today: x 0, y 2, z 1 — then idle time
        ("fewest_contacts", ["x", "z", "y"]),
        # after the last one offered (y), in RUN order, wrapping around
        ("round_robin", ["z", "x", "y"]),
    ],
)
def test_routing_strategies(routing: str, expected: list[str]) -> None:
    floor = Floor(FloorRules(routing=routing))  # type: ignore[arg-type]
    floor.agent_available("y", "Y", 1.0)
    serve(floor, "y", 2.0)
    floor.agent_available("z", "Z", 3.0)
    floor.agent_not_ready("y", "Y", 3.0)
    serve(floor, "z", 4.0)
    floor.agent_not_ready("z", "Z", 4.0)
    floor.agent_available("y", "Y", 5.0)
    serve(floor, "y", 6.0)  # y has answered 2, z 1, x 0; y was offered last
    floor.agent_not_ready("y", "Y", 6.0)
    floor.agent_available("z", "Z", 10.0)
    floor.agent_available("y", "Y", 20.0)
    floor.agent_available("x", "X", 30.0)
    order = []
    for step, name in enumerate(["p", "q", "r"]):
        events = floor.join(citizen(name, 40.0 + step), 40.0 + step)
        order += [agent for _, agent in offers(events)]
    assert order == expected


def test_fewest_contacts_counts_the_local_day() -> None:
    # 2026-11-24 23:59 and 2026-11-25 00:01 in Santiago (UTC-3).
    before, after = 1795575540.0, 1795575660.0
    floor = Floor(FloorRules(routing="fewest_contacts"))  # type: ignore[arg-type]
    floor.agent_available("x", "X", before)
    serve(floor, "x", before)
    assert floor.answered_today("x", before) == 1
    assert floor.answered_today("x", after) == 0
    floor.agent_gone("x", before)
    assert floor.answered_today("x", before) == 1  # logging out does not reset the count


def in_call(floor: Floor, name: str, agent: str, now: float, service: str = "triage") -> str:
    floor.join(citizen(name, now, service), now)
    floor.agent_available(agent, agent.upper(), now)
    call = floor.call_of_citizen(name)
    assert call is not None
    floor.accept(agent, call.contact_id, now)
    return call.contact_id


def test_a_transfer_keeps_the_first_join_time_as_priority() -> None:
    floor = Floor()
    contact = in_call(floor, "ana", "x", 1.0)
    floor.join(citizen("bea", 5.0, "especialista"), 5.0)  # came after ana
    moved = Waiting(
        "c-ana-2", "ana", "Ana", "especialista", "otro", "", "F-ana-2", 1.0, None, contact, "nota"
    )
    events = floor.transfer("x", contact, moved, 9.0)
    ended = [e for e in events if isinstance(e, ContactEnded)]
    assert [(e.reason, e.by, e.in_call) for e in ended] == [
        (EndReason.TRANSFERRED, "executive", True)
    ]
    assert floor.agents["x"].state is AgentState.WRAP_UP
    assert [e.citizen_id for e in floor.waiting_in("especialista")] == ["ana", "bea"]
    assert floor.position("ana") == 1
    events = floor.agent_available("y", "Y", 10.0, skills=(("especialista",),))
    [offered] = [e for e in events if isinstance(e, Offered)]
    assert offered.call.waiting.transfer_note == "nota"
    assert offered.call.waiting.transferred_from == contact


def test_transfer_rules() -> None:
    floor = Floor()
    contact = in_call(floor, "ana", "x", 1.0)
    moved = Waiting("c-2", "ana", "Ana", "especialista", "otro", "", "F-2", 1.0)
    with pytest.raises(NotInCall):
        floor.transfer("y", contact, moved, 2.0)  # not y's call
    with pytest.raises(InvalidState, match="ya está en ese servicio"):
        floor.transfer("x", contact, Waiting("c-2", "ana", "Ana", "triage", "o", "", "F", 1.0), 2.0)
    with pytest.raises(ValueError, match="keeps the citizen and the first join time"):
        floor.transfer(
            "x", contact, Waiting("c-2", "ana", "A", "especialista", "o", "", "F", 2.0), 2.0
        )
    floor.join(citizen("bea", 3.0), 3.0)
    floor.agent_available("y", "Y", 3.0)
    offer = floor.call_of_citizen("bea")
    assert offer is not None
    with pytest.raises(NotInCall):
        floor.transfer("y", offer.contact_id, moved, 4.0)  # an offer is not a call yet


def test_closing_a_queue_lets_its_waiting_citizens_go() -> None:
    floor = Floor()
    floor.join(citizen("ana", 1.0, "triage"), 1.0)
    floor.join(citizen("bea", 2.0, "especialista"), 2.0)
    floor.join(citizen("cam", 3.0, "triage"), 3.0)
    floor.agent_available("x", "X", 4.0, skills=(("triage",),))  # ana is being offered
    events = floor.close_queue("triage", 5.0)
    ended = [(e.waiting.citizen_id, e.reason, e.by) for e in events if isinstance(e, ContactEnded)]
    assert ended == [("cam", EndReason.CLOSED, "system")]
    assert QueueChanged("triage") in events
    assert [e.citizen_id for e in floor.waiting] == ["bea"]
    assert floor.call_of_citizen("ana") is not None  # an offer under way goes on
    assert floor.close_queue("triage", 6.0) == []


def staffing(events: Sequence[object]) -> list[str]:
    return [e.agent.agent_id for e in events if isinstance(e, StaffingChanged)]


def test_staffing_changes_only_when_an_executive_logs_in_or_out() -> None:
    floor = Floor()
    assert staffing(floor.agent_not_ready("x", "X", 1.0)) == ["x"]
    assert staffing(floor.agent_available("x", "X", 2.0)) == []
    assert staffing(floor.agent_not_ready("x", "X", 3.0, "descanso")) == []
    assert staffing(floor.agent_gone("x", 4.0)) == ["x"]


# ------------------------------------------------------------ two-sided readiness

CHECKED = FloorRules(readiness=10.0, grace=120.0)


def test_the_executive_is_offered_only_once_the_citizen_page_confirms() -> None:
    floor = Floor(CHECKED)
    floor.join(citizen("ana", 1.0), 1.0)
    events = floor.agent_available("x", "X", 2.0)
    checks = [e.call for e in events if isinstance(e, ReadinessCheck)]
    assert [c.contact_id for c in checks] == ["c-ana"] and offers(events) == []
    assert floor.agents["x"].state is AgentState.OFFERED
    with pytest.raises(NoOffer):  # nothing to accept before the citizen is ready
        floor.accept("x", "c-ana", 3.0)
    events = floor.citizen_ready("ana", "c-ana", 5.0)
    assert offers(events) == [("ana", "x")]
    assert floor.citizen_ready("ana", "c-ana", 6.0) == []  # a repeat changes nothing
    # The executive's time to answer starts at the confirmation, not at the check.
    assert floor.tick(5.0 + 19.0) == []
    floor.accept("x", "c-ana", 25.0)


def test_a_citizen_who_does_not_confirm_is_skipped_and_keeps_the_place() -> None:
    floor = Floor(CHECKED)
    floor.join(citizen("ana", 1.0), 1.0)
    floor.join(citizen("bea", 2.0), 2.0)
    floor.agent_available("x", "X", 3.0)
    assert floor.tick(12.9) == []
    events = floor.tick(13.0)
    assert [e.waiting.citizen_id for e in events if isinstance(e, CitizenSkipped)] == ["ana"]
    assert [e.cause for e in events if isinstance(e, OfferWithdrawn)] == ["citizen_not_ready"]
    # The executive was not at fault: still available, and checking bea now.
    assert [e.call.citizen_id for e in events if isinstance(e, ReadinessCheck)] == ["bea"]
    assert floor.agents["x"].missed == 0
    assert floor.position("ana") == 1  # the place is kept ...
    entry = floor.find_waiting("ana")
    assert entry is not None and entry.absent_since == 13.0
    # ... and "I am here" makes ana present again, first in line.
    floor.citizen_ready("ana", "c-ana", 20.0)
    entry = floor.find_waiting("ana")
    assert entry is not None and entry.absent_since is None
    events = floor.tick(23.0)  # bea's check ran out too: ana is first and checked again
    assert [e.waiting.citizen_id for e in events if isinstance(e, CitizenSkipped)] == ["bea"]
    assert [e.call.citizen_id for e in events if isinstance(e, ReadinessCheck)] == ["ana"]


def test_a_skipped_citizen_who_never_comes_back_is_dropped_after_the_grace() -> None:
    floor = Floor(CHECKED)
    floor.join(citizen("ana", 1.0), 1.0)
    floor.agent_available("x", "X", 2.0)
    floor.tick(12.0)
    events = floor.tick(12.0 + 120.0)
    assert [(e.waiting.citizen_id, e.reason) for e in events if isinstance(e, ContactEnded)] == [
        ("ana", EndReason.CITIZEN_DROPPED)
    ]


def wait_limited(**limits: float) -> Floor:
    return Floor(FloorRules(wait_limits=tuple(limits.items())))


def let_go(events: Sequence[object]) -> list[tuple[str, EndReason, str]]:
    return [
        (e.waiting.citizen_id, e.reason, e.by)
        for e in events
        if isinstance(e, ContactEnded) and e.reason is EndReason.WAIT_LIMIT
    ]


@pytest.mark.parametrize(
    ("service", "now", "expected"),
    [
        ("triage", 100.0 + 599.0, []),  # one second short of the limit
        ("triage", 100.0 + 600.0, [("ana", EndReason.WAIT_LIMIT, "system")]),
        ("triage", 100.0 + 3600.0, [("ana", EndReason.WAIT_LIMIT, "system")]),
        ("general", 100.0 + 3600.0, []),  # a service without a hard limit
    ],
)
def test_a_wait_under_way_ends_at_the_services_hard_limit(
    service: str, now: float, expected: list[tuple[str, EndReason, str]]
) -> None:
    floor = wait_limited(triage=600.0)
    floor.join(citizen("ana", 100.0, service), 100.0)
    events = floor.tick(now)
    assert let_go(events) == expected
    assert (floor.find_waiting("ana") is None) == bool(expected)
    if expected:
        assert QueueChanged(service) in events


def test_the_hard_limit_lets_go_only_those_past_it_and_the_rest_move_up() -> None:
    floor = wait_limited(triage=600.0)
    floor.join(citizen("ana", 100.0, "triage"), 100.0)
    floor.join(citizen("bea", 400.0, "triage"), 400.0)
    assert let_go(floor.tick(700.0)) == [("ana", EndReason.WAIT_LIMIT, "system")]
    assert floor.position("bea") == 1
    assert let_go(floor.tick(999.0)) == []
    assert let_go(floor.tick(1000.0)) == [("bea", EndReason.WAIT_LIMIT, "system")]


def test_a_citizen_being_connected_is_not_cut_off_by_the_hard_limit() -> None:
    floor = wait_limited(triage=600.0)
    floor.join(citizen("ana", 100.0, "triage"), 100.0)
    floor.agent_available("x", "X", 690.0)  # offered 10 s before the limit
    assert let_go(floor.tick(705.0)) == []
    assert floor.call_of_citizen("ana") is not None


def test_an_absent_citizen_past_the_grace_is_dropped_not_let_go_by_the_limit() -> None:
    floor = Floor(FloorRules(grace=120.0, wait_limits=(("triage", 600.0),)))
    floor.join(citizen("ana", 100.0, "triage"), 100.0)
    floor.citizen_away("ana", 500.0)
    events = floor.tick(620.0)
    ended = [(e.waiting.citizen_id, e.reason) for e in events if isinstance(e, ContactEnded)]
    assert ended == [("ana", EndReason.CITIZEN_DROPPED)]


@pytest.mark.parametrize(
    ("now", "expected"),
    [
        # Joined at 1, transferred at 2000: far past 600 s since the first join, but the
        # limit of the new line counts from the transfer.
        (2000.0 + 599.0, []),
        (2000.0 + 600.0, [("ana", EndReason.WAIT_LIMIT, "system")]),
    ],
)
def test_after_a_transfer_the_hard_limit_counts_from_the_transfer(
    now: float, expected: list[tuple[str, EndReason, str]]
) -> None:
    floor = wait_limited(especialista=600.0)
    contact = in_call(floor, "ana", "x", 1.0)
    moved = Waiting(
        "c-ana-2", "ana", "Ana", "especialista", "otro", "", "F-ana-2", 1.0, None, contact, "nota"
    )
    floor.transfer("x", contact, moved, 2000.0)
    floor.wrapup_done("x", contact, AgentState.NOT_READY, 2001.0)  # nobody to offer her to
    entry = floor.find_waiting("ana")
    assert entry is not None
    assert (entry.joined_at, entry.in_line_since) == (1.0, 2000.0)  # priority kept
    assert let_go(floor.tick(now)) == expected


@pytest.mark.parametrize("seconds", [0.0, -60.0])
def test_a_wait_limit_must_be_positive(seconds: float) -> None:
    with pytest.raises(ValueError, match=f"wait limit of 'triage' must be positive, not {seconds}"):
        FloorRules(wait_limits=(("triage", seconds),))


@pytest.mark.parametrize(
    ("joined_at", "contact_id", "place"),
    [
        (5.0, "c-zed", 1),  # a transfer keeping an early join goes ahead of everyone
        (10.0, "c-aaa", 1),  # same time as Ana: the contact id breaks the tie
        (10.0, "c-zed", 2),
        (25.0, "c-new", 3),  # between Bea and Cam
        (99.0, "c-new", 4),  # a newcomer: the back of the line
    ],
)
def test_the_place_a_contact_takes_in_a_line(joined_at: float, contact_id: str, place: int) -> None:
    line = [citizen("ana", 10.0), citizen("bea", 20.0), citizen("cam", 30.0)]
    assert place_in_line(line, joined_at, contact_id) == place


def test_going_available_or_pausing_keeps_the_name_and_skills_it_is_given() -> None:
    floor = Floor()
    floor.agent_not_ready("x", "X", 1.0, skills=(("triage",),))
    floor.agent_available("x", "Equis", 2.0)  # no skills given: the current ones stay
    agent = floor.agents["x"]
    assert (agent.name, agent.skills, agent.state) == (
        "Equis",
        (("triage",),),
        AgentState.AVAILABLE,
    )
    floor.agent_not_ready("x", "Equis", 3.0, skills=())
    assert floor.agents["x"].skills == ()
