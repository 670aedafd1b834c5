"""Retention purge contract: personal data goes, figures and a verifiable trail stay."""

from __future__ import annotations

import asyncio
import dataclasses

from branch.audit import PURGE_KIND, verify
from branch.records.base import ContactRecord, EndReason, RecordStore
from tests.records.conftest import OpenStore
from tests.records.test_contract import MORNING, join

DAY = 86400.0
CITIZEN = "citizen:44.444.444-4"
EXECUTIVE = "executive:11.111.111-1"
# The personal fields a purge erases, and what each becomes.
ERASED = {
    "citizen_run": "",
    "citizen_name": "",
    "reason_text": "",
    "notes": "",
    "survey_comment": "",
}


async def served(store: RecordStore, contact_id: str, at: float) -> None:
    """A whole contact: joined, answered, ended, wrapped up, surveyed, chatted; in the trail."""
    await join(store, contact_id, at)
    await store.audit("contact.joined", CITIZEN, contact_id, f"j:{contact_id}", {}, at)
    await store.contact_offered(contact_id, "11.111.111-1", "Eva Díaz", at + 60)
    await store.contact_answered(contact_id, at + 65)
    await store.audit("contact.answered", EXECUTIVE, contact_id, f"a:{contact_id}", {}, at + 65)
    await store.chat_added(contact_id, "citizen", "mi RUN es 44.444.444-4", at + 70)
    await store.contact_ended(contact_id, EndReason.COMPLETED, at + 300)
    await store.contact_wrapped_up(
        contact_id, "11.111.111-1", "resuelto", "bonos", "vive en Maipú", at + 320
    )
    await store.contact_surveyed(contact_id, "44.444.444-4", 4, "muy amable", at + 330)
    await store.audit("contact.surveyed", CITIZEN, contact_id, f"s:{contact_id}", {}, at + 330)


def anonymous(record: ContactRecord | None) -> dict[str, object]:
    assert record is not None
    fields = dataclasses.asdict(record)
    for name in (*ERASED, "purged_at"):
        fields.pop(name)
    return fields


async def test_purge_erases_personal_data_of_closed_contacts_only(open_store: OpenStore) -> None:
    store = await open_store()
    await served(store, "old", MORNING)
    await served(store, "recent", MORNING + 20 * DAY)
    await join(store, "waiting", MORNING + 30 * DAY)  # not closed yet: kept whole
    before = {cid: await store.get(cid) for cid in ("old", "recent", "waiting")}
    now = MORNING + 40 * DAY

    result = await store.purge(MORNING + 10 * DAY, now, "system")

    assert (result.contacts, result.entries) == (1, 2)
    old = await store.get("old")
    assert old is not None and old.purged_at == now
    assert {name: getattr(old, name) for name in ERASED} == ERASED
    assert anonymous(old) == anonymous(before["old"])
    assert (old.survey_score, old.outcome_code, old.executive_name) == (4, "resuelto", "Eva Díaz")
    assert await store.chat("old") == []
    assert await store.get("recent") == before["recent"]
    assert await store.get("waiting") == before["waiting"]
    assert [line.text for line in await store.chat("recent")] == ["mi RUN es 44.444.444-4"]
    assert await store.recent(citizen_run="44.444.444-4") == [before["waiting"], before["recent"]]


async def test_the_trail_keeps_verifying_without_the_person(open_store: OpenStore) -> None:
    store = await open_store()
    await served(store, "old", MORNING)
    await served(store, "recent", MORNING + 20 * DAY)
    await store.audit("login", CITIZEN, None, "login:s1", {}, MORNING - 1)
    await store.audit("login", CITIZEN, None, "login:s2", {}, MORNING + 20 * DAY)
    await store.audit("login", EXECUTIVE, None, "login:s3", {}, MORNING - 1)
    sealed = {entry.event_id: entry for entry in await store.audit_entries()}

    result = await store.purge(MORNING + 10 * DAY, MORNING + 40 * DAY, "system")

    entries = await store.audit_entries()
    assert verify(entries) is None
    by_id = {entry.event_id: entry for entry in entries}
    for event_id in ("j:old", "s:old", "login:s1"):
        assert (by_id[event_id].actor, by_id[event_id].salt) == ("citizen", "")
        assert by_id[event_id].erased and by_id[event_id].hash == sealed[event_id].hash
    for event_id in ("j:recent", "s:recent", "login:s2"):
        assert by_id[event_id] == sealed[event_id]
    # Staff identities stay: who served whom is what the trail is for.
    assert by_id["a:old"].actor == EXECUTIVE and by_id["login:s3"].actor == EXECUTIVE
    assert result.entry is not None and entries[-1] == result.entry
    assert (result.entry.kind, result.entry.actor, result.entry.data) == (
        PURGE_KIND,
        "system",
        {"before": MORNING + 10 * DAY, "contacts": 1, "entries": 3, "closed": 0},
    )
    assert not any("44.444.444-4" in entry.actor for entry in entries[:3])


