"""The service without the web: messages in, floor steps, records and notices out."""

from __future__ import annotations

import json
from typing import Any

import pytest

from branch import schema, tickets
from branch.config import load_settings
from branch.delivery.base import Delivery
from branch.errors import (
    AlreadyQueued,
    BadMessage,
    Forbidden,
    InvalidState,
    NoOffer,
    NotInCall,
    NotQueued,
    NotYourContact,
    RecordsUnavailable,
    UnknownOutcome,
    UnknownReason,
)
from branch.hub import Hub
from branch.live.memory import MemoryLiveStore
from branch.people import User
from branch.records.sqlite import SqliteRecordStore
from branch.service import BranchService

ANA = User("44.444.444-4", "Ana Rojas", "citizen")
BEA = User("13.131.313-6", "Bea Soto", "citizen")
EXE = User("11.111.111-1", "Eva Díaz", "executive")
EXE2 = User("12.345.678-5", "Leo Paz", "executive")


class Page:
    """A connection that keeps what it was sent."""

    def __init__(self) -> None:
        self.session_id = ""
        self.sent: list[dict[str, Any]] = []
        self.closed: tuple[int, str] | None = None

    async def send_text(self, text: str) -> bool:
        self.sent.append(json.loads(text))
        return True

    async def close(self, code: int, reason: str) -> None:
        self.closed = (code, reason)

    def of(self, kind: str) -> list[dict[str, Any]]:
        return [message for message in self.sent if message["type"] == kind]

    def last(self, kind: str) -> dict[str, Any]:
        found = self.of(kind)
        assert found, f"no {kind} in {[m['type'] for m in self.sent]}"
        return found[-1]


class Clock:
    def __init__(self) -> None:
        self.now = 1_795_000_000.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def service(records: SqliteRecordStore, hub: Hub, clock: Clock) -> BranchService:
    # Most tests here are about what happens once an executive is offered someone;
    # the readiness check before that has its own tests.
    settings = load_settings({}, service_readiness_seconds=0)
    return BranchService(settings, MemoryLiveStore(settings.floor_rules), records, hub, clock)


async def page_for(service: BranchService, hub: Delivery, user: User) -> Page:
    page = Page()
    await hub.open_page(user.key, page)
    page.sent.append(await service.connected(user))
    return page


