"""Through the service: the hard maximum wait, live service status, and the audio-only notice."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any

import pytest

from branch import schema
from branch.config import load_settings
from branch.errors import BadMessage, NotInCall
from branch.hub import Hub
from branch.live.redisstore import RedisLiveStore
from branch.records.sqlite import SqliteRecordStore
from branch.service import BranchService
from tests.servers.redis import StartRedis
from tests.test_service import ANA, BEA, EXE, EXE2, Clock, page_for
from tests.test_services import CAM, TUESDAY_11, call_between, service_with, tuesday_clock
from tests.test_services import CONFIG as SERVICES

# The two services of tests/test_services.py, each with a hard maximum wait.
CONFIG = SERVICES.replace(
    "max_waiting = 2\n", "max_waiting = 2\nhard_max_wait_minutes = 10\n"
).replace("keep_chat = false\n", "keep_chat = false\nhard_max_wait_minutes = 5\n")


@pytest.fixture
def clock() -> Clock:
    return tuesday_clock()


@pytest.fixture
def service(tmp_path: Path, records: SqliteRecordStore, hub: Hub, clock: Clock) -> BranchService:
    return service_with(CONFIG, tmp_path, records, hub, clock)


# ---------------------------------------------------------------- the hard maximum wait


async def test_a_wait_past_the_hard_limit_ends_told_recorded_and_audited(
    service: BranchService, hub: Hub, clock: Clock, records: SqliteRecordStore
) -> None:
    ana = await page_for(service, hub, ANA)
    welcome = ana.last("welcome")
    assert (welcome["language"], welcome["services"][0]["hardMaxWaitSeconds"]) == ("es-CL", 600)
    await service.handle(ANA, schema.QueueJoin(service="triage", reason="otro"))
    contact_id = ana.last("queue.joined")["contactId"]
    clock.advance(599)
    await service.tick()
    assert ana.of("queue.left") == []
    clock.advance(1)
    await service.tick()
    assert ana.last("queue.left") == {
        "type": "queue.left",
        "contactId": contact_id,
        "reason": "wait_limit",
    }
    record = await records.get(contact_id)
    assert record is not None
    assert (record.end_reason, record.ended_at) == ("wait_limit", TUESDAY_11 + 600)
    [ended] = [e for e in await records.audit_entries(contact_id) if e.kind == "contact.ended"]
    assert (ended.actor, ended.data) == ("system", {"reason": "wait_limit", "by": "system"})
    assert (await service.live.citizen_status(ANA.person_id)).waiting is None


async def test_after_a_transfer_the_new_lines_limit_counts_from_the_transfer(
    service: BranchService, hub: Hub, clock: Clock, records: SqliteRecordStore
) -> None:
    ana = await page_for(service, hub, ANA)
    await page_for(service, hub, EXE)
    await page_for(service, hub, EXE2)
    await service.handle(EXE2, schema.AgentNotReady())  # especialista staffed, nobody free
    await service.handle(ANA, schema.QueueJoin(service="triage", reason="otro"))
    first = await call_between(service, ana, EXE)
    clock.advance(900)  # fifteen minutes in the call: past both limits since the first join
    heard = len(pushed(ana))
    await service.handle(EXE, schema.CallTransfer(contact_id=first, service="especialista"))
    assert len(pushed(ana)) == heard  # in line again: no services, though her call ended
    second = ana.last("queue.joined")
    assert (second["service"], second["joinedAt"]) == ("especialista", TUESDAY_11)
    clock.advance(299)
    await service.tick()
    assert ana.of("queue.left") == []
    clock.advance(1)
    await service.tick()
    assert ana.last("queue.left")["reason"] == "wait_limit"
    assert ana.last("queue.left")["contactId"] == second["contactId"]
    record = await records.get(second["contactId"])
    assert record is not None and record.end_reason == "wait_limit"


# ---------------------------------------------------------------- live service status


def pushed(page: Any) -> list[dict[str, Any]]:
    """Every service status the page was pushed, in order."""
    return [status for message in page.of("service.status") for status in message["services"]]


async def test_a_citizen_choosing_a_service_hears_of_executives_coming_and_going(
    service: BranchService, hub: Hub
) -> None:
    ana = await page_for(service, hub, ANA)
    [_, especialista] = ana.last("welcome")["services"]
    assert (especialista["staffed"], especialista["refusal"]) == (0, "no_executives")
    await page_for(service, hub, EXE2)  # logs in: especialista is staffed now
    assert pushed(ana) == [
        {
            "code": "especialista",
            "open": True,
            "opensAt": None,
            "closesAt": None,
            "staffed": 1,
            "waiting": 0,
            "estimatedWaitSeconds": None,
            "refusal": None,
        }
    ]
    await service.tick()  # nothing changed since: nothing more
    assert len(ana.of("service.status")) == 1
    await service.disconnected(EXE2)  # the last executive of especialista is gone
    gone = pushed(ana)[-1]
    assert (gone["code"], gone["staffed"], gone["refusal"]) == (
        "especialista",
        0,
        "no_executives",
    )


async def test_a_full_line_is_pushed_to_those_choosing_but_not_to_those_in_it(
    service: BranchService, hub: Hub, clock: Clock
) -> None:
    ana = await page_for(service, hub, ANA)
    bea = await page_for(service, hub, BEA)
    cam = await page_for(service, hub, CAM)
    await service.handle(ANA, schema.QueueJoin(service="triage", reason="otro"))
    assert [(s["code"], s["waiting"], s["refusal"]) for s in pushed(cam)] == [("triage", 1, None)]
    assert len(pushed(bea)) == 1  # still choosing when ana joined
    clock.advance(10)
    await service.handle(BEA, schema.QueueJoin(service="triage", reason="otro"))
    assert [(s["waiting"], s["refusal"]) for s in pushed(cam)][-1] == (2, "queue_full")
    # In line: they hear of their place, not of the services.
    assert (len(pushed(ana)), len(pushed(bea))) == (0, 1)
    assert bea.last("queue.position")["position"] == 2


async def test_the_upkeep_tick_reads_no_whole_line(
    service: BranchService, hub: Hub, clock: Clock, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The status push runs every second: line lengths and heads only (docs/operations.md)."""
    ana = await page_for(service, hub, ANA)
    cam = await page_for(service, hub, CAM)
    await service.handle(ANA, schema.QueueJoin(service="triage", reason="otro"))
    read: list[str] = []

    async def whole_line(code: str) -> list[object]:
        read.append(code)
        return []

    monkeypatch.setattr(service.live, "waiting", whole_line)
    clock.advance(1)
    await service.tick()
    assert read == []
    assert (len(pushed(ana)), len(pushed(cam))) == (0, 1)


