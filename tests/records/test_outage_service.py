"""The service while PostgreSQL is away: what the live floor already did still reaches the pages."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from branch import schema
from branch.config import load_settings
from branch.hub import Hub
from branch.live.memory import MemoryLiveStore
from branch.records.postgres import PostgresRecordStore
from branch.service import BranchService
from tests.servers.postgres import PostgresCluster
from tests.test_service import ANA, BEA, EXE, Clock, Page, page_for


@pytest.fixture
async def journaling(postgres_url: str, tmp_path: Path) -> AsyncIterator[PostgresRecordStore]:
    store = PostgresRecordStore(
        postgres_url, journal=tmp_path / "journal.sqlite3", timeout=2.0, retry_seconds=0.1
    )
    await store.open()
    yield store
    await store.close()


async def ana_in_a_call(service: BranchService, ana: Page) -> str:
    """Ana joins and Eva takes her; returns the contact id."""
    await service.handle(ANA, schema.QueueJoin(reason="otro"))
    contact_id: str = ana.last("queue.joined")["contactId"]
    await service.handle(EXE, schema.AgentAvailable())
    await service.handle(EXE, schema.OfferAccept(contact_id=contact_id))
    return contact_id


async def test_a_wrap_up_timing_out_during_an_outage_does_not_stop_the_next_offer(
    postgres_cluster: PostgresCluster, journaling: PostgresRecordStore
) -> None:
    hub, clock = Hub(), Clock()
    settings = load_settings({}, service_readiness_seconds=0)
    service = BranchService(settings, MemoryLiveStore(settings.floor_rules), journaling, hub, clock)
    ana = await page_for(service, hub, ANA)
    bea = await page_for(service, hub, BEA)
    exe = await page_for(service, hub, EXE)
    postgres_cluster.stop()
    try:
        first = await ana_in_a_call(service, ana)
        await service.handle(BEA, schema.QueueJoin(reason="otro"))
        second = bea.last("queue.joined")["contactId"]
        await service.handle(ANA, schema.CallHangup(contact_id=first))
        assert exe.last("agent.state")["state"] == "wrap_up"
        # Reloaded mid-wrap-up: the page still gets its state, without the record's details.
        reloaded = await page_for(service, hub, EXE)
        assert reloaded.last("welcome")["state"]["wrapup"] is None
        clock.advance(settings.service_wrapup_seconds + 1)
        await service.tick()  # the default outcome cannot be read back; the rest goes on
        assert reloaded.last("agent.state")["state"] == "offered"
        assert reloaded.last("offer")["contactId"] == second
    finally:
        postgres_cluster.start()


async def test_a_page_reloaded_mid_call_during_an_outage_gets_its_call_without_the_chat(
    postgres_cluster: PostgresCluster, journaling: PostgresRecordStore
) -> None:
    hub = Hub()
    settings = load_settings({}, service_readiness_seconds=0)
    service = BranchService(settings, MemoryLiveStore(settings.floor_rules), journaling, hub)
    ana = await page_for(service, hub, ANA)
    await page_for(service, hub, EXE)
    postgres_cluster.stop()
    try:
        contact_id = await ana_in_a_call(service, ana)
        await service.handle(ANA, schema.ChatSend(contact_id=contact_id, text="hola"))
        for user in (ANA, EXE):
            welcome = (await page_for(service, hub, user)).last("welcome")
            assert welcome["state"]["call"]["contactId"] == contact_id
            assert welcome["state"]["call"]["chat"] == []
    finally:
        postgres_cluster.start()