async def test_a_whole_contact_is_served_and_recorded(
    service: BranchService, hub: Hub, clock: Clock, records: SqliteRecordStore
) -> None:
    ana = await page_for(service, hub, ANA)
    exe = await page_for(service, hub, EXE)
    assert exe.last("agent.state")["state"] == "not_ready"
    assert ana.of("welcome")[0]["state"]["queue"] is None

    await service.handle(ANA, schema.QueueJoin(reason="licencias", text="  Licencia rechazada  "))
    joined = ana.last("queue.joined")
    contact_id = joined["contactId"]
    position = ana.last("queue.position")
    assert (position["position"], position["waiting"], position["estimatedWaitSeconds"]) == (
        1,
        1,
        None,
    )
    assert exe.last("queue.summary")["waiting"] == 1

    clock.advance(30)
    await service.handle(EXE, schema.AgentAvailable())
    offer = exe.last("offer")
    assert offer["citizen"] == {"run": "44.444.444-4", "name": "Ana Rojas"}
    assert offer["reason"] == {
        "code": "licencias",
        "label": "Licencias médicas",
        "text": "Licencia rechazada",
    }
    assert offer["folio"] == joined["folio"]
    assert ana.last("queue.offered")["contactId"] == contact_id

    clock.advance(5)
    await service.handle(EXE, schema.OfferAccept(contact_id=contact_id))
    assert exe.last("call.started")["initiator"] is True
    started = dict(ana.last("call.started"))
    call_ticket = tickets.read_call(
        service.call_tickets.key, started.pop("ticket"), ANA.person_id, "citizen", clock.now
    )
    assert (call_ticket.contact_id, call_ticket.executive_id) == (contact_id, EXE.person_id)
    assert started == {
        "type": "call.started",
        "contactId": contact_id,
        "folio": joined["folio"],
        "service": "general",
        "peer": {"name": "Eva Díaz", "run": ""},
        "initiator": False,
        "polite": True,
    }

    offer_sdp = schema.SessionDescription("offer", "v=0 offer")
    await service.handle(
        EXE, schema.SignalDescription(contact_id=contact_id, description=offer_sdp)
    )
    assert ana.last("signal.description")["description"] == {"type": "offer", "sdp": "v=0 offer"}
    candidate = schema.IceCandidate("candidate:1 1 udp 1 127.0.0.1 9 typ host", "0", 0, None)
    await service.handle(ANA, schema.SignalCandidate(contact_id=contact_id, candidate=candidate))
    await service.handle(ANA, schema.SignalCandidate(contact_id=contact_id, candidate=None))
    relayed = exe.of("signal.candidate")
    assert relayed[0]["candidate"]["candidate"].startswith("candidate:1")
    assert relayed[1]["candidate"] is None

    clock.advance(120)
    await service.handle(ANA, schema.CallHangup(contact_id=contact_id))
    assert ana.last("call.ended")["reason"] == "completed"
    assert exe.last("call.ended")["by"] == "citizen"
    assert exe.last("agent.state")["state"] == "wrap_up"

    clock.advance(20)
    await service.handle(
        EXE,
        schema.WrapupSubmit(contact_id=contact_id, outcome="resuelto", reason="bonos", notes="ok"),
    )
    assert exe.last("wrapup.saved")["contactId"] == contact_id
    assert exe.last("agent.state")["state"] == "available"

    record = await records.get(contact_id)
    assert record is not None
    assert (record.citizen_run, record.executive_run) == ("44.444.444-4", "11.111.111-1")
    assert record.reason_code == "licencias" and record.reason_text == "Licencia rechazada"
    assert record.confirmed_reason_code == "bonos" and record.outcome_code == "resuelto"
    assert record.end_reason == "completed"
    assert record.answered_at is not None and record.joined_at is not None
    assert record.answered_at - record.joined_at == 35
    # The executive is available again: the next citizen is offered at once.
    bea = await page_for(service, hub, BEA)
    await service.handle(BEA, schema.QueueJoin(reason="otro"))
    assert exe.last("offer")["citizen"]["name"] == "Bea Soto"
    assert bea.last("queue.offered")["contactId"] == bea.last("queue.joined")["contactId"]


async def test_available_and_offered_in_one_step_is_one_state_for_the_console_two_in_the_records(
    service: BranchService, hub: Hub, clock: Clock, records: SqliteRecordStore
) -> None:
    ana = await page_for(service, hub, ANA)
    exe = await page_for(service, hub, EXE)
    await service.handle(ANA, schema.QueueJoin(reason="licencias"))
    exe.sent.clear()
    clock.advance(30)
    await service.handle(EXE, schema.AgentAvailable())
    told = [m["type"] for m in exe.sent if m["type"] in ("agent.state", "offer")]
    # The offer first: the two people paired wait for it, not for the state.
    assert told == ["offer", "agent.state"]
    assert exe.last("agent.state")["state"] == "offered"
    assert ana.last("queue.offered")["contactId"] == exe.last("offer")["contactId"]
    states = await records.agent_states(EXE.person_id, clock.now - 60)
    assert [state.state for state in states][-2:] == ["available", "offered"]


