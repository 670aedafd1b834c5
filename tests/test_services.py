"""Several services: skills, hours, admission, transfer, history, cut-off — through the service."""

from __future__ import annotations

from pathlib import Path

import pytest

from branch import schema
from branch.config import load_settings
from branch.core.figures import summarize
from branch.errors import (
    AfterClosing,
    InvalidState,
    NoExecutives,
    NotInCall,
    QueueFull,
    ServiceClosed,
    UnknownReason,
    UnknownService,
)
from branch.hub import Hub
from branch.live.memory import MemoryLiveStore
from branch.people import User
from branch.records.sqlite import SqliteRecordStore
from branch.service import BranchService
from tests.test_service import ANA, BEA, EXE, EXE2, Clock, Page, page_for

CAM = User("15.555.555-5", "Cam Vera", "citizen")

# Tuesday 24 November 2026, 11:00 in Santiago (UTC-3).
TUESDAY_11 = 1795528800.0

CONFIG = """
[roles]
executives = ["11.111.111-1", "12.345.678-5"]

[roles.skills]
"11.111.111-1" = "triage"
"12.345.678-5" = "especialista"

[[queues]]
code = "triage"
name = "Orientación"
hours = ["mon-fri 08:30-13:30"]
holidays = ["2026-12-25"]
serve_after_close_minutes = 10
max_waiting = 2

[[queues]]
code = "especialista"
name = "Especialista"
reasons = [{code = "ges", label = "Garantías GES"}, {code = "otro", label = "Otra consulta"}]
allow_unstaffed = false
keep_chat = false
"""


def tuesday_clock() -> Clock:
    clock = Clock()
    clock.now = TUESDAY_11
    return clock


def service_with(
    config: str, tmp_path: Path, records: SqliteRecordStore, hub: Hub, clock: Clock
) -> BranchService:
    """A service configured by ``config`` (TOML), without the readiness check."""
    path = tmp_path / "branch.toml"
    path.write_text(config, encoding="utf-8")
    settings = load_settings({}, path, service_readiness_seconds=0)
    return BranchService(settings, MemoryLiveStore(settings.floor_rules), records, hub, clock)


@pytest.fixture
def clock() -> Clock:
    return tuesday_clock()


@pytest.fixture
def service(tmp_path: Path, records: SqliteRecordStore, hub: Hub, clock: Clock) -> BranchService:
    return service_with(CONFIG, tmp_path, records, hub, clock)


async def call_between(service: BranchService, citizen: Page, executive: User) -> str:
    contact_id = citizen.last("queue.joined")["contactId"]
    await service.handle(executive, schema.AgentAvailable())
    await service.handle(executive, schema.OfferAccept(contact_id=contact_id))
    return str(contact_id)


async def test_welcome_lists_services_with_their_state(
    service: BranchService, hub: Hub, clock: Clock
) -> None:
    ana = await page_for(service, hub, ANA)
    triage, especialista = ana.last("welcome")["services"]
    assert (triage["code"], triage["name"], triage["open"]) == ("triage", "Orientación", True)
    assert triage["closesAt"] == TUESDAY_11 + 2.5 * 3600
    assert triage["hours"] == ["mon-fri 08:30-13:30"]
    assert [r["code"] for r in especialista["reasons"]] == ["ges", "otro"]
    assert (especialista["staffed"], especialista["allowUnstaffed"]) == (0, False)
    exe = await page_for(service, hub, EXE)
    assert exe.last("welcome")["skills"] == [["triage"]]
    assert exe.last("queue.summary")["services"] == [
        {"code": "triage", "waiting": 0, "oldestJoinedAt": None}
    ]


async def test_each_executive_is_offered_only_the_services_they_serve(
    service: BranchService, hub: Hub, clock: Clock
) -> None:
    ana = await page_for(service, hub, ANA)
    exe = await page_for(service, hub, EXE)
    leo = await page_for(service, hub, EXE2)
    await service.handle(EXE2, schema.AgentAvailable())  # especialista is staffed now
    await service.handle(
        ANA, schema.QueueJoin(service="especialista", reason="ges", text="Cobertura")
    )
    await service.handle(EXE, schema.AgentAvailable())
    assert exe.of("offer") == []
    offer = leo.last("offer")
    assert offer["service"] == {"code": "especialista", "name": "Especialista"}
    assert offer["reason"] == {"code": "ges", "label": "Garantías GES", "text": "Cobertura"}
    assert ana.last("queue.joined")["service"] == "especialista"


async def test_joining_names_the_service_and_its_reasons(service: BranchService, hub: Hub) -> None:
    await page_for(service, hub, ANA)
    with pytest.raises(UnknownService, match="service '' does not exist"):
        await service.handle(ANA, schema.QueueJoin(reason="otro"))
    with pytest.raises(UnknownService, match="services: triage, especialista"):
        await service.handle(ANA, schema.QueueJoin(service="nada", reason="otro"))
    with pytest.raises(UnknownReason, match="not in the catalog of especialista"):
        await service.handle(ANA, schema.QueueJoin(service="especialista", reason="licencias"))


