"""Live-state contract: the same scenarios through the LiveStore interface, on memory and Redis."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import replace

import pytest

from branch.core.floor import (
    AgentState,
    CallInterrupted,
    CallResumed,
    CallStarted,
    CitizenSkipped,
    ContactEnded,
    EndReason,
    FloorRules,
    Offered,
    OfferWithdrawn,
    PauseAfterCallChanged,
    QueueChanged,
    ReadinessCheck,
    Routing,
    Transferred,
    Waiting,
    WrapupTimedOut,
)
from branch.errors import AlreadyQueued, InvalidState, NoOffer, NotInCall, NotQueued
from branch.live.base import Line, Notice
from branch.live.redisstore import RedisLiveStore
from tests.live.conftest import OpenLive, OpenNodes

# 2026-11-24 10:00 in Santiago.
T0 = 1795525200.0


def citizen(name: str, joined_at: float, service: str = "general") -> Waiting:
    return Waiting(f"c-{name}", name, name.title(), service, "otro", "", f"F-{name}", joined_at)


def offers(events: Sequence[object]) -> list[tuple[str, str]]:
    return [(e.call.citizen_id, e.call.agent_id) for e in events if isinstance(e, Offered)]


def ended(events: Sequence[object]) -> list[tuple[str, EndReason]]:
    return [(e.waiting.citizen_id, e.reason) for e in events if isinstance(e, ContactEnded)]


async def test_join_orders_by_join_time_and_counts_positions_per_service(
    open_live: OpenLive,
) -> None:
    store = await open_live()
    for name, at, service in [("cam", 3.0, "a"), ("ana", 1.0, "a"), ("bea", 2.0, "b")]:
        assert await store.join(citizen(name, T0 + at, service), T0 + 5) == [QueueChanged(service)]
    await store.join(citizen("dan", T0 + 1.0, "a"), T0 + 6)  # same instant as ana: id breaks it
    assert [e.citizen_id for e in await store.waiting("a")] == ["ana", "dan", "cam"]
    assert await store.line("a") == Line(3, T0 + 1.0)
    assert await store.line("b") == Line(1, T0 + 2.0)
    assert await store.line("none") == Line()
    status = await store.citizen_status("cam")
    assert (status.waiting, status.position, status.waiting_count, status.call) == (
        citizen("cam", T0 + 3.0, "a"),
        3,
        3,
        None,
    )
    assert (await store.citizen_status("bea")).position == 1
    assert await store.citizen_status("nobody") == type(status)()
    with pytest.raises(AlreadyQueued) as raised:
        await store.join(Waiting("c-x", "ana", "Ana", "b", "otro", "", "F", T0 + 9), T0 + 9)
    assert raised.value.message == "Ya estás en la fila o en una atención"


async def test_leave_and_drop_end_the_contact(open_live: OpenLive) -> None:
    store = await open_live()
    await store.join(citizen("ana", T0), T0)
    await store.join(citizen("bea", T0 + 1), T0 + 1)
    events = await store.leave("ana", T0 + 2)
    assert events == [
        QueueChanged("general"),
        ContactEnded(citizen("ana", T0), EndReason.CITIZEN_LEFT, "citizen", None, T0 + 2),
    ]
    assert ended(await store.citizen_gone("bea", T0 + 3)) == [("bea", EndReason.CITIZEN_DROPPED)]
    assert await store.waiting("general") == []
    with pytest.raises(NotQueued) as raised:
        await store.leave("ana", T0 + 4)
    assert raised.value.message == "No estás en la fila"
    assert await store.citizen_gone("ana", T0 + 4) == []


async def test_a_whole_contact_offer_accept_hangup_wrap_up(open_live: OpenLive) -> None:
    store = await open_live()
    await store.join(citizen("ana", T0), T0)
    await store.join(citizen("bea", T0 + 1), T0 + 1)
    events = await store.agent_available("exe", "Eva", T0 + 2)
    assert offers(events) == [("ana", "exe")]
    status = await store.agent_status("exe")
    assert status.agent is not None and status.agent.state is AgentState.OFFERED
    assert status.call is not None and status.call.contact_id == "c-ana"
    assert (await store.citizen_status("ana")).call == status.call
    assert await store.call("c-ana") == status.call
    assert await store.call("c-bea") is None  # waiting, not offered
    assert (await store.citizen_status("bea")).position == 1
    with pytest.raises(NoOffer) as refused:
        await store.accept("exe", "c-bea", T0 + 3)
    assert refused.value.message == "No hay una atención ofrecida con ese identificador"
    started = await store.accept("exe", "c-ana", T0 + 3)
    assert [type(e).__name__ for e in started] == ["AgentChanged", "CallStarted"]
    assert isinstance(started[1], CallStarted) and started[1].call.answered_at == T0 + 3
    assert await store.call("c-ana") == started[1].call
    with pytest.raises(NotInCall):
        await store.hangup("bea", "c-ana", T0 + 4)
    over = await store.hangup("ana", "c-ana", T0 + 60)
    assert ended(over) == [("ana", EndReason.COMPLETED)]
    assert (await store.agent_status("exe")).agent.state is AgentState.WRAP_UP  # type: ignore[union-attr]
    assert await store.calls() == []
    assert await store.call("c-ana") is None
    served = await store.wrapup_done("exe", "c-ana", AgentState.AVAILABLE, T0 + 70)
    assert offers(served) == [("bea", "exe")]
    with pytest.raises(InvalidState) as raised:
        await store.agent_not_ready("exe", "Eva", T0 + 71)
    assert (
        raised.value.message == 'Cannot go from "offered" to "not_ready": decline the offer instead'
    )


async def test_a_pause_asked_for_in_a_call_holds_through_the_wrap_up_on_any_node(
    open_live: OpenLive,
) -> None:
    store = await open_live()
    # On Redis a second node on the same floor; memory has one floor per process.
    other = await open_live() if isinstance(store, RedisLiveStore) else store
    await store.join(citizen("ana", T0), T0)
    await store.join(citizen("bea", T0 + 1), T0 + 1)
    await store.agent_available("exe", "Eva", T0 + 2)
    await store.accept("exe", "c-ana", T0 + 3)
    asked = await other.pause_after_call("exe", True, "colacion", T0 + 4)
    agent = (await store.agent_status("exe")).agent
    assert agent is not None and asked == [PauseAfterCallChanged(agent)]
    assert (agent.state, agent.pause_after_call, agent.pause_after_reason) == (
        AgentState.IN_CALL,
        True,
        "colacion",
    )
    await store.hangup("ana", "c-ana", T0 + 60)
    done = await other.wrapup_done("exe", "c-ana", AgentState.AVAILABLE, T0 + 70)
    assert offers(done) == []
    agent = (await store.agent_status("exe")).agent
    assert agent is not None
    assert (agent.state, agent.pause_reason, agent.pause_after_call) == (
        AgentState.NOT_READY,
        "colacion",
        False,
    )
    assert (await store.citizen_status("bea")).position == 1
    with pytest.raises(InvalidState) as refused:
        await other.pause_after_call("exe", True, None, T0 + 71)
    assert refused.value.message == (
        'Cannot pause after the call in state "not_ready": there is no call to wait for'
    )


async def test_decline_keeps_the_head_and_offers_the_next_executive(open_live: OpenLive) -> None:
    store = await open_live()
    await store.agent_available("exe", "Eva", T0)
    await store.agent_available("zoe", "Zoe", T0 + 1)
    assert offers(await store.join(citizen("ana", T0 + 2), T0 + 2)) == [("ana", "exe")]
    events = await store.decline("exe", "c-ana", "personal", T0 + 3)
    withdrawn = [e for e in events if isinstance(e, OfferWithdrawn)]
    assert [(e.cause, e.detail, e.requeued) for e in withdrawn] == [("declined", "personal", True)]
    assert offers(events) == [("ana", "zoe")]
    agent = (await store.agent_status("exe")).agent
    assert agent is not None and (agent.state, agent.pause_reason) == (
        AgentState.NOT_READY,
        "declined",
    )


async def test_unanswered_offers_time_out_and_one_miss_is_forgiven(open_live: OpenLive) -> None:
    store = await open_live(FloorRules(offer_timeout=20, missed_cooldown=15))
    await store.join(citizen("ana", T0), T0)
    await store.agent_available("exe", "Eva", T0 + 1)
    assert await store.tick(T0 + 20) == []
    events = await store.tick(T0 + 21)
    assert [(e.cause, e.requeued) for e in events if isinstance(e, OfferWithdrawn)] == [
        ("no_answer", True)
    ]
    assert (await store.citizen_status("ana")).position == 1
    again = await store.tick(T0 + 36)
    assert offers(again) == [("ana", "exe")]
    agent = (await store.agent_status("exe")).agent
    assert agent is not None and agent.missed == 1


async def test_readiness_check_then_skip_keeps_the_place(open_live: OpenLive) -> None:
    store = await open_live(FloorRules(readiness=10))
    await store.join(citizen("ana", T0), T0)
    await store.join(citizen("bea", T0 + 1), T0 + 1)
    events = await store.agent_available("exe", "Eva", T0 + 2)
    assert [e.call.citizen_id for e in events if isinstance(e, ReadinessCheck)] == ["ana"]
    skipped = await store.tick(T0 + 12)
    assert [e.waiting.citizen_id for e in skipped if isinstance(e, CitizenSkipped)] == ["ana"]
    assert [e.call.citizen_id for e in skipped if isinstance(e, ReadinessCheck)] == ["bea"]
    ready = await store.citizen_ready("bea", "c-bea", T0 + 13)
    assert offers(ready) == [("bea", "exe")]
    assert await store.citizen_ready("bea", "c-bea", T0 + 14) == []
    ana = await store.citizen_status("ana")
    assert ana.position == 1 and ana.waiting is not None and ana.waiting.absent_since == T0 + 12


async def test_away_and_back_within_the_grace_and_past_it(open_live: OpenLive) -> None:
    store = await open_live(FloorRules(grace=120))
    await store.join(citizen("ana", T0), T0)
    await store.join(citizen("bea", T0 + 1), T0 + 1)
    await store.citizen_away("ana", T0 + 2)
    assert offers(await store.agent_available("exe", "Eva", T0 + 3)) == [("bea", "exe")]
    assert (await store.citizen_status("ana")).position == 1
    await store.citizen_back("ana", T0 + 4)
    await store.accept("exe", "c-bea", T0 + 5)
    assert await store.citizen_away("bea", T0 + 6) == [
        CallInterrupted((await store.calls())[0], "citizen")
    ]
    resumed = await store.citizen_back("bea", T0 + 7)
    assert [type(e) for e in resumed] == [CallResumed]
    await store.citizen_away("ana", T0 + 8)
    assert await store.tick(T0 + 127) == []
    assert ended(await store.tick(T0 + 128)) == [("ana", EndReason.CITIZEN_DROPPED)]
    await store.agent_away("exe", T0 + 130)
    gone = await store.tick(T0 + 250)
    assert ended(gone) == [("bea", EndReason.EXECUTIVE_DROPPED)]
    assert await store.agents() == []


async def test_the_call_remembers_that_the_citizen_is_audio_only(open_live: OpenLive) -> None:
    store = await open_live()
    await store.join(citizen("ana", T0), T0)
    await store.agent_available("exe", "Eva", T0 + 1)
    with pytest.raises(NotInCall):  # offered, not yet a call
        await store.audio_only("ana", "c-ana", True)
    await store.accept("exe", "c-ana", T0 + 2)
    with pytest.raises(NotInCall):  # only the citizen of that call
        await store.audio_only("exe", "c-ana", True)
    assert await store.audio_only("ana", "c-ana", True) == []
    call = await store.call("c-ana")
    assert call is not None and call.audio_only
    assert (await store.agent_status("exe")).call == call
    await store.audio_only("ana", "c-ana", False)
    assert (await store.call("c-ana")).audio_only is False  # type: ignore[union-attr]

    # Her page goes and comes back: it starts with its video on again.
    await store.audio_only("ana", "c-ana", True)
    await store.citizen_away("ana", T0 + 3)
    await store.citizen_back("ana", T0 + 4)
    assert (await store.call("c-ana")).audio_only is False  # type: ignore[union-attr]


async def test_transfer_keeps_the_first_join_time(open_live: OpenLive) -> None:
    store = await open_live()
    await store.join(citizen("ana", T0), T0)
    await store.join(citizen("zed", T0 + 30, "especial"), T0 + 30)
    await store.agent_available("exe", "Eva", T0 + 40, (("general",),))
    await store.accept("exe", "c-ana", T0 + 41)
    to = Waiting(
        "c-ana2", "ana", "Ana", "especial", "otro", "", "F-2", T0, transferred_from="c-ana"
    )
    events = await store.transfer("exe", "c-ana", to, T0 + 60)
    assert ended(events) == [("ana", EndReason.TRANSFERRED)]
    # The hard wait limit counts from the transfer; the place in line from the first join.
    requeued = replace(to, queued_at=T0 + 60)
    assert [e.to for e in events if isinstance(e, Transferred)] == [requeued]
    assert await store.waiting("especial") == [requeued, citizen("zed", T0 + 30, "especial")]
    with pytest.raises(NotInCall):
        await store.transfer("exe", "c-ana", to, T0 + 61)


async def test_the_hard_wait_limit_lets_go_whoever_is_past_it_even_off_the_head(
    open_live: OpenLive,
) -> None:
    store = await open_live(FloorRules(grace=120, wait_limits=(("general", 600.0),)))
    await store.join(citizen("ana", T0), T0)
    await store.join(citizen("bea", T0 + 10), T0 + 10)
    await store.join(citizen("cam", T0 + 20, "especial"), T0 + 20)  # no limit there
    await store.citizen_away("bea", T0 + 550)  # absent, within the grace: not a head
    assert ended(await store.tick(T0 + 599)) == []
    assert ended(await store.tick(T0 + 600)) == [("ana", EndReason.WAIT_LIMIT)]
    assert ended(await store.tick(T0 + 610)) == [("bea", EndReason.WAIT_LIMIT)]
    assert ended(await store.tick(T0 + 5000)) == []
    assert [e.citizen_id for e in await store.waiting("especial")] == ["cam"]


async def test_after_a_transfer_the_hard_limit_counts_from_the_transfer(
    open_live: OpenLive,
) -> None:
    store = await open_live(FloorRules(wait_limits=(("especial", 600.0),)))
    await store.join(citizen("ana", T0), T0)
    await store.agent_available("exe", "Eva", T0 + 1, (("general",),))
    await store.accept("exe", "c-ana", T0 + 2)
    to = Waiting(
        "c-ana2", "ana", "Ana", "especial", "otro", "", "F-2", T0, transferred_from="c-ana"
    )
    await store.transfer("exe", "c-ana", to, T0 + 1000)
    await store.agent_gone("exe", T0 + 1001)
    await store.join(citizen("zed", T0 + 500, "especial"), T0 + 500)  # behind ana, joined earlier
    assert ended(await store.tick(T0 + 1100)) == [("zed", EndReason.WAIT_LIMIT)]
    assert ended(await store.tick(T0 + 1599)) == []
    assert ended(await store.tick(T0 + 1600)) == [("ana", EndReason.WAIT_LIMIT)]


async def test_close_queue_lets_everyone_in_that_line_go(open_live: OpenLive) -> None:
    store = await open_live()
    await store.join(citizen("ana", T0), T0)
    await store.join(citizen("bea", T0 + 1), T0 + 1)
    await store.join(citizen("cam", T0 + 2, "especial"), T0 + 2)
    events = await store.close_queue("general", T0 + 3)
    assert events[0] == QueueChanged("general")
    assert ended(events) == [("ana", EndReason.CLOSED), ("bea", EndReason.CLOSED)]
    assert await store.close_queue("general", T0 + 4) == []
    assert [e.citizen_id for e in await store.waiting("especial")] == ["cam"]
    assert await store.citizen_status("ana") == type(await store.citizen_status("x"))()


@pytest.mark.parametrize(
    ("routing", "expected"),
    [
        (Routing.LONGEST_IDLE, ["b", "a", "c"]),
        (Routing.ROUND_ROBIN, ["a", "b", "c"]),
        (Routing.FEWEST_CONTACTS, ["b", "a", "c"]),
    ],
)
async def test_routing_strategies(
    open_live: OpenLive, routing: Routing, expected: list[str]
) -> None:
    store = await open_live(FloorRules(routing=routing))
    await store.agent_available("b", "B", T0)
    await store.agent_available("a", "A", T0 + 1)
    await store.agent_available("c", "C", T0 + 2)
    got = []
    for i, name in enumerate(["x1", "x2", "x3"]):
        got += [
            agent for _c, agent in offers(await store.join(citizen(name, T0 + 10 + i), T0 + 10 + i))
        ]
    assert got == expected


async def test_fewest_contacts_counts_answers_today(open_live: OpenLive) -> None:
    store = await open_live(FloorRules(routing=Routing.FEWEST_CONTACTS))
    await store.agent_available("a", "A", T0)
    await store.join(citizen("x1", T0 + 1), T0 + 1)
    await store.accept("a", "c-x1", T0 + 2)
    await store.hangup("a", "c-x1", T0 + 3)
    await store.wrapup_done("a", "c-x1", AgentState.AVAILABLE, T0 + 4)
    await store.agent_available("b", "B", T0 + 5)
    assert offers(await store.join(citizen("x2", T0 + 6), T0 + 6)) == [("x2", "b")]


async def test_skill_tiers_take_the_first_tier_first(open_live: OpenLive) -> None:
    store = await open_live()
    await store.join(citizen("old", T0, "general"), T0)
    await store.join(citizen("new", T0 + 5, "especial"), T0 + 5)
    events = await store.agent_available("exe", "Eva", T0 + 6, (("especial",), ("general",)))
    assert offers(events) == [("new", "exe")]
    assert await store.staffed("especial") == 1 and await store.staffed("otro") == 0
    assert await store.staffed() == 1


async def test_wrap_up_times_out(open_live: OpenLive) -> None:
    store = await open_live(FloorRules(wrapup=120))
    await store.agent_available("exe", "Eva", T0)
    await store.join(citizen("ana", T0 + 1), T0 + 1)
    await store.accept("exe", "c-ana", T0 + 2)
    await store.hangup("exe", "c-ana", T0 + 3)
    events = await store.tick(T0 + 123)
    assert [e for e in events if isinstance(e, WrapupTimedOut)] == [
        WrapupTimedOut("exe", "c-ana", T0 + 123)
    ]
    assert (await store.agent_status("exe")).agent.state is AgentState.AVAILABLE  # type: ignore[union-attr]


async def test_handle_times_keep_the_recent_ones_in_order(open_live: OpenLive) -> None:
    store = await open_live()
    assert await store.handle_times("general") == []
    for seconds in range(25):
        await store.add_handle_time("general", float(seconds) + 0.5)
    assert await store.handle_times("general") == [s + 0.5 for s in range(5, 25)]
    assert await store.handle_times("especial") == []
    await store.ping()


async def test_the_wait_limit_ends_long_waits_even_deep_in_a_long_line(open_live: OpenLive) -> None:
    store = await open_live(FloorRules(wait_limits=(("general", 600.0),)))
    await store.agent_available("exe", "Eva", T0, (("especial",),))
    for i in range(30):
        await store.join(citizen(f"p{i:02d}", T0 + i * 10), T0 + i * 10)
    events = await store.tick(T0 + 600 + 45)
    assert ended(events) == [(f"p{i:02d}", EndReason.WAIT_LIMIT) for i in range(5)]
    assert [e.citizen_id for e in await store.waiting("general")] == [
        f"p{i:02d}" for i in range(5, 30)
    ]


async def test_pairing_after_a_wait_limit_takes_the_next_one_still_in_line(
    open_live: OpenLive,
) -> None:
    store = await open_live(FloorRules(wrapup=120, wait_limits=(("general", 105.0),)))
    await store.agent_available("exe", "Eva", T0)
    await store.join(citizen("first", T0), T0)
    await store.accept("exe", "c-first", T0 + 1)
    await store.hangup("exe", "c-first", T0 + 2)
    for i in range(10):
        await store.join(citizen(f"g{i}", T0 + 10 + 5 * i), T0 + 10 + 5 * i)
    await store.join(citizen("e0", T0 + 30, "especial"), T0 + 30)
    # One tick: two waited too long, and the wrap-up ends, so the executive is free.
    events = await store.tick(T0 + 122)
    assert ended(events) == [("g0", EndReason.WAIT_LIMIT), ("g1", EndReason.WAIT_LIMIT)]
    assert offers(events) == [("g2", "exe")]


async def test_engaged_names_who_is_waiting_offered_or_in_a_call(open_live: OpenLive) -> None:
    store = await open_live(FloorRules(grace=120))
    assert await store.engaged() == set()
    await store.join(citizen("ana", T0), T0)
    await store.join(citizen("bea", T0 + 1), T0 + 1)
    await store.join(citizen("cam", T0 + 2, "especial"), T0 + 2)
    await store.citizen_away("cam", T0 + 3)  # absent, still in line
    assert await store.engaged() == {"ana", "bea", "cam"}
    await store.agent_available("exe", "Eva", T0 + 4, (("general",),))  # offered to ana
    await store.agent_available("zoe", "Zoe", T0 + 4, (("general",),))  # offered to bea
    await store.accept("exe", "c-ana", T0 + 5)
    assert await store.engaged() == {"ana", "bea", "cam"}
    await store.hangup("ana", "c-ana", T0 + 6)
    await store.leave("cam", T0 + 7)
    assert await store.engaged() == {"bea"}


async def test_a_notice_is_current_until_it_runs_out_or_a_later_one_replaces_it(
    open_live: OpenLive,
) -> None:
    store = await open_live()
    assert await store.notice("general", T0) is None
    await store.set_notice(Notice("general", "Hay demoras", T0, T0 + 600))
    assert await store.notice("general", T0 + 599) == Notice("general", "Hay demoras", T0, T0 + 600)
    assert await store.notice("general", T0 + 600) is None
    assert await store.notice("triage", T0) is None

    await store.set_notice(Notice("general", "Ya estamos al día", T0 + 60, T0 + 660))
    assert await store.notice("general", T0 + 61) == Notice(
        "general", "Ya estamos al día", T0 + 60, T0 + 660
    )


async def test_a_notice_set_on_one_node_is_read_on_another(open_nodes: OpenNodes) -> None:
    sending, reading = await open_nodes(2)
    await sending.set_notice(Notice("triage", "Atención: cambio de horario", T0, T0 + 60))
    assert await reading.notice("triage", T0 + 1) == Notice(
        "triage", "Atención: cambio de horario", T0, T0 + 60
    )


async def test_a_cleared_notice_is_gone_on_every_node(open_nodes: OpenNodes) -> None:
    sending, reading = await open_nodes(2)
    notice = Notice("triage", "Atención: cambio de horario", T0, T0 + 60)
    await sending.set_notice(notice)
    await sending.set_notice(Notice("general", "Hay demoras", T0, T0 + 60))
    assert await reading.clear_notice("triage", T0 + 1) == notice
    assert await sending.notice("triage", T0 + 2) is None
    assert await reading.notice("triage", T0 + 2) is None
    assert await sending.clear_notice("triage", T0 + 3) is None  # nothing left to clear
    assert await reading.notice("general", T0 + 3) == Notice("general", "Hay demoras", T0, T0 + 60)


async def test_a_cleared_notice_is_no_longer_current(open_live: OpenLive) -> None:
    store = await open_live()
    notice = Notice("general", "Hay demoras", T0, T0 + 60)
    await store.set_notice(notice)
    await store.set_notice(Notice("triage", "Triage lento", T0, T0 + 60))
    assert await store.clear_notice("general", T0 + 1) == notice
    assert await store.notice("general", T0 + 1) is None
    assert await store.clear_notice("general", T0 + 2) is None  # nothing left to clear
    assert await store.notice("triage", T0 + 2) == Notice("triage", "Triage lento", T0, T0 + 60)

    # One that ran out is removed too, and reported as not current.
    assert await store.clear_notice("triage", T0 + 60) is None
    assert await store.notice("triage", T0) is None


@pytest.mark.parametrize(
    ("fields", "error"),
    [
        (("", "hola", T0, T0 + 1), "a notice needs a service and a text"),
        (("general", "", T0, T0 + 1), "a notice needs a service and a text"),
        (("general", "hola", T0, T0), f"a notice must last: until {T0!r} is not after {T0!r}"),
    ],
)
def test_a_notice_refuses_to_be_built_wrong(
    fields: tuple[str, str, float, float], error: str
) -> None:
    with pytest.raises(ValueError, match="^" + re.escape(error)):
        Notice(*fields)