async def test_estimates_appear_once_there_is_history(
    service: BranchService, hub: Hub, clock: Clock
) -> None:
    await page_for(service, hub, EXE)
    ana = await page_for(service, hub, ANA)
    await service.handle(ANA, schema.QueueJoin(reason="otro"))
    await service.handle(EXE, schema.AgentAvailable())
    contact_id = ana.last("queue.joined")["contactId"]
    await service.handle(EXE, schema.OfferAccept(contact_id=contact_id))
    clock.advance(280)
    await service.handle(EXE, schema.CallHangup(contact_id=contact_id))
    clock.advance(20)
    await service.handle(
        EXE,
        schema.WrapupSubmit(
            contact_id=contact_id, outcome="resuelto", reason="otro", then="not_ready"
        ),
    )
    bea = await page_for(service, hub, BEA)
    await service.handle(BEA, schema.QueueJoin(reason="otro"))
    assert bea.last("queue.position")["estimatedWaitSeconds"] == 150  # half of 300 s, one executive


async def test_welcome_resumes_a_waiting_place(
    service: BranchService, hub: Hub, clock: Clock
) -> None:
    await page_for(service, hub, BEA)
    await service.handle(BEA, schema.QueueJoin(reason="otro"))
    clock.advance(1)
    ana = await page_for(service, hub, ANA)
    await service.handle(ANA, schema.QueueJoin(reason="otro"))
    again = await page_for(service, hub, ANA)
    resumed = again.last("welcome")["state"]["queue"]
    assert (resumed["position"], resumed["waiting"]) == (2, 2)
    assert resumed["contactId"] == ana.last("queue.joined")["contactId"]


@pytest.mark.parametrize(
    ("user", "message", "error", "text"),
    [
        (
            ANA,
            schema.OfferAccept(contact_id="x"),
            Forbidden,
            "offer.accept is not allowed for the citizen role",
        ),
        (
            ANA,
            schema.AgentAvailable(),
            Forbidden,
            "agent.available is not allowed for the citizen role",
        ),
        (
            EXE,
            schema.QueueJoin(reason="otro"),
            Forbidden,
            "queue.join is not allowed for the executive role",
        ),
        (
            ANA,
            schema.QueueJoin(reason="teleport"),
            UnknownReason,
            "reason 'teleport' is not in the catalog of general",
        ),
        (ANA, schema.QueueLeave(), NotQueued, "No estás en la fila"),
        (
            EXE,
            schema.OfferAccept(contact_id="nothing"),
            NoOffer,
            "No hay una atención ofrecida con ese identificador",
        ),
        (
            ANA,
            schema.CallHangup(contact_id="nothing"),
            NotInCall,
            "No estás en una atención con ese identificador",
        ),
        (
            ANA,
            schema.SignalDescription(
                contact_id="nothing", description=schema.SessionDescription("offer", "")
            ),
            NotInCall,
            "No estás en una atención con ese identificador",
        ),
        (
            EXE,
            schema.WrapupSubmit(contact_id="x", outcome="nope", reason="otro"),
            UnknownOutcome,
            "outcome 'nope' is not in the catalog",
        ),
    ],
)
async def test_bad_requests_are_refused_by_name(
    service: BranchService,
    hub: Hub,
    user: User,
    message: schema.ClientMessage,
    error: type[Exception],
    text: str,
) -> None:
    await page_for(service, hub, user)
    with pytest.raises(error) as caught:
        await service.handle(user, message)
    assert str(caught.value) == text


async def test_second_join_is_refused_and_leaves_one_record(
    service: BranchService, hub: Hub, records: SqliteRecordStore
) -> None:
    await page_for(service, hub, ANA)
    await service.handle(ANA, schema.QueueJoin(reason="otro"))
    with pytest.raises(AlreadyQueued):
        await service.handle(ANA, schema.QueueJoin(reason="otro"))
    assert len(await records.recent(10)) == 1