async def test_a_service_closing_by_the_clock_is_pushed(
    service: BranchService, hub: Hub, clock: Clock
) -> None:
    cam = await page_for(service, hub, CAM)
    clock.advance(2.5 * 3600)  # 13:30: triage closes
    await service.tick()
    [triage] = pushed(cam)
    assert (triage["code"], triage["open"], triage["refusal"]) == ("triage", False, "closed")
    assert triage["opensAt"] == TUESDAY_11 + 24 * 3600 - 2.5 * 3600  # Wednesday 08:30


async def test_a_citizen_back_from_the_line_is_told_every_service_at_once(
    service: BranchService, hub: Hub
) -> None:
    """At once: the push after the step reads the citizens it names, and she is one."""
    ana = await page_for(service, hub, ANA)
    await service.handle(ANA, schema.QueueJoin(service="triage", reason="otro"))
    await service.handle(ANA, schema.QueueLeave())
    [everything] = ana.of("service.status")
    assert [s["code"] for s in everything["services"]] == ["triage", "especialista"]
    await service.tick()  # nothing changed since: nothing more
    assert len(ana.of("service.status")) == 1
    await page_for(service, hub, EXE2)  # choosing again: she hears the next change
    assert [(s["code"], s["staffed"]) for s in ana.last("service.status")["services"]] == [
        ("especialista", 1)
    ]


async def test_a_page_reloaded_in_line_hears_no_service_news(
    service: BranchService, hub: Hub
) -> None:
    ana = await page_for(service, hub, ANA)
    cam = await page_for(service, hub, CAM)
    await service.handle(ANA, schema.QueueJoin(service="triage", reason="otro"))
    hub.detach(ANA.key, ana)
    await service.disconnected(ANA)
    reloaded = await page_for(service, hub, ANA)
    assert reloaded.last("welcome")["state"]["queue"]["service"] == "triage"
    await page_for(service, hub, EXE2)  # especialista staffed: news for those choosing
    assert pushed(cam)[-1]["staffed"] == 1
    assert reloaded.of("service.status") == []


