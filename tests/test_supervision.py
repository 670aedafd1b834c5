"""Supervision without the web: the wallboard push and each supervisor action with its audit entry."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest

from branch import schema
from branch.auth.identity import Person, Role
from branch.auth.run import Run
from branch.auth.sessions import Session
from branch.config import Queue, load_settings
from branch.errors import (
    CLOSE_REPLACED,
    CLOSE_SESSION_ENDED,
    BadMessage,
    ConfigError,
    Forbidden,
    InvalidState,
    UnknownExecutive,
    UnknownReason,
    UnknownService,
)
from branch.hub import Hub
from branch.live.memory import MemoryLiveStore
from branch.people import User
from branch.records.sqlite import SqliteRecordStore
from branch.service import BranchService
from tests.conftest import ADMIN_RUN
from tests.test_service import ANA, BEA, EXE, Clock, Page, page_for

SUP = User("22.222.222-2", "Sara Vidal", "supervisor")
CRIS = User("15.151.515-1", "Cris Mena", "citizen")
QUEUES = (Queue("general", "Atención general", "General service"), Queue("triage", "Triage"))


@pytest.fixture
def clock() -> Clock:
    return Clock()


def branch(records: SqliteRecordStore, hub: Hub, clock: Clock, **settings: Any) -> BranchService:
    """A service over the two test services, no readiness check, with these settings."""
    config = load_settings({}, service_readiness_seconds=0, queues=QUEUES, **settings)
    return BranchService(config, MemoryLiveStore(config.floor_rules), records, hub, clock)


@pytest.fixture
async def service(
    records: SqliteRecordStore, hub: Hub, clock: Clock
) -> AsyncIterator[BranchService]:
    service = branch(records, hub, clock, supervision_push_interval_ms=50)
    yield service
    await service.supervision.close()


async def board_after(page: Page, seen: int) -> dict[str, Any]:
    """The first wallboard pushed after the ``seen`` ones already there."""
    for _ in range(200):
        boards = page.of("wallboard")
        if len(boards) > seen:
            return boards[seen]
        await asyncio.sleep(0.01)
    raise AssertionError(f"no wallboard pushed after the first {seen}")


async def board_where(page: Page, check: Callable[[dict[str, Any]], bool]) -> dict[str, Any]:
    """The first wallboard pushed that passes ``check`` (pushes may read mid-way through a step)."""
    for _ in range(300):
        for board in page.of("wallboard"):
            if check(board):
                return board
        await asyncio.sleep(0.01)
    raise AssertionError(f"no wallboard passed the check in {len(page.of('wallboard'))} pushed")


async def take_a_call(service: BranchService, exe: Page, service_code: str = "general") -> None:
    """Ana joins, the executive goes available and accepts her."""
    await service.handle(ANA, schema.QueueJoin(reason="otro", service=service_code))
    await service.handle(EXE, schema.AgentAvailable())
    await service.handle(EXE, schema.OfferAccept(contact_id=exe.last("offer")["contactId"]))


async def audited(records: SqliteRecordStore, kind: str) -> list[tuple[str, dict[str, Any]]]:
    return [
        (entry.actor, entry.data) for entry in await records.audit_entries() if entry.kind == kind
    ]


async def test_a_supervisor_page_is_pushed_the_wallboard_as_the_floor_changes(
    service: BranchService, hub: Hub
) -> None:
    sup = await page_for(service, hub, SUP)
    first = await board_after(sup, 0)
    assert first["total"]["waiting"] == 0
    assert [line["code"] for line in first["services"]] == ["general", "triage"]

    await service.handle(ANA, schema.QueueJoin(reason="otro", service="triage"))
    board = await board_after(sup, 1)
    assert board["services"][1]["waiting"] == 1
    assert board["total"]["waiting"] == 1

    exe = await page_for(service, hub, EXE)
    await service.handle(EXE, schema.AgentAvailable())
    await service.handle(EXE, schema.OfferAccept(contact_id=exe.last("offer")["contactId"]))
    board = await board_where(
        sup, lambda b: b["total"]["callsInProgress"] == 1 and b["total"]["today"]["answered"] == 1
    )
    assert board["total"]["waiting"] == 0
    assert [(e["run"], e["state"]) for e in board["executives"]] == [(EXE.person_id, "in_call")]
    assert [call["service"] for call in board["calls"]] == ["triage"]
    assert (board["total"]["today"]["offered"], board["total"]["today"]["answered"]) == (1, 1)


async def test_a_burst_of_changes_is_pushed_once_with_the_last_state(
    records: SqliteRecordStore, hub: Hub, clock: Clock
) -> None:
    service = branch(records, hub, clock, supervision_push_interval_ms=1000)
    sup = await page_for(service, hub, SUP)
    await board_after(sup, 0)  # the first one goes at once
    for citizen in (ANA, BEA, CRIS):
        await service.handle(citizen, schema.QueueJoin(reason="otro", service="general"))
    assert len(sup.of("wallboard")) == 1  # the next one waits out the interval
    board = await board_after(sup, 1)
    assert board["services"][0]["waiting"] == 3
    await asyncio.sleep(0.2)
    assert len(sup.of("wallboard")) == 2
    await service.supervision.close()


async def test_the_wallboard_is_pushed_again_when_nothing_changed_for_a_while(
    records: SqliteRecordStore, hub: Hub, clock: Clock
) -> None:
    service = branch(records, hub, clock, supervision_refresh_seconds=1)
    sup = await page_for(service, hub, SUP)
    await board_after(sup, 0)
    await service.tick()
    assert len(sup.of("wallboard")) == 1  # just pushed: not yet
    clock.advance(30)
    await asyncio.sleep(1.0)
    await service.tick()
    refreshed = sup.of("wallboard")[1]
    assert refreshed["at"] == clock.now


async def test_an_admin_watches_the_wallboard_but_may_not_act(
    service: BranchService, hub: Hub
) -> None:
    admin = User(ADMIN_RUN, "Ada Admin", "admin")
    page = await page_for(service, hub, admin)
    assert (await board_after(page, 0))["total"]["waiting"] == 0
    with pytest.raises(Forbidden) as refused:
        await service.handle(admin, schema.SupervisorBroadcast(service="general", text="Hola"))
    assert refused.value.message == "supervisor.broadcast is not allowed for the admin role"


async def test_nothing_is_computed_without_a_supervisor_page(service: BranchService) -> None:
    service.supervision.changed()
    assert service.supervision._pending is None


async def test_set_an_executive_not_ready(
    service: BranchService, hub: Hub, records: SqliteRecordStore
) -> None:
    sup = await page_for(service, hub, SUP)
    exe = await page_for(service, hub, EXE)
    await service.handle(EXE, schema.AgentAvailable())

    await service.handle(SUP, schema.SupervisorNotReady(executive=EXE.person_id))
    state = exe.last("agent.state")
    assert (state["state"], state["reason"]) == ("not_ready", "supervisor")
    assert sup.last("supervisor.done") == {
        "type": "supervisor.done",
        "action": "supervisor.not_ready",
        "executive": EXE.person_id,
    }
    await service.handle(
        SUP, schema.SupervisorNotReady(executive=EXE.person_id, reason="capacitacion")
    )
    assert exe.last("agent.state")["reason"] == "capacitacion"
    assert await audited(records, "supervisor.not_ready") == [
        (SUP.key, {"executive": EXE.person_id, "reason": "supervisor"}),
        (SUP.key, {"executive": EXE.person_id, "reason": "capacitacion"}),
    ]


async def test_not_ready_is_refused_for_strangers_unknown_reasons_and_busy_executives(
    service: BranchService, hub: Hub, records: SqliteRecordStore
) -> None:
    with pytest.raises(UnknownExecutive) as unknown:
        await service.handle(SUP, schema.SupervisorNotReady(executive="99.999.999-9"))
    assert unknown.value.message == "executive '99.999.999-9' is not logged in"
    exe = await page_for(service, hub, EXE)
    with pytest.raises(UnknownReason) as reason:
        await service.handle(SUP, schema.SupervisorNotReady(executive=EXE.person_id, reason="x"))
    assert reason.value.message == "pause reason 'x' is not in the catalog"

    await take_a_call(service, exe)
    with pytest.raises(InvalidState) as busy:
        await service.handle(SUP, schema.SupervisorNotReady(executive=EXE.person_id))
    assert busy.value.message == (
        f'Cannot set {EXE.person_id} not ready in state "in_call": '
        "ask for a pause after the call instead"
    )
    assert await audited(records, "supervisor.not_ready") == []


async def wrap_up(service: BranchService, exe: Page) -> None:
    """The executive hangs up the call and submits the wrap-up, choosing to be available."""
    contact_id = exe.last("call.started")["contactId"]
    await service.handle(EXE, schema.CallHangup(contact_id=contact_id))
    await service.handle(
        EXE, schema.WrapupSubmit(contact_id=contact_id, outcome="resuelto", reason="otro")
    )


async def test_a_supervisor_pauses_an_executive_after_the_call(
    service: BranchService, hub: Hub, records: SqliteRecordStore
) -> None:
    sup = await page_for(service, hub, SUP)
    exe = await page_for(service, hub, EXE)
    await take_a_call(service, exe)
    bea = await page_for(service, hub, BEA)
    await service.handle(BEA, schema.QueueJoin(reason="otro", service="general"))

    await service.handle(
        SUP, schema.SupervisorPauseAfter(executive=EXE.person_id, reason="capacitacion")
    )
    state = exe.last("agent.state")
    assert (state["state"], state["pauseAfterCall"], state["pauseAfterReason"]) == (
        "in_call",
        True,
        "capacitacion",
    )
    assert sup.last("supervisor.done") == {
        "type": "supervisor.done",
        "action": "supervisor.pause_after",
        "executive": EXE.person_id,
        "pending": True,
    }
    board = await board_where(
        sup, lambda b: [e["pauseAfterCall"] for e in b["executives"]] == [True]
    )
    assert board["executives"][0]["state"] == "in_call"
    # A reload of the console shows the request too.
    exe = await page_for(service, hub, EXE)
    assert exe.last("welcome")["state"]["agent"] == {
        "state": "in_call",
        "since": state["since"],
        "reason": None,
        "pauseAfterCall": True,
        "pauseAfterReason": "capacitacion",
    }

    contact_id = exe.last("welcome")["state"]["call"]["contactId"]
    await service.handle(EXE, schema.CallHangup(contact_id=contact_id))
    await service.handle(
        EXE, schema.WrapupSubmit(contact_id=contact_id, outcome="resuelto", reason="otro")
    )
    state = exe.last("agent.state")
    assert (state["state"], state["reason"], state["pauseAfterCall"]) == (
        "not_ready",
        "capacitacion",
        False,
    )
    assert exe.of("offer") == []  # Bea was not offered to the paused executive
    assert bea.last("queue.position")["position"] == 1
    assert await audited(records, "supervisor.pause_after") == [
        (SUP.key, {"executive": EXE.person_id, "pending": True, "reason": "capacitacion"})
    ]


async def test_a_pause_after_the_call_taken_back_lets_the_next_citizen_come(
    service: BranchService, hub: Hub, records: SqliteRecordStore
) -> None:
    await page_for(service, hub, SUP)
    exe = await page_for(service, hub, EXE)
    await take_a_call(service, exe)
    await page_for(service, hub, BEA)
    await service.handle(BEA, schema.QueueJoin(reason="otro", service="general"))
    await service.handle(SUP, schema.SupervisorPauseAfter(executive=EXE.person_id))
    assert exe.last("agent.state")["pauseAfterReason"] == "supervisor"
    await service.handle(SUP, schema.SupervisorPauseAfter(executive=EXE.person_id, pending=False))
    assert exe.last("agent.state")["pauseAfterCall"] is False
    await wrap_up(service, exe)
    assert exe.last("offer")["citizen"]["run"] == BEA.person_id
    assert await audited(records, "supervisor.pause_after") == [
        (SUP.key, {"executive": EXE.person_id, "pending": True, "reason": "supervisor"}),
        (SUP.key, {"executive": EXE.person_id, "pending": False, "reason": None}),
    ]


async def test_the_executive_asks_for_a_pause_after_the_call_in_wrap_up(
    service: BranchService, hub: Hub
) -> None:
    exe = await page_for(service, hub, EXE)
    await take_a_call(service, exe)
    contact_id = exe.last("call.started")["contactId"]
    await service.handle(EXE, schema.CallHangup(contact_id=contact_id))
    await service.handle(EXE, schema.AgentPauseAfter(reason="colacion"))
    assert exe.last("agent.state")["pauseAfterCall"] is True
    await page_for(service, hub, BEA)
    await service.handle(BEA, schema.QueueJoin(reason="otro", service="general"))
    clock_now = service.clock()
    service.clock = lambda: clock_now + service.settings.service_wrapup_seconds
    await service.tick()  # the wrap-up runs out: the default is recorded, the pause begins
    state = exe.last("agent.state")
    assert (state["state"], state["reason"]) == ("not_ready", "colacion")
    assert exe.last("wrapup.saved")["timedOut"] is True
    assert exe.of("offer")[-1]["citizen"]["run"] == ANA.person_id


@pytest.mark.parametrize(
    ("message", "error", "text"),
    [
        (
            schema.SupervisorPauseAfter(executive="99.999.999-9"),
            UnknownExecutive,
            "executive '99.999.999-9' is not logged in",
        ),
        (
            schema.SupervisorPauseAfter(executive=EXE.person_id, reason="x"),
            UnknownReason,
            "pause reason 'x' is not in the catalog",
        ),
        (
            schema.SupervisorPauseAfter(executive=EXE.person_id),
            InvalidState,
            'Cannot pause after the call in state "available": there is no call to wait for',
        ),
    ],
)
async def test_a_pause_after_the_call_is_refused_without_a_call(
    service: BranchService,
    hub: Hub,
    records: SqliteRecordStore,
    message: schema.ClientMessage,
    error: type[Exception],
    text: str,
) -> None:
    await page_for(service, hub, EXE)
    await service.handle(EXE, schema.AgentAvailable())
    with pytest.raises(error) as refused:
        await service.handle(SUP, message)
    assert str(refused.value) == text
    with pytest.raises(InvalidState):
        await service.handle(EXE, schema.AgentPauseAfter())
    assert await audited(records, "supervisor.pause_after") == []


def login(user: User, session_id: str, at: float) -> Session:
    run = Run.parse(user.person_id)
    given, _, surname = user.name.partition(" ")
    return Session(session_id, Person(run, (given,), (surname,)), Role(user.role), at, at + 3600)


async def test_log_an_executive_out(
    service: BranchService, hub: Hub, records: SqliteRecordStore, clock: Clock
) -> None:
    sup = await page_for(service, hub, SUP)
    # Eva's page stands on one login; she has another, in a browser with no page open.
    for session_id in ("eva-page", "eva-other"):
        await service.sessions.put_session(login(EXE, session_id, clock.now))
    await service.sessions.put_session(login(SUP, "sara", clock.now))
    exe = Page()
    exe.session_id = "eva-page"
    await hub.open_page(EXE.key, exe)
    exe.sent.append(await service.connected(EXE))
    await service.handle(ANA, schema.QueueJoin(reason="otro", service="general"))
    await service.handle(EXE, schema.AgentAvailable())
    contact_id = exe.last("offer")["contactId"]

    await service.handle(SUP, schema.SupervisorLogOut(executive=EXE.person_id))
    # The offer goes back: the citizen keeps the head of the line.
    assert exe.last("offer.cancelled") == {
        "type": "offer.cancelled",
        "contactId": contact_id,
        "reason": "executive_gone",
    }
    assert exe.last("agent.state")["state"] == "offline"
    assert exe.closed == (CLOSE_SESSION_ENDED, "logged out by a supervisor")
    status = await service.live.citizen_status(ANA.person_id)
    assert status.position == 1
    assert (await service.live.agent_status(EXE.person_id)).agent is None
    assert sup.last("supervisor.done")["action"] == "supervisor.log_out"
    # The person is logged out: every login of hers, not someone else's.
    for session_id in ("eva-page", "eva-other"):
        assert await service.sessions.get_session(session_id, clock.now) is None
    assert await service.sessions.get_session("sara", clock.now) is not None
    assert await audited(records, "supervisor.log_out") == [
        (SUP.key, {"executive": EXE.person_id, "was": "offered", "sessions": 2})
    ]
    # The page's own goodbye afterwards finds nothing left to end.
    await service.disconnected(EXE)
    assert (await service.live.citizen_status(ANA.person_id)).position == 1


async def test_a_page_whose_login_is_not_listed_is_still_closed(
    service: BranchService, hub: Hub
) -> None:
    # Made by a node of an earlier version, its login is not among Eva's: the page
    # seen is closed, and the web edge's page ends its session.
    exe = await page_for(service, hub, EXE)
    await service.handle(SUP, schema.SupervisorLogOut(executive=EXE.person_id))
    assert exe.closed == (CLOSE_SESSION_ENDED, "logged out by a supervisor")


async def test_a_page_of_a_login_made_after_the_log_out_stays_open(
    service: BranchService, hub: Hub, clock: Clock
) -> None:
    await service.sessions.put_session(login(EXE, "before", clock.now))
    old = Page()
    old.session_id = "before"
    await hub.open_page(EXE.key, old)
    await service.connected(EXE)
    # The supervisor's log-out reads the logins; Eva logs in again and her new page
    # replaces the old one before the log-out looks for her page.
    real_end_page = hub.end_page
    new = Page()

    async def end_page_after_a_new_login(user_key: str, code: int, reason: str, **kw: Any) -> bool:
        await service.sessions.put_session(login(EXE, "after", clock.now))
        new.session_id = "after"
        await hub.open_page(EXE.key, new)
        return await real_end_page(user_key, code, reason, **kw)

    hub.end_page = end_page_after_a_new_login  # type: ignore[method-assign]
    await service.handle(SUP, schema.SupervisorLogOut(executive=EXE.person_id))
    assert old.closed == (CLOSE_REPLACED, "replaced by a newer page")
    assert new.closed is None
    assert await service.sessions.get_session("after", clock.now) is not None
    assert await service.sessions.get_session("before", clock.now) is None


async def test_an_executive_in_a_call_is_not_logged_out(service: BranchService, hub: Hub) -> None:
    exe = await page_for(service, hub, EXE)
    await take_a_call(service, exe)
    with pytest.raises(InvalidState) as busy:
        await service.handle(SUP, schema.SupervisorLogOut(executive=EXE.person_id))
    assert busy.value.message == (
        f'Cannot log {EXE.person_id} out in state "in_call": wait until the contact is closed'
    )
    assert exe.closed is None


async def test_a_message_to_everyone_waiting_in_one_service(
    service: BranchService, hub: Hub, records: SqliteRecordStore, clock: Clock
) -> None:
    sup = await page_for(service, hub, SUP)
    ana = await page_for(service, hub, ANA)
    bea = await page_for(service, hub, BEA)
    cris = await page_for(service, hub, CRIS)
    for citizen, code in ((ANA, "general"), (BEA, "general"), (CRIS, "triage")):
        await service.handle(citizen, schema.QueueJoin(reason="otro", service=code))
    hub.detach(BEA.key, bea)  # Bea's page is away: she keeps her place but cannot be told

    text = "Estamos con alta demanda: la espera será más larga."
    await service.handle(SUP, schema.SupervisorBroadcast(service="general", text=f"  {text} "))
    notice = {"type": "queue.notice", "service": "general", "text": text, "at": clock.now}
    assert ana.last("queue.notice") == notice
    assert bea.of("queue.notice") == cris.of("queue.notice") == []
    assert sup.last("supervisor.done") == {
        "type": "supervisor.done",
        "action": "supervisor.broadcast",
        "service": "general",
        "recipients": 1,
    }
    assert await audited(records, "supervisor.broadcast") == [
        (SUP.key, {"service": "general", "text": text, "waiting": 2, "delivered": 1})
    ]


async def test_a_citizen_who_reloads_or_joins_later_is_shown_the_current_message(
    records: SqliteRecordStore, hub: Hub, clock: Clock
) -> None:
    service = branch(records, hub, clock, supervision_notice_seconds=600)
    await page_for(service, hub, ANA)
    await service.handle(ANA, schema.QueueJoin(reason="otro", service="general"))
    text = "Estamos con alta demanda: la espera será más larga."
    await service.handle(SUP, schema.SupervisorBroadcast(service="general", text=text))
    sent_at = clock.now
    notice = {"service": "general", "text": text, "at": sent_at}

    clock.advance(30)
    reloaded = await page_for(service, hub, ANA)
    assert reloaded.last("welcome")["state"]["notice"] == notice

    bea = await page_for(service, hub, BEA)
    assert bea.last("welcome")["state"]["notice"] is None  # not waiting: not told yet
    await service.handle(BEA, schema.QueueJoin(reason="otro", service="general"))
    assert [m["type"] for m in bea.sent[1:4]] == ["queue.joined", "queue.ticket", "queue.notice"]
    assert bea.last("queue.notice") == {"type": "queue.notice", **notice}

    cris = await page_for(service, hub, CRIS)
    await service.handle(CRIS, schema.QueueJoin(reason="otro", service="triage"))
    assert cris.of("queue.notice") == []  # the message was for another line

    clock.advance(570)  # 600 s after it was sent, it has run out
    assert (await page_for(service, hub, ANA)).last("welcome")["state"]["notice"] is None


async def test_a_later_message_replaces_the_current_one(
    service: BranchService, hub: Hub, clock: Clock
) -> None:
    await page_for(service, hub, ANA)
    await service.handle(ANA, schema.QueueJoin(reason="otro", service="general"))
    await service.handle(SUP, schema.SupervisorBroadcast(service="general", text="Hay demoras"))
    clock.advance(5)
    await service.handle(SUP, schema.SupervisorBroadcast(service="general", text="Ya normal"))
    reloaded = await page_for(service, hub, ANA)
    assert reloaded.last("welcome")["state"]["notice"] == {
        "service": "general",
        "text": "Ya normal",
        "at": clock.now,
    }


async def test_a_supervisor_takes_the_current_message_back(
    service: BranchService, hub: Hub, records: SqliteRecordStore, clock: Clock
) -> None:
    sup = await page_for(service, hub, SUP)
    ana = await page_for(service, hub, ANA)
    cris = await page_for(service, hub, CRIS)
    await service.handle(ANA, schema.QueueJoin(reason="otro", service="general"))
    await service.handle(CRIS, schema.QueueJoin(reason="otro", service="triage"))
    text = "Hay demoras por un corte de luz."
    await service.handle(SUP, schema.SupervisorBroadcast(service="general", text=text))
    await service.handle(SUP, schema.SupervisorBroadcast(service="triage", text="Triage lento"))
    clock.advance(20)

    await service.handle(SUP, schema.SupervisorClearNotice(service="general"))
    assert ana.last("queue.notice_cleared") == {
        "type": "queue.notice_cleared",
        "service": "general",
        "at": clock.now,
    }
    assert cris.of("queue.notice_cleared") == []  # another line keeps its message
    assert sup.last("supervisor.done") == {
        "type": "supervisor.done",
        "action": "supervisor.clear_notice",
        "service": "general",
        "recipients": 1,
        "cleared": True,
    }
    assert (await page_for(service, hub, ANA)).last("welcome")["state"]["notice"] is None
    bea = await page_for(service, hub, BEA)
    await service.handle(BEA, schema.QueueJoin(reason="otro", service="general"))
    assert bea.of("queue.notice") == []
    assert (await page_for(service, hub, CRIS)).last("welcome")["state"]["notice"] == {
        "service": "triage",
        "text": "Triage lento",
        "at": clock.now - 20,
    }

    # Again, with nothing current: the pages are told anyway, and the audit says none was.
    await service.handle(SUP, schema.SupervisorClearNotice(service="general"))
    assert sup.last("supervisor.done")["cleared"] is False
    assert sup.last("supervisor.done")["recipients"] == 2
    assert await audited(records, "supervisor.clear_notice") == [
        (SUP.key, {"service": "general", "cleared": text, "waiting": 1, "delivered": 1}),
        (SUP.key, {"service": "general", "cleared": None, "waiting": 2, "delivered": 2}),
    ]


async def test_the_wallboard_shows_the_current_message_until_it_is_taken_back_or_runs_out(
    service: BranchService, hub: Hub, clock: Clock
) -> None:
    sup = await page_for(service, hub, SUP)
    first = await board_after(sup, 0)
    assert [line["notice"] for line in first["services"]] == [None, None]
    sent_at = clock.now
    await service.handle(SUP, schema.SupervisorBroadcast(service="triage", text="Triage lento"))
    # Nobody waits, nothing on the floor moved: the message alone is pushed.
    board = await board_after(sup, 1)
    until = sent_at + service.settings.supervision_notice_seconds
    shown = {"text": "Triage lento", "at": sent_at, "until": until}
    assert [line["notice"] for line in board["services"]] == [None, shown]

    await service.handle(SUP, schema.SupervisorClearNotice(service="triage"))
    board = await board_after(sup, 2)
    assert [line["notice"] for line in board["services"]] == [None, None]

    await service.handle(SUP, schema.SupervisorBroadcast(service="general", text="Hay demoras"))
    assert (await board_after(sup, 3))["services"][0]["notice"]["text"] == "Hay demoras"
    clock.advance(service.settings.supervision_notice_seconds)
    await service.supervision.push()  # the periodic refresh, once it ran out
    assert (await board_after(sup, 4))["services"][0]["notice"] is None


async def test_clearing_the_message_of_an_unknown_service_is_refused_and_not_audited(
    service: BranchService, records: SqliteRecordStore
) -> None:
    with pytest.raises(UnknownService) as caught:
        await service.handle(SUP, schema.SupervisorClearNotice(service="nope"))
    assert str(caught.value) == "service 'nope' does not exist"
    assert await audited(records, "supervisor.clear_notice") == []


@pytest.mark.parametrize(
    ("message", "error", "text"),
    [
        (
            schema.SupervisorBroadcast(service="nope", text="hola"),
            UnknownService,
            "service 'nope' does not exist",
        ),
        (
            schema.SupervisorBroadcast(service="general", text="   "),
            BadMessage,
            "supervisor.broadcast: text must have 1 to 500 characters",
        ),
        (
            schema.SupervisorBroadcast(service="general", text="x" * 501),
            BadMessage,
            "supervisor.broadcast: text must have 1 to 500 characters",
        ),
    ],
)
async def test_a_bad_broadcast_is_refused_and_not_audited(
    service: BranchService,
    records: SqliteRecordStore,
    message: schema.ClientMessage,
    error: type[Exception],
    text: str,
) -> None:
    with pytest.raises(error) as caught:
        await service.handle(SUP, message)
    assert str(caught.value) == text
    assert await audited(records, "supervisor.broadcast") == []


def test_the_schema_reads_supervisor_actions() -> None:
    parsed = schema.parse_client(
        '{"type": "supervisor.not_ready", "executive": "11.111.111-1"}', max_bytes=1024
    )
    assert parsed == schema.SupervisorNotReady(executive="11.111.111-1", reason="")
    with pytest.raises(BadMessage) as empty:
        schema.parse_client('{"type": "supervisor.log_out", "executive": ""}', max_bytes=1024)
    assert empty.value.message == "supervisor.log_out: executive must not be empty"


def test_the_targets_come_from_config_and_a_bad_one_stops_the_start() -> None:
    settings = load_settings(
        {
            "BRANCH_SUPERVISION_SATISFACTION_WARN": "4.5",
            "BRANCH_FIGURES_SERVICE_LEVEL_SECONDS": "20",
        }
    )
    targets = settings.wallboard_targets
    assert (targets.satisfaction_warn, targets.service_level_seconds) == (4.5, 20)
    with pytest.raises(ConfigError) as unordered:
        load_settings({"BRANCH_SUPERVISION_WAIT_WARN_SECONDS": "400"})
    assert str(unordered.value) == (
        "supervision: wait thresholds must satisfy 0 <= warn <= alert, not 400 and 300"
    )
    with pytest.raises(ConfigError) as word:
        load_settings({"BRANCH_SUPERVISION_SATISFACTION_ALERT": "low"})
    assert str(word.value) == "supervision.satisfaction_alert: 'low' is not a number"
    with pytest.raises(ConfigError) as zero:
        load_settings({"BRANCH_SUPERVISION_REFRESH_SECONDS": "0"})
    assert str(zero.value) == "supervision.refresh_seconds: must be positive"


async def test_close_stops_a_wallboard_push_under_way_and_schedules_none_after(
    service: BranchService, hub: Hub, monkeypatch: pytest.MonkeyPatch
) -> None:
    await page_for(service, hub, SUP)
    pushing = asyncio.Event()
    stopped: list[bool] = []

    async def slow_push() -> None:
        pushing.set()
        try:
            await asyncio.Event().wait()  # reading the floor and the records until stopped
        except asyncio.CancelledError:
            stopped.append(True)
            raise

    monkeypatch.setattr(service.supervision, "push", slow_push)
    service.supervision.changed()
    await asyncio.wait_for(pushing.wait(), 1)
    await service.supervision.close()
    assert stopped == [True]
    service.supervision.changed()
    assert service.supervision._pending is None