async def test_signaling_goes_only_to_the_call_partner(
    service: BranchService, hub: Hub, clock: Clock
) -> None:
    ana = await page_for(service, hub, ANA)
    bea = await page_for(service, hub, BEA)
    await page_for(service, hub, EXE)
    await service.handle(ANA, schema.QueueJoin(reason="otro"))
    clock.advance(1)
    await service.handle(BEA, schema.QueueJoin(reason="otro"))
    await service.handle(EXE, schema.AgentAvailable())
    ana_contact = ana.last("queue.joined")["contactId"]
    await service.handle(EXE, schema.OfferAccept(contact_id=ana_contact))
    # Bea names Ana's call: refused, and nothing reaches anyone.
    with pytest.raises(NotInCall):
        await service.handle(
            BEA,
            schema.SignalDescription(
                contact_id=ana_contact, description=schema.SessionDescription("offer", "x")
            ),
        )
    assert ana.of("signal.description") == [] and bea.of("signal.description") == []
    # Another executive naming it: refused the same way.
    other = await page_for(service, hub, EXE2)
    with pytest.raises(NotInCall):
        await service.handle(EXE2, schema.SignalCandidate(contact_id=ana_contact, candidate=None))
    assert ana.of("signal.candidate") == [] and other.of("signal.candidate") == []


async def test_wrap_up_of_someone_elses_contact_is_refused(
    service: BranchService, hub: Hub, records: SqliteRecordStore
) -> None:
    ana = await page_for(service, hub, ANA)
    await page_for(service, hub, EXE)
    await page_for(service, hub, EXE2)
    await service.handle(ANA, schema.QueueJoin(reason="otro"))
    await service.handle(EXE, schema.AgentAvailable())
    contact_id = ana.last("queue.joined")["contactId"]
    await service.handle(EXE, schema.OfferAccept(contact_id=contact_id))
    await service.handle(EXE, schema.CallHangup(contact_id=contact_id))
    with pytest.raises(NotYourContact):
        await service.handle(
            EXE2, schema.WrapupSubmit(contact_id=contact_id, outcome="resuelto", reason="otro")
        )
    record = await records.get(contact_id)
    assert record is not None and record.outcome_code is None


async def call_then_vanish(service: BranchService, hub: Hub, gone: str) -> tuple[User, Page, str]:
    """Ana talks with Eva; then one of their pages vanishes. Returns who left, the other page, the contact."""
    ana = await page_for(service, hub, ANA)
    exe = await page_for(service, hub, EXE)
    await service.handle(ANA, schema.QueueJoin(reason="otro"))
    contact_id = str(ana.last("queue.joined")["contactId"])
    await service.handle(EXE, schema.AgentAvailable())
    await service.handle(EXE, schema.OfferAccept(contact_id=contact_id))
    user, page, other = (ANA, ana, exe) if gone == "citizen" else (EXE, exe, ana)
    hub.detach(user.key, page)
    await service.disconnected(user)
    return user, other, contact_id


@pytest.mark.parametrize(
    ("gone", "end_reason"),
    [("citizen", "citizen_dropped"), ("executive", "executive_dropped")],
)
async def test_a_call_is_held_for_a_page_that_vanished_then_ends_as_dropped(
    service: BranchService,
    hub: Hub,
    records: SqliteRecordStore,
    clock: Clock,
    gone: str,
    end_reason: str,
) -> None:
    _user, other, contact_id = await call_then_vanish(service, hub, gone)
    assert other.last("call.reconnecting") == {
        "type": "call.reconnecting",
        "contactId": contact_id,
        "who": gone,
    }
    clock.advance(119)
    await service.tick()
    record = await records.get(contact_id)
    assert record is not None and record.end_reason is None  # held, the same record goes on
    clock.advance(1)
    await service.tick()
    record = await records.get(contact_id)
    assert record is not None and record.end_reason == end_reason
    ended = other.last("call.ended")
    assert (ended["contactId"], ended["reason"]) == (contact_id, end_reason)
    if gone == "executive":
        assert ended["receipt"]["folio"] == record.folio


