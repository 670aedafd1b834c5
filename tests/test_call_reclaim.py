"""Calls in progress put back from the pages' call tickets after the live state was lost.

The Redis case restarts a real redis-server empty mid-call under two nodes
(citizen on one, executive on the other) and then ends the call and wraps it
up through the restored floor.
"""

from __future__ import annotations

import pytest

from branch import schema
from branch.config import Settings, load_settings
from branch.core.floor import AgentState
from branch.errors import BadTicket, NotYourTicket, TicketUsed
from branch.live.memory import MemoryLiveStore
from branch.live.redisstore import RedisLiveStore
from branch.records.sqlite import SqliteRecordStore
from branch.service import BranchService
from tests.servers.redis import StartRedis
from tests.test_resume import CAM, node
from tests.test_service import ANA, BEA, EXE, Clock, Page, page_for


@pytest.fixture
def settings() -> Settings:
    return load_settings({}, service_readiness_seconds=0, service_ticket_seconds=3600)


async def start_call(
    citizen_node: BranchService, executive_node: BranchService
) -> tuple[Page, Page, str]:
    """Ana (on ``citizen_node``) in a call with Eva (on ``executive_node``)."""
    ana = await page_for(citizen_node, citizen_node.hub, ANA)
    exe = await page_for(executive_node, executive_node.hub, EXE)
    await citizen_node.handle(ANA, schema.QueueJoin(reason="licencias"))
    contact_id = str(ana.last("queue.joined")["contactId"])
    await executive_node.handle(EXE, schema.AgentAvailable())
    await executive_node.handle(EXE, schema.OfferAccept(contact_id=contact_id))
    return ana, exe, contact_id


async def test_redis_restarted_empty_mid_call_keeps_the_call_to_its_wrap_up(
    settings: Settings, records: SqliteRecordStore, start_redis: StartRedis
) -> None:
    server = start_redis()
    clock = Clock()
    stores = [RedisLiveStore(server.url, settings.floor_rules) for _ in range(2)]
    for store in stores:
        await store.open()
    try:
        a, b = (node(settings, store, records, clock) for store in stores)
        _ana, exe, contact_id = await start_call(a, b)
        # Ana's call.started went out from b (cross-node delivery is not this test's):
        # her page, reconnecting to a, is given the ticket in the welcome.
        ana = await page_for(a, a.hub, ANA)
        ana_ticket = str(ana.last("welcome")["state"]["call"]["ticket"])
        exe_ticket = str(exe.last("call.started")["ticket"])
        assert ana_ticket != exe_ticket
        answered_at = (await a.live.call(contact_id) or pytest.fail("no call")).answered_at
        clock.advance(60)

        offers_before = len(exe.of("offer"))
        server.restart_empty()
        for service in (a, b):
            await service.tick()
        assert ana.of("queue.reclaim") == exe.of("queue.reclaim") == [{"type": "queue.reclaim"}]
        assert await a.live.calls() == []

        # Another person's ticket, or a changed one, restores nothing.
        await page_for(a, a.hub, BEA)
        with pytest.raises(NotYourTicket):
            await a.handle(BEA, schema.CallReclaim(ticket=ana_ticket))
        with pytest.raises(NotYourTicket):
            await b.handle(EXE, schema.CallReclaim(ticket=ana_ticket))
        with pytest.raises(BadTicket):
            await a.handle(ANA, schema.CallReclaim(ticket=ana_ticket[:-4] + "AAAA"))
        assert await a.live.calls() == []

        await a.handle(ANA, schema.CallReclaim(ticket=ana_ticket))
        restored = await b.live.call(contact_id)
        assert restored is not None and restored.answered_at == answered_at
        assert restored.agent_absent_since == clock.now  # until the executive's page answers
        # A citizen joining meanwhile is not offered to the executive in the call;
        # nor is ana, back in her call, told of the line that grew.
        statuses = len(ana.of("service.status"))
        await a.handle(BEA, schema.QueueJoin(reason="otro"))
        assert len(ana.of("service.status")) == statuses
        await b.handle(EXE, schema.CallReclaim(ticket=exe_ticket))
        assert exe.last("agent.state")["state"] == "in_call"
        resumed = (await b.live.call(contact_id) or pytest.fail("no call")).agent_absent_since
        assert resumed is None
        clock.advance(300)
        for service in (a, b):
            await service.tick()
        assert len(exe.of("offer")) == offers_before
        assert (await a.live.citizen_status(BEA.person_id)).position == 1

        await b.handle(EXE, schema.CallHangup(contact_id=contact_id))
        assert exe.last("call.ended")["reason"] == "completed"
        assert exe.last("agent.state")["state"] == "wrap_up"
        with pytest.raises(TicketUsed):  # an ended call gives the citizen nothing back
            await a.handle(ANA, schema.CallReclaim(ticket=ana_ticket))
        clock.advance(20)
        await b.handle(
            EXE,
            schema.WrapupSubmit(contact_id=contact_id, outcome="resuelto", reason="licencias"),
        )
        assert exe.last("wrapup.saved")["contactId"] == contact_id
        record = await records.get(contact_id)
        assert record is not None
        assert (record.answered_at, record.end_reason, record.outcome_code) == (
            answered_at,
            "completed",
            "resuelto",
        )
        assert record.ended_at == clock.now - 20 and record.wrapped_up_at == clock.now
        kinds = [entry.kind for entry in await records.audit_entries(contact_id)]
        # The first side back restores the call; the second reconnects to it.
        assert kinds[kinds.index("contact.restored") :][:2] == [
            "contact.restored",
            "contact.reconnected",
        ]
        # Only now is the next citizen offered.
        assert exe.last("offer")["citizen"]["run"] == BEA.person_id
    finally:
        for store in stores:
            await store.close()


async def test_a_wrap_up_in_progress_comes_back_and_holds_the_desk(
    settings: Settings, records: SqliteRecordStore
) -> None:
    clock = Clock()
    first = node(settings, MemoryLiveStore(settings.floor_rules), records, clock)
    _ana, exe, contact_id = await start_call(first, first)
    exe_ticket = str(exe.last("call.started")["ticket"])
    clock.advance(100)
    await first.handle(EXE, schema.CallHangup(contact_id=contact_id))
    clock.advance(30)

    second = node(settings, MemoryLiveStore(settings.floor_rules), records, clock)
    exe = await page_for(second, second.hub, EXE)  # paused, on a floor that forgot the call
    await page_for(second, second.hub, CAM)
    await second.handle(CAM, schema.QueueJoin(reason="otro"))
    await second.handle(EXE, schema.CallReclaim(ticket=exe_ticket))
    agent = (await second.live.agent_status(EXE.person_id)).agent
    assert agent is not None
    assert (agent.state, agent.contact_id, agent.since) == (
        AgentState.WRAP_UP,
        contact_id,
        clock.now - 30,
    )
    await second.tick()
    assert exe.of("offer") == []
    await second.handle(
        EXE, schema.WrapupSubmit(contact_id=contact_id, outcome="resuelto", reason="licencias")
    )
    record = await records.get(contact_id)
    assert record is not None and record.wrapped_up_at == clock.now
    assert exe.last("offer")["citizen"]["run"] == CAM.person_id
    # The wrap-up saved, the ticket gives nothing back.
    with pytest.raises(TicketUsed):
        await second.handle(EXE, schema.CallReclaim(ticket=exe_ticket))