async def test_nothing_to_erase_writes_nothing(open_store: OpenStore) -> None:
    store = await open_store()
    await served(store, "old", MORNING)
    first = await store.purge(MORNING + DAY, MORNING + 40 * DAY, "system")
    count = len(await store.audit_entries())
    again = await store.purge(MORNING + DAY, MORNING + 41 * DAY, "system")
    assert first.entry is not None
    assert (again.contacts, again.entries, again.entry) == (0, 0, None)
    assert len(await store.audit_entries()) == count
    # A later contact of the same person is purged by a later purge, and still verifies.
    await served(store, "later", MORNING + 2 * DAY)
    later = await store.purge(MORNING + 3 * DAY, MORNING + 42 * DAY, "cli")
    assert (later.contacts, later.entries) == (1, 2)
    assert verify(await store.audit_entries()) is None


async def test_audit_entries_page_from_a_sequence(open_store: OpenStore) -> None:
    store = await open_store()
    for index in range(5):
        await store.audit("test.event", "system", None, f"e{index}", {}, MORNING + index)
    page = await store.audit_entries(after=2, limit=2)
    assert [entry.seq for entry in page] == [3, 4]
    assert [entry.seq for entry in await store.audit_entries(after=4)] == [5]


async def test_a_purge_amid_concurrent_writes_keeps_every_one(open_store: OpenStore) -> None:
    store = await open_store()
    await served(store, "old", MORNING)
    writes = [
        store.audit("test.event", CITIZEN, None, f"e{index}", {}, MORNING + 50 * DAY + index)
        for index in range(20)
    ]
    joins = [join(store, f"c{index}", MORNING + 50 * DAY) for index in range(5)]
    await asyncio.gather(*writes, *joins, store.purge(MORNING + DAY, MORNING + 40 * DAY, "system"))
    entries = await store.audit_entries()
    assert len(entries) == 3 + 20 + 1 and verify(entries) is None
    assert len(await store.recent(citizen_run="44.444.444-4")) == 5


async def test_two_purges_at_the_same_moment_each_leave_their_entry(open_store: OpenStore) -> None:
    store = await open_store()
    await served(store, "old", MORNING)
    await served(store, "later", MORNING + 2 * DAY)
    now = MORNING + 40 * DAY
    first = await store.purge(MORNING + DAY, now, "system")
    second = await store.purge(MORNING + 3 * DAY, now, "cli")
    assert (first.contacts, second.contacts) == (1, 1)
    assert first.entry is not None and second.entry is not None
    assert first.entry.event_id != second.entry.event_id
    assert verify(await store.audit_entries()) is None


async def test_a_contact_never_closed_is_closed_as_dropped_then_erased(
    open_store: OpenStore,
) -> None:
    store = await open_store()
    # Live state lost mid-call long ago: answered, never ended.
    await join(store, "lost", MORNING)
    await store.audit("contact.joined", CITIZEN, "lost", "j:lost", {}, MORNING)
    await store.contact_offered("lost", "11.111.111-1", "Eva Díaz", MORNING + 60)
    await store.contact_answered("lost", MORNING + 65)
    await store.chat_added("lost", "citizen", "mi RUN es 44.444.444-4", MORNING + 70)
    await join(store, "today", MORNING + 39 * DAY)  # still waiting, within the period: kept
    now = MORNING + 40 * DAY

    result = await store.purge(MORNING + 10 * DAY, now, "system")

    assert (result.contacts, result.entries) == (1, 1)
    lost = await store.get("lost")
    assert lost is not None
    assert (lost.ended_at, lost.end_reason, lost.purged_at) == (
        MORNING + 65,  # the last moment known of it
        EndReason.CITIZEN_DROPPED,
        now,
    )
    assert {name: getattr(lost, name) for name in ERASED if name != "notes"} == {
        "citizen_run": "",
        "citizen_name": "",
        "reason_text": "",
        "survey_comment": None,
    }
    assert await store.chat("lost") == []
    today = await store.get("today")
    assert today is not None and (today.ended_at, today.purged_at) == (None, None)
    story = await store.audit_entries("lost")
    assert [(entry.kind, entry.actor, entry.data) for entry in story[1:]] == [
        ("contact.ended", "system", {"reason": "citizen_dropped", "by": "retention"}),
    ]
    assert result.entry is not None and result.entry.data["closed"] == 1
    assert verify(await store.audit_entries()) is None