@pytest.mark.parametrize("gone", ["citizen", "executive"])
async def test_a_page_back_within_the_grace_resumes_the_same_call(
    service: BranchService,
    hub: Hub,
    records: SqliteRecordStore,
    clock: Clock,
    gone: str,
) -> None:
    user, other, contact_id = await call_then_vanish(service, hub, gone)
    clock.advance(30)
    back = await page_for(service, hub, user)
    call = back.last("welcome")["state"]["call"]
    assert call["contactId"] == contact_id
    assert other.last("call.resumed") == {
        "type": "call.resumed",
        "contactId": contact_id,
        "who": gone,
    }
    # Signaling flows again between the two pages of the same call.
    offer = schema.SessionDescription("offer", "v=0 again")
    await service.handle(user, schema.SignalDescription(contact_id=contact_id, description=offer))
    assert other.last("signal.description")["description"]["sdp"] == "v=0 again"
    clock.advance(1000)
    await service.tick()
    await service.handle(EXE, schema.CallHangup(contact_id=contact_id))
    record = await records.get(contact_id)
    assert record is not None and record.end_reason == "completed"


@pytest.mark.parametrize("stage", ["waiting", "offered"])
async def test_a_waiting_citizen_keeps_the_place_for_the_grace_period(
    service: BranchService, hub: Hub, records: SqliteRecordStore, clock: Clock, stage: str
) -> None:
    ana = await page_for(service, hub, ANA)
    exe = await page_for(service, hub, EXE)
    await service.handle(ANA, schema.QueueJoin(reason="otro"))
    contact_id = ana.last("queue.joined")["contactId"]
    clock.advance(1)
    await page_for(service, hub, BEA)
    await service.handle(BEA, schema.QueueJoin(reason="otro"))
    if stage == "offered":
        await service.handle(EXE, schema.AgentAvailable())
        assert exe.last("offer")["contactId"] == contact_id
    hub.detach(ANA.key, ana)
    await service.disconnected(ANA)
    if stage == "offered":
        # Nobody is there to answer: the offer goes to the next present citizen.
        assert exe.last("offer.cancelled")["reason"] == "citizen_dropped"
        assert exe.last("offer")["citizen"]["name"] == "Bea Soto"
    clock.advance(119)
    await service.tick()
    record = await records.get(contact_id)
    assert record is not None and record.end_reason is None
    back = await page_for(service, hub, ANA)
    assert back.last("welcome")["state"]["queue"]["position"] == 1

    hub.detach(ANA.key, back)
    await service.disconnected(ANA)
    clock.advance(120)
    await service.tick()
    record = await records.get(contact_id)
    assert record is not None and record.end_reason == "citizen_dropped"


async def test_citizen_leaving_the_queue_is_recorded(
    service: BranchService, hub: Hub, records: SqliteRecordStore
) -> None:
    ana = await page_for(service, hub, ANA)
    await service.handle(ANA, schema.QueueJoin(reason="otro"))
    await service.handle(ANA, schema.QueueLeave())
    contact_id = ana.last("queue.joined")["contactId"]
    assert ana.last("queue.left") == {
        "type": "queue.left",
        "contactId": contact_id,
        "reason": "citizen_left",
    }
    record = await records.get(contact_id)
    assert record is not None and record.end_reason == "citizen_left" and record.answered_at is None


async def test_executive_leaving_during_an_offer_keeps_the_citizens_place(
    service: BranchService, hub: Hub, records: SqliteRecordStore
) -> None:
    ana = await page_for(service, hub, ANA)
    exe = await page_for(service, hub, EXE)
    await service.handle(ANA, schema.QueueJoin(reason="otro"))
    await service.handle(EXE, schema.AgentAvailable())
    hub.detach(EXE.key, exe)
    await service.disconnected(EXE)
    assert ana.last("queue.position")["position"] == 1
    exe2 = await page_for(service, hub, EXE2)
    await service.handle(EXE2, schema.AgentAvailable())
    assert exe2.last("offer")["contactId"] == ana.last("queue.joined")["contactId"]
    record = await records.get(ana.last("queue.joined")["contactId"])
    assert (
        record is not None and record.executive_run == "12.345.678-5" and record.end_reason is None
    )