async def test_admission_refusals_say_what_to_do(
    service: BranchService, hub: Hub, clock: Clock, records: SqliteRecordStore
) -> None:
    for user in (ANA, BEA, CAM):
        await page_for(service, hub, user)
    with pytest.raises(NoExecutives, match="no hay ejecutivos atendiendo Especialista"):
        await service.handle(ANA, schema.QueueJoin(service="especialista", reason="ges"))

    await service.handle(ANA, schema.QueueJoin(service="triage", reason="otro"))
    await service.handle(BEA, schema.QueueJoin(service="triage", reason="otro"))
    with pytest.raises(QueueFull, match=r"La fila de Orientación está llena \(2 personas"):
        await service.handle(CAM, schema.QueueJoin(service="triage", reason="otro"))

    clock.now = TUESDAY_11 + 3 * 3600  # 14:00, closed
    with pytest.raises(ServiceClosed) as closed:
        await service.handle(CAM, schema.QueueJoin(service="triage", reason="otro"))
    assert closed.value.message == (
        "Orientación está cerrado en este momento. Te esperamos mañana a las 08:30."
    )
    assert await records.recent(10, citizen_run=CAM.person_id) == []  # nothing half-written


async def test_a_join_predicted_to_end_after_closing_is_refused_at_once(
    service: BranchService, hub: Hub, clock: Clock, records: SqliteRecordStore
) -> None:
    for user in (ANA, BEA):
        await page_for(service, hub, user)
    await page_for(service, hub, EXE)
    clock.now = TUESDAY_11 + 2 * 3600  # 13:00: half an hour to closing, ten more minutes served
    await service.live.add_handle_time("triage", 50 * 60)  # contacts take 50 minutes
    await service.handle(ANA, schema.QueueJoin(service="triage", reason="otro"))
    assert (await records.recent(1))[0].estimated_wait == 25 * 60  # half of one 50-minute contact
    with pytest.raises(AfterClosing) as refused:
        await service.handle(BEA, schema.QueueJoin(service="triage", reason="otro"))
    assert refused.value.message == (
        "Con las personas que ya esperan, no alcanzaríamos a atenderte antes del cierre de las "
        "13:30 (espera estimada: unos 75 minutos). Te esperamos mañana a las 08:30."
    )


async def test_the_line_is_let_go_at_the_cut_off_after_closing(
    service: BranchService, hub: Hub, clock: Clock, records: SqliteRecordStore
) -> None:
    ana = await page_for(service, hub, ANA)
    await service.handle(ANA, schema.QueueJoin(service="triage", reason="otro"))
    clock.now = TUESDAY_11 + 2.5 * 3600 + 9 * 60  # 13:39: closed, still served
    await service.tick()
    assert ana.of("queue.left") == []
    clock.now += 60
    await service.tick()
    assert ana.last("queue.left")["reason"] == "closed"
    [record] = await records.recent(1)
    assert record.end_reason == "closed"


async def test_a_transfer_keeps_priority_links_the_contacts_and_shows_the_note(
    service: BranchService, hub: Hub, clock: Clock, records: SqliteRecordStore
) -> None:
    ana = await page_for(service, hub, ANA)
    bea = await page_for(service, hub, BEA)
    exe = await page_for(service, hub, EXE)
    leo = await page_for(service, hub, EXE2)
    await service.handle(EXE2, schema.AgentNotReady())  # staffed, not yet taking calls
    await service.handle(ANA, schema.QueueJoin(service="triage", reason="otro", text="Dudas"))
    first = await call_between(service, ana, EXE)
    clock.advance(60)
    await service.handle(BEA, schema.QueueJoin(service="especialista", reason="ges"))
    clock.advance(120)

    with pytest.raises(InvalidState, match="ya está en ese servicio"):
        await service.handle(EXE, schema.CallTransfer(contact_id=first, service="triage"))
    with pytest.raises(NotInCall):
        await service.handle(EXE2, schema.CallTransfer(contact_id=first, service="triage"))
    await service.handle(
        EXE,
        schema.CallTransfer(contact_id=first, service="especialista", note=" Revisar GES "),
    )
    ended = ana.last("call.ended")
    assert (ended["reason"], ended["by"]) == ("transferred", "executive")
    moved = ana.last("queue.joined")
    assert moved["service"] == "especialista" and moved["contactId"] != first
    assert ana.last("queue.position")["position"] == 1  # ahead of bea, who joined later
    assert bea.last("queue.position")["position"] == 2
    assert exe.last("agent.state")["state"] == "wrap_up"

    await service.handle(EXE2, schema.AgentAvailable())
    offer = leo.last("offer")
    assert offer["contactId"] == moved["contactId"]
    first_record = await records.get(first)
    assert first_record is not None and first_record.end_reason == "transferred"
    assert offer["transfer"] == {
        "fromContactId": first,
        "folio": first_record.folio,
        "executive": "Eva Díaz",
        "service": "triage",
        "note": "Revisar GES",
    }
    assert [h["folio"] for h in leo.last("offer.history")["history"]] == [first_record.folio]
    second = await records.get(moved["contactId"])
    assert second is not None
    assert (second.transferred_from, second.transfer_note, second.service) == (
        first,
        "Revisar GES",
        "especialista",
    )


