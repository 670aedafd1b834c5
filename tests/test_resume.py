"""Queue tickets through the service: issued on joining, presented when the live state is lost.

The Redis cases restart a real redis-server empty under two nodes and check
that the lines come back in their original order, whatever order the pages
present their tickets in.
"""

from __future__ import annotations

import secrets

import pytest

from branch import schema, tickets
from branch.config import Settings, load_settings
from branch.core.floor import Waiting
from branch.errors import AlreadyQueued, BadTicket, NotYourTicket, TicketExpired, TicketUsed
from branch.hub import Hub
from branch.live.base import LiveStore
from branch.live.memory import MemoryLiveStore
from branch.live.redisstore import RedisLiveStore
from branch.people import User
from branch.records.sqlite import SqliteRecordStore
from branch.resume import TicketDesk
from branch.service import BranchService
from tests.servers.redis import StartRedis
from tests.test_service import ANA, BEA, EXE, Clock, Page, page_for

CAM = User("15.555.555-9", "Cam Vera", "citizen")
KEY = secrets.token_bytes(32)


@pytest.fixture
def settings() -> Settings:
    return load_settings({}, service_readiness_seconds=0, service_ticket_seconds=3600)


def node(
    settings: Settings, live: LiveStore, records: SqliteRecordStore, clock: Clock
) -> BranchService:
    return BranchService(settings, live, records, Hub(), clock, ticket_key=KEY)


async def join(service: BranchService, user: User, clock: Clock) -> tuple[Page, str]:
    page = await page_for(service, service.hub, user)
    await service.handle(user, schema.QueueJoin(reason="licencias"))
    ticket = page.last("queue.ticket")
    assert ticket["contactId"] == page.last("queue.joined")["contactId"]
    assert ticket["expiresAt"] == clock.now + 3600
    clock.advance(1)
    return page, str(ticket["ticket"])


async def test_a_restarted_node_takes_the_citizen_back_at_the_first_join_time(
    settings: Settings, records: SqliteRecordStore
) -> None:
    clock = Clock()
    first = node(settings, MemoryLiveStore(settings.floor_rules), records, clock)
    joined_at = clock.now
    _ana, ana_ticket = await join(first, ANA, clock)
    clock.advance(60)
    await join(first, BEA, clock)

    clock.advance(30)  # the process restarts: memory is empty, the records remain
    second = node(settings, MemoryLiveStore(settings.floor_rules), records, clock)
    await join(second, CAM, clock)
    page = await page_for(second, second.hub, ANA)
    assert page.last("welcome")["state"]["queue"] is None
    await second.handle(ANA, schema.QueueResume(ticket=ana_ticket))
    assert page.last("queue.joined")["joinedAt"] == joined_at
    assert page.last("queue.position")["position"] == 1
    assert page.of("service.status") == []  # back in line: her place, not the services
    assert [e.citizen_id for e in await second.live.waiting("general")] == [
        ANA.person_id,
        CAM.person_id,
    ]
    # Presenting it again while in line changes nothing.
    before = len(page.sent)
    await second.handle(ANA, schema.QueueResume(ticket=ana_ticket))
    assert len(page.sent) == before
    contact_id = page.last("queue.joined")["contactId"]
    kinds = [entry.kind for entry in await records.audit_entries(contact_id)]
    assert kinds == ["contact.joined", "contact.resumed"]


def ana_ticket_contact(token: str) -> str:
    return tickets.read(KEY, token, ANA.person_id, 1_795_000_000.0).contact_id


async def fresh(settings: Settings, records: SqliteRecordStore, clock: Clock) -> BranchService:
    """A node whose live state was lost: the records remain."""
    return node(settings, MemoryLiveStore(settings.floor_rules), records, clock)