async def test_decline_and_pause_reasons_are_checked_and_recorded(
    service: BranchService, hub: Hub, records: SqliteRecordStore, clock: Clock
) -> None:
    ana = await page_for(service, hub, ANA)
    exe = await page_for(service, hub, EXE)
    with pytest.raises(UnknownReason, match="pause reason 'siesta' is not in the catalog"):
        await service.handle(EXE, schema.AgentNotReady(reason="siesta"))
    await service.handle(EXE, schema.AgentNotReady(reason="descanso"))
    assert exe.last("agent.state")["reason"] == "descanso"
    await service.handle(ANA, schema.QueueJoin(reason="otro"))
    clock.advance(5)
    await service.handle(EXE, schema.AgentAvailable())
    contact_id = ana.last("queue.joined")["contactId"]
    assert exe.last("offer")["expiresAt"] == exe.last("offer")["offeredAt"] + 20
    with pytest.raises(UnknownReason, match="decline reason 'flojera' is not in the catalog"):
        await service.handle(EXE, schema.OfferDecline(contact_id=contact_id, reason="flojera"))
    await service.handle(EXE, schema.OfferDecline(contact_id=contact_id, reason="conflicto"))
    assert exe.last("offer.cancelled") == {
        "type": "offer.cancelled",
        "contactId": contact_id,
        "reason": "declined",
    }
    assert exe.last("agent.state")["reason"] == "declined"
    assert ana.last("queue.position")["position"] == 1
    states = [(s.state, s.pause_reason) for s in await records.agent_states(EXE.person_id, 0.0)]
    assert states == [
        ("not_ready", None),
        ("not_ready", "descanso"),
        ("available", None),
        ("offered", None),
        ("not_ready", "declined"),
    ]


async def test_unanswered_offer_and_late_wrap_up_follow_the_clock(
    service: BranchService, hub: Hub, records: SqliteRecordStore, clock: Clock
) -> None:
    ana = await page_for(service, hub, ANA)
    exe = await page_for(service, hub, EXE)
    await service.handle(ANA, schema.QueueJoin(reason="bonos"))
    contact_id = ana.last("queue.joined")["contactId"]
    await service.handle(EXE, schema.AgentAvailable())
    clock.advance(20)
    await service.tick()
    assert exe.last("offer.cancelled")["reason"] == "no_answer"
    assert exe.last("agent.state")["state"] == "not_ready"
    clock.advance(15)
    await service.tick()  # one miss is forgiven: offered again
    await service.handle(EXE, schema.OfferAccept(contact_id=contact_id))
    await service.handle(ANA, schema.CallHangup(contact_id=contact_id))
    clock.advance(120)
    await service.tick()
    assert exe.last("wrapup.saved") == {
        "type": "wrapup.saved",
        "contactId": contact_id,
        "timedOut": True,
    }
    assert exe.last("agent.state")["state"] == "available"
    record = await records.get(contact_id)
    assert record is not None
    assert (record.outcome_code, record.confirmed_reason_code) == ("sin_cierre", "bonos")