async def test_a_citizen_offered_by_this_nodes_step_hears_no_more_service_news(
    service: BranchService, hub: Hub
) -> None:
    ana = await page_for(service, hub, ANA)
    cam = await page_for(service, hub, CAM)
    await page_for(service, hub, EXE)
    await service.handle(ANA, schema.QueueJoin(service="triage", reason="otro"))
    heard = len(pushed(ana))
    await service.handle(EXE, schema.AgentAvailable())  # offered to Eva: ana's line is empty
    assert ana.last("queue.offered")
    await page_for(service, hub, EXE2)
    assert pushed(cam)[-1]["code"] == "especialista"
    assert len(pushed(ana)) == heard


class AddressingHub(Hub):
    """This node's hub, noting whom each message was addressed to: with Redis delivery a
    key whose page is not here is relayed to the node that has it."""

    def __init__(self) -> None:
        super().__init__()
        self.addressed: list[str] = []

    async def send_many(self, user_keys: Iterable[str], payload: dict[str, Any]) -> None:
        keys = list(user_keys)
        self.addressed += keys
        await super().send_many(keys, payload)


async def test_a_page_gone_from_this_node_is_not_addressed_by_its_pushes(
    tmp_path: Path, records: SqliteRecordStore, clock: Clock
) -> None:
    hub = AddressingHub()
    service = service_with(CONFIG, tmp_path, records, hub, clock)
    ana = await page_for(service, hub, ANA)
    await page_for(service, hub, CAM)
    hub.detach(ANA.key, ana)  # replaced by her page on another node, which tells her itself
    await page_for(service, hub, EXE2)
    assert (CAM.key in hub.addressed, ANA.key in hub.addressed) == (True, False)


async def test_a_call_ended_on_another_node_is_caught_by_this_nodes_upkeep_tick(
    records: SqliteRecordStore, start_redis: StartRedis
) -> None:
    """The push after a step here reads only the citizens it names; the tick reads every page."""
    server = start_redis()
    clock = tuesday_clock()
    settings = load_settings({}, service_readiness_seconds=0)
    stores = [RedisLiveStore(server.url, settings.floor_rules) for _ in range(2)]
    for store in stores:
        await store.open()
    try:
        a, b = (BranchService(settings, store, records, Hub(), clock) for store in stores)
        ana = await page_for(a, a.hub, ANA)
        bea = await page_for(a, a.hub, BEA)
        exe = await page_for(b, b.hub, EXE)
        await a.handle(ANA, schema.QueueJoin(reason="licencias"))
        await b.handle(EXE, schema.AgentAvailable())
        contact_id = str(exe.last("offer")["contactId"])
        await b.handle(EXE, schema.OfferAccept(contact_id=contact_id))
        statuses_before = len(ana.of("service.status"))
        await b.handle(EXE, schema.CallHangup(contact_id=contact_id))  # on b: a hears nothing
        await a.handle(BEA, schema.QueueJoin(reason="licencias"))  # a step here, not naming ana
        await a.tick()
        [everything] = ana.of("service.status")[statuses_before:]
        assert [(s["code"], s["waiting"]) for s in everything["services"]] == [("general", 1)]
        await a.tick()  # nothing changed since: nothing more
        assert len(ana.of("service.status")) == statuses_before + 1
        assert bea.of("service.status")[1:] == []  # in line since her join on a
    finally:
        for store in stores:
            await store.close()


# ---------------------------------------------------------------- audio only


async def test_the_executive_is_told_when_the_citizen_goes_audio_only_and_back(
    service: BranchService, hub: Hub, records: SqliteRecordStore, clock: Clock
) -> None:
    ana = await page_for(service, hub, ANA)
    exe = await page_for(service, hub, EXE)
    await service.handle(ANA, schema.QueueJoin(service="triage", reason="otro"))
    contact_id = await call_between(service, ana, EXE)
    for on in (True, False):
        clock.advance(5)
        await service.handle(ANA, schema.CallAudioOnly(contact_id=contact_id, audio_only=on))
        assert exe.last("call.audio_only") == {
            "type": "call.audio_only",
            "contactId": contact_id,
            "audioOnly": on,
        }
    assert ana.of("call.audio_only") == []
    trail = [
        e.data for e in await records.audit_entries(contact_id) if e.kind == "contact.audio_only"
    ]
    assert trail == [{"audioOnly": True}, {"audioOnly": False}]