async def test_a_transfer_records_the_estimate_told_in_the_new_line_and_is_judged_by_it(
    service: BranchService, hub: Hub, clock: Clock, records: SqliteRecordStore
) -> None:
    ana, bea, cam = [await page_for(service, hub, user) for user in (ANA, BEA, CAM)]
    await page_for(service, hub, EXE)
    await page_for(service, hub, EXE2)  # logged in, not ready: especialista is staffed by one
    for seconds in (300, 500):
        await service.live.add_handle_time("especialista", seconds)  # 400 s on average
    await service.handle(ANA, schema.QueueJoin(service="triage", reason="otro"))
    first = await call_between(service, ana, EXE)
    clock.advance(60)
    await service.handle(BEA, schema.QueueJoin(service="especialista", reason="ges"))
    clock.advance(30)
    await service.handle(CAM, schema.QueueJoin(service="especialista", reason="ges"))
    assert cam.last("queue.position")["estimatedWaitSeconds"] == 600  # (2 - 0.5) * 400 / 1
    clock.advance(90)

    await service.handle(EXE, schema.CallTransfer(contact_id=first, service="especialista"))
    # Ana keeps her first join time: first in the new line, told (1 - 0.5) * 400 / 1 = 200 s.
    moved = ana.last("queue.joined")["contactId"]
    told = ana.last("queue.position")
    assert (told["contactId"], told["position"], told["estimatedWaitSeconds"]) == (moved, 1, 200)
    assert bea.last("queue.position")["position"] == 2
    second = await records.get(moved)
    assert second is not None and second.estimated_wait == 200
    # The audit trail says what she was told, as a join's entry does.
    [entry] = [e for e in await records.audit_entries() if e.kind == "contact.transferred"]
    assert (entry.actor, entry.contact_id, entry.at) == (EXE.key, first, clock.now)
    assert entry.data == {
        "toService": "especialista",
        "toContact": moved,
        "toFolio": second.folio,
        "estimatedWait": 200,
    }

    clock.advance(150)
    await service.handle(EXE2, schema.AgentAvailable())
    await service.handle(EXE2, schema.OfferAccept(contact_id=moved))
    # The leg in especialista waited 150 s from the transfer, against the 200 s told then;
    # the first leg, in triage, had no history and so no estimate.
    figures = summarize(await records.recent(10), service.settings.thresholds)
    assert (figures.answered, figures.estimates) == (2, 1)
    assert (figures.estimate_error, figures.estimate_bias) == (50.0, -50.0)


async def test_the_offer_shows_the_citizens_previous_contacts(
    service: BranchService, hub: Hub, clock: Clock
) -> None:
    ana = await page_for(service, hub, ANA)
    exe = await page_for(service, hub, EXE)
    for reason in ("licencias", "bonos"):
        await service.handle(ANA, schema.QueueJoin(service="triage", reason=reason))
        contact = await call_between(service, ana, EXE)
        clock.advance(60)
        await service.handle(ANA, schema.CallHangup(contact_id=contact))
        await service.handle(
            EXE,
            schema.WrapupSubmit(contact_id=contact, outcome="resuelto", reason=reason),
        )
        await service.handle(EXE, schema.AgentNotReady())
        clock.advance(3600)
    await service.handle(ANA, schema.QueueJoin(service="triage", reason="otro"))
    await service.handle(EXE, schema.AgentAvailable())
    offer = exe.last("offer")
    assert "history" not in offer  # it follows: its read is audited first
    told = exe.last("offer.history")
    history = told["history"]
    assert told["contactId"] == offer["contactId"]
    assert [(h["reason"], h["outcome"], h["service"]) for h in history] == [
        ("Bonos y reembolsos", "Resuelto en la atención", "Orientación"),
        ("Licencias médicas", "Resuelto en la atención", "Orientación"),
    ]
    # Showing the history is a read of records by staff, in the trail once per offer.
    welcome = await service.connected(EXE)  # the executive's page reopens: the same offer again
    assert welcome["state"]["offer"]["history"] == history  # there, with the offer
    reads = [
        entry
        for entry in await service.records.audit_entries(offer["contactId"])
        if entry.kind == "records.read"
    ]
    assert [(entry.actor, entry.data) for entry in reads] == [
        (EXE.key, {"folios": [h["folio"] for h in history]})
    ]


async def test_a_service_that_keeps_no_chat_relays_it_without_recording(
    service: BranchService, hub: Hub, records: SqliteRecordStore
) -> None:
    ana = await page_for(service, hub, ANA)
    leo = await page_for(service, hub, EXE2)
    await service.handle(EXE2, schema.AgentNotReady())
    await service.handle(ANA, schema.QueueJoin(service="especialista", reason="ges"))
    contact_id = await call_between(service, ana, EXE2)
    await service.handle(ANA, schema.ChatSend(contact_id=contact_id, text="Mi folio es 42"))
    assert leo.last("chat.message")["text"] == "Mi folio es 42"
    assert await records.chat(contact_id) == []