async def test_receipt_and_one_survey_per_contact(
    service: BranchService, hub: Hub, records: SqliteRecordStore, clock: Clock
) -> None:
    ana = await page_for(service, hub, ANA)
    bea = await page_for(service, hub, BEA)
    await page_for(service, hub, EXE)
    await service.handle(ANA, schema.QueueJoin(reason="ges"))
    contact_id = ana.last("queue.joined")["contactId"]
    with pytest.raises(InvalidState, match="Solo puedes evaluar una atención que terminó"):
        await service.handle(ANA, schema.SurveySubmit(contact_id=contact_id, score=5))
    await service.handle(EXE, schema.AgentAvailable())
    clock.advance(10)
    await service.handle(EXE, schema.OfferAccept(contact_id=contact_id))
    clock.advance(200)
    await service.handle(EXE, schema.CallHangup(contact_id=contact_id))
    receipt = ana.last("call.ended")["receipt"]
    assert receipt["folio"] == ana.last("queue.joined")["folio"]
    assert (receipt["service"], receipt["reason"], receipt["executive"]) == (
        "Atención general",
        "Garantías GES",
        "Eva Díaz",
    )
    assert receipt["endedAt"] - receipt["answeredAt"] == 200

    with pytest.raises(NotYourContact):
        await service.handle(BEA, schema.SurveySubmit(contact_id=contact_id, score=1))
    await service.handle(
        ANA, schema.SurveySubmit(contact_id=contact_id, score=4, comment=" Muy amable ")
    )
    assert ana.last("survey.saved") == {"type": "survey.saved", "contactId": contact_id}
    with pytest.raises(InvalidState, match="Ya evaluaste esta atención"):
        await service.handle(ANA, schema.SurveySubmit(contact_id=contact_id, score=1))
    record = await records.get(contact_id)
    assert record is not None
    assert (record.survey_score, record.survey_comment, record.executive_run) == (
        4,
        "Muy amable",
        EXE.person_id,
    )
    assert bea.of("survey.saved") == []


async def test_chat_goes_between_the_two_members_of_the_call_and_is_kept(
    service: BranchService, hub: Hub, records: SqliteRecordStore, clock: Clock
) -> None:
    ana = await page_for(service, hub, ANA)
    bea = await page_for(service, hub, BEA)
    exe = await page_for(service, hub, EXE)
    await service.handle(ANA, schema.QueueJoin(reason="otro"))
    contact_id = ana.last("queue.joined")["contactId"]
    with pytest.raises(NotInCall):  # not before the call starts
        await service.handle(ANA, schema.ChatSend(contact_id=contact_id, text="¿Hola?"))
    await service.handle(EXE, schema.AgentAvailable())
    await service.handle(EXE, schema.OfferAccept(contact_id=contact_id))
    await service.handle(ANA, schema.ChatSend(contact_id=contact_id, text="  No lo escucho  "))
    clock.advance(5)
    await service.handle(EXE, schema.ChatSend(contact_id=contact_id, text="Su folio es 123"))
    expected = {
        "type": "chat.message",
        "contactId": contact_id,
        "sender": "citizen",
        "name": "Ana Rojas",
        "text": "No lo escucho",
        "at": clock.now - 5,
    }
    assert exe.of("chat.message")[0] == expected
    assert ana.of("chat.message")[0] == expected  # the sender sees the same line, in order
    assert [m["text"] for m in ana.of("chat.message")] == ["No lo escucho", "Su folio es 123"]
    assert bea.of("chat.message") == []
    with pytest.raises(NotInCall):
        await service.handle(BEA, schema.ChatSend(contact_id=contact_id, text="hola"))
    with pytest.raises(BadMessage, match="1 to 1000 characters"):
        await service.handle(ANA, schema.ChatSend(contact_id=contact_id, text="   "))
    with pytest.raises(BadMessage, match="1 to 1000 characters"):
        await service.handle(ANA, schema.ChatSend(contact_id=contact_id, text="x" * 1001))

    kept = await records.chat(contact_id)
    assert [(line.sender, line.text) for line in kept] == [
        ("citizen", "No lo escucho"),
        ("executive", "Su folio es 123"),
    ]
    # A page that comes back mid-call gets the conversation so far.
    again = await page_for(service, hub, ANA)
    chat = again.last("welcome")["state"]["call"]["chat"]
    assert [line["text"] for line in chat] == ["No lo escucho", "Su folio es 123"]


@pytest.fixture
def checked(records: SqliteRecordStore, hub: Hub, clock: Clock) -> BranchService:
    """The service with the readiness check on, as deployed."""
    settings = load_settings({}, service_readiness_seconds=10)
    return BranchService(settings, MemoryLiveStore(settings.floor_rules), records, hub, clock)