async def test_a_reloaded_desk_is_told_at_once_that_the_citizen_is_audio_only(
    service: BranchService, hub: Hub
) -> None:
    ana = await page_for(service, hub, ANA)
    await page_for(service, hub, EXE)
    await service.handle(ANA, schema.QueueJoin(service="triage", reason="otro"))
    contact_id = await call_between(service, ana, EXE)
    assert (await page_for(service, hub, EXE)).last("welcome")["state"]["call"][
        "audioOnly"
    ] is False

    await service.handle(ANA, schema.CallAudioOnly(contact_id=contact_id, audio_only=True))
    desk = (await page_for(service, hub, EXE)).last("welcome")["state"]["call"]
    assert (desk["contactId"], desk["audioOnly"]) == (contact_id, True)

    await service.handle(ANA, schema.CallAudioOnly(contact_id=contact_id, audio_only=False))
    assert (await page_for(service, hub, EXE)).last("welcome")["state"]["call"][
        "audioOnly"
    ] is False

    # A citizen page that reloads starts with its video on, whatever it said before.
    await service.handle(ANA, schema.CallAudioOnly(contact_id=contact_id, audio_only=True))
    hub.detach(ANA.key, ana)
    await service.disconnected(ANA)
    reloaded = await page_for(service, hub, ANA)
    assert reloaded.last("welcome")["state"]["call"]["contactId"] == contact_id
    assert (await page_for(service, hub, EXE)).last("welcome")["state"]["call"][
        "audioOnly"
    ] is False


async def test_audio_only_is_relayed_only_within_the_citizens_own_call(
    service: BranchService, hub: Hub
) -> None:
    await page_for(service, hub, ANA)
    with pytest.raises(NotInCall, match="No estás en una atención con ese identificador"):
        await service.handle(ANA, schema.CallAudioOnly(contact_id="someone-else", audio_only=True))


@pytest.mark.parametrize("value", ["true", 1, None])
def test_audio_only_must_be_true_or_false(value: object) -> None:
    frame = schema.dump({"type": "call.audio_only", "contactId": "c", "audioOnly": value})
    with pytest.raises(BadMessage, match=r"^call\.audio_only: audioOnly must be true or false$"):
        schema.parse_client(frame, max_bytes=65536)


# ---------------------------------------------------------------- camera off


async def test_each_side_tells_the_other_its_camera_is_off_and_back_on(
    service: BranchService, hub: Hub, records: SqliteRecordStore
) -> None:
    ana = await page_for(service, hub, ANA)
    exe = await page_for(service, hub, EXE)
    await service.handle(ANA, schema.QueueJoin(service="triage", reason="otro"))
    contact_id = await call_between(service, ana, EXE)
    for sender, receiver, other in ((EXE, ana, exe), (ANA, exe, ana)):
        for off in (True, False):
            await service.handle(sender, schema.CallCamera(contact_id=contact_id, camera_off=off))
            assert receiver.last("call.camera") == {
                "type": "call.camera",
                "contactId": contact_id,
                "cameraOff": off,
            }
        assert len(receiver.of("call.camera")) == 2
        assert other.of("call.camera") == []
        receiver.sent.clear()
    # Only shown, not kept: nothing of it in the contact's trail.
    assert [e for e in await records.audit_entries(contact_id) if "camera" in e.kind] == []


async def test_camera_news_goes_only_within_the_senders_own_call(
    service: BranchService, hub: Hub
) -> None:
    bea = await page_for(service, hub, BEA)
    await page_for(service, hub, EXE)
    await service.handle(BEA, schema.QueueJoin(service="triage", reason="otro"))
    contact_id = await call_between(service, bea, EXE)
    ana = await page_for(service, hub, ANA)
    for user in (ANA, EXE2):
        with pytest.raises(NotInCall, match="No estás en una atención con ese identificador"):
            await service.handle(user, schema.CallCamera(contact_id=contact_id, camera_off=True))
    assert ana.of("call.camera") == bea.of("call.camera") == []