async def test_tickets_that_give_no_place_are_refused(
    settings: Settings, records: SqliteRecordStore
) -> None:
    clock = Clock()
    service = node(settings, MemoryLiveStore(settings.floor_rules), records, clock)
    _ana, ana_ticket = await join(service, ANA, clock)
    await page_for(service, service.hub, BEA)
    with pytest.raises(NotYourTicket):
        await service.handle(BEA, schema.QueueResume(ticket=ana_ticket))
    with pytest.raises(BadTicket) as forged:
        await service.handle(BEA, schema.QueueResume(ticket=ana_ticket[:-4] + "AAAA"))
    assert (forged.value.code, forged.value.message) == (
        "bad_ticket",
        "El comprobante de fila no es válido",
    )
    record = await records.get(ana_ticket_contact(ana_ticket))
    assert record is not None
    for code, folio in (("especial", record.folio), (record.service, "20991231-999999")):
        lying = tickets.issue(
            KEY,
            Waiting(record.contact_id, ANA.person_id, "Ana", code, "x", "", folio, 1.0),
            clock.now,
            60,
        )
        with pytest.raises(BadTicket):  # signed, but it disagrees with the record
            await (await fresh(settings, records, clock)).handle(
                ANA, schema.QueueResume(ticket=lying)
            )
    other = BranchService(settings, MemoryLiveStore(settings.floor_rules), records, Hub(), clock)
    with pytest.raises(BadTicket):  # another key: another deployment's ticket
        await other.handle(ANA, schema.QueueResume(ticket=ana_ticket))

    _bea, old_ticket = await join(service, BEA, clock)
    await service.handle(BEA, schema.QueueLeave())
    _bea, bea_ticket = await join(service, BEA, clock)
    with pytest.raises(AlreadyQueued):  # Bea waits with another contact already
        await service.handle(BEA, schema.QueueResume(ticket=old_ticket))

    exe = await page_for(service, service.hub, EXE)
    await service.handle(EXE, schema.AgentAvailable())
    await service.handle(EXE, schema.OfferAccept(contact_id=exe.last("offer")["contactId"]))
    await service.handle(EXE, schema.CallHangup(contact_id=exe.last("offer")["contactId"]))
    with pytest.raises(TicketUsed) as used:  # Ana was served: her ticket is spent
        await service.handle(ANA, schema.QueueResume(ticket=ana_ticket))
    assert used.value.message == "Esa atención ya fue atendida o terminó; puedes volver a la fila"
    clock.advance(3600)
    await service.handle(BEA, schema.QueueLeave())
    with pytest.raises(TicketExpired):
        await service.handle(BEA, schema.QueueResume(ticket=bea_ticket))


async def test_redis_restarted_empty_rebuilds_the_lines_in_the_original_order(
    settings: Settings, records: SqliteRecordStore, start_redis: StartRedis
) -> None:
    server = start_redis()
    clock = Clock()
    stores = [RedisLiveStore(server.url, settings.floor_rules) for _ in range(2)]
    for store in stores:
        await store.open()
    try:
        a, b = (node(settings, store, records, clock) for store in stores)
        people = [(ANA, a), (BEA, b), (CAM, a)]
        pages: dict[str, tuple[Page, str, BranchService]] = {}
        for user, service in people:
            page, ticket = await join(service, user, clock)
            pages[user.person_id] = (page, ticket, service)
            clock.advance(10)
        exe = await page_for(b, b.hub, EXE)
        assert exe.last("agent.state")["state"] == "not_ready"
        order = [e.contact_id for e in await a.live.waiting("general")]
        times = [e.joined_at for e in await a.live.waiting("general")]

        server.restart_empty()
        assert await b.live.waiting("general") == []
        for service in (a, b):
            await service.tick()
        for user, _service in people:
            page, _ticket, service = pages[user.person_id]
            assert page.of("queue.reclaim") == [{"type": "queue.reclaim"}]
        assert exe.of("queue.reclaim") == [{"type": "queue.reclaim"}]
        await a.tick()
        assert len(pages[ANA.person_id][0].of("queue.reclaim")) == 1, "asked once per restart"
        assert await b.live.agents() == []
        await b.handle(EXE, schema.AgentNotReady())  # what the executive page answers
        assert await b.live.staffed("general") == 1

        # The pages answer in the reverse order; the line comes back as it was.
        for user, _service in reversed(people):
            _page, ticket, service = pages[user.person_id]
            await service.handle(user, schema.QueueResume(ticket=ticket))
        line = await b.live.waiting("general")
        assert [e.contact_id for e in line] == order
        assert [e.joined_at for e in line] == times
        # Pages hear of positions from their own node (cross-node delivery is not this test's).
        statuses = [await a.live.citizen_status(u.person_id) for u, _s in people]
        assert [status.position for status in statuses] == [1, 2, 3]
        assert pages[ANA.person_id][0].last("queue.position")["position"] == 1

        await b.handle(EXE, schema.AgentAvailable())
        assert exe.last("offer")["citizen"]["run"] == ANA.person_id
    finally:
        for store in stores:
            await store.close()


async def test_a_transferred_contact_comes_back_with_its_first_join_time(
    settings: Settings, records: SqliteRecordStore
) -> None:
    clock = Clock()
    await records.contact_joined(
        "c1", "triage", ANA.person_id, "Ana", "licencias", "texto", clock.now - 300
    )
    folio = await records.contact_joined(
        "c2", "general", ANA.person_id, "Ana", "licencias", "texto", clock.now,
        transferred_from="c1", transfer_note="ver antecedentes",
    )  # fmt: skip
    moved = Waiting(
        "c2", ANA.person_id, "Ana", "general", "licencias", "texto", folio, clock.now - 300,
        transferred_from="c1", transfer_note="ver antecedentes", queued_at=clock.now,
    )  # fmt: skip
    desk = TicketDesk(KEY, 3600)
    token = desk.message(moved, clock.now)["ticket"]
    live = MemoryLiveStore(settings.floor_rules)
    assert await desk.entry_for(token, ANA.person_id, "Ana", records, live, clock.now + 5) == moved