async def test_the_executive_is_offered_once_the_citizen_page_is_ready(
    checked: BranchService, hub: Hub, clock: Clock, records: SqliteRecordStore
) -> None:
    ana = await page_for(checked, hub, ANA)
    exe = await page_for(checked, hub, EXE)
    await checked.handle(ANA, schema.QueueJoin(reason="otro"))
    contact_id = ana.last("queue.joined")["contactId"]
    await checked.handle(EXE, schema.AgentAvailable())
    assert ana.last("queue.offered") == {
        "type": "queue.offered",
        "contactId": contact_id,
        "readySeconds": 10,
    }
    assert exe.of("offer") == [] and exe.last("agent.state")["state"] == "offered"
    again = await page_for(checked, hub, EXE)  # a reloaded desk sees no offer yet either
    assert again.last("welcome")["state"]["offer"] is None
    with pytest.raises(NoOffer):
        await checked.handle(EXE, schema.OfferAccept(contact_id=contact_id))
    clock.advance(3)
    await checked.handle(ANA, schema.QueueReady(contact_id=contact_id))
    offer = again.last("offer")
    assert offer["offeredAt"] == clock.now
    assert offer["expiresAt"] == clock.now + 20
    await checked.handle(EXE, schema.OfferAccept(contact_id=contact_id))
    record = await records.get(contact_id)
    assert record is not None and record.offered_at == clock.now


async def test_a_citizen_page_that_does_not_confirm_is_skipped_and_told(
    checked: BranchService, hub: Hub, clock: Clock
) -> None:
    ana = await page_for(checked, hub, ANA)
    bea = await page_for(checked, hub, BEA)
    exe = await page_for(checked, hub, EXE)
    await checked.handle(ANA, schema.QueueJoin(reason="otro"))
    clock.advance(1)
    await checked.handle(BEA, schema.QueueJoin(reason="otro"))
    ana_contact = ana.last("queue.joined")["contactId"]
    bea_contact = bea.last("queue.joined")["contactId"]
    await checked.handle(EXE, schema.AgentAvailable())
    clock.advance(10)
    await checked.tick()
    assert ana.last("queue.skipped") == {
        "type": "queue.skipped",
        "contactId": ana_contact,
        "graceSeconds": 120,
    }
    assert ana.last("queue.position")["position"] == 1  # the place is kept
    assert bea.last("queue.offered")["contactId"] == bea_contact  # bea is checked now
    assert exe.last("agent.state")["state"] == "offered"
    await checked.handle(BEA, schema.QueueReady(contact_id=bea_contact))
    assert exe.last("offer")["contactId"] == bea_contact


async def test_an_offer_whose_record_fails_is_still_told_and_its_answer_names_the_executive(
    service: BranchService, hub: Hub, records: SqliteRecordStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    ana = await page_for(service, hub, ANA)
    exe = await page_for(service, hub, EXE)
    await service.handle(ANA, schema.QueueJoin(reason="otro"))
    contact_id = ana.last("queue.joined")["contactId"]

    async def away(*_args: object, **_entry: object) -> None:
        raise RecordsUnavailable("records away")

    written = records.contact_offered
    monkeypatch.setattr(records, "contact_offered", away)
    # The floor made the offer: both are told, and the failed write still surfaces.
    with pytest.raises(RecordsUnavailable):
        await service.handle(EXE, schema.AgentAvailable())
    assert exe.last("offer")["contactId"] == contact_id
    assert ana.last("queue.offered")["contactId"] == contact_id
    assert exe.last("agent.state")["state"] == "offered"
    record = await records.get(contact_id)
    assert record is not None and record.executive_run is None

    monkeypatch.setattr(records, "contact_offered", written)
    await service.handle(EXE, schema.OfferAccept(contact_id=contact_id))
    record = await records.get(contact_id)
    assert record is not None
    assert (record.executive_run, record.offered_at) == (
        EXE.person_id,
        exe.last("offer")["offeredAt"],
    )
    assert record.answered_at is not None
