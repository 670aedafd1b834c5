"""A step and its audit entry, written together: both land or neither, on every store."""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from typing import Any

import pytest

from branch.audit import verify
from branch.errors import InvalidState, NotYourContact, UnknownContact
from branch.records.base import EndReason, Entry, RecordStore, event_id
from tests.records.conftest import OpenStore
from tests.records.test_contract import MORNING

CITIZEN = "citizen:44.444.444-4"
EVA = "11.111.111-1"


async def joined(store: RecordStore, contact_id: str, at: float = MORNING) -> str:
    return await store.contact_joined(
        contact_id,
        "general",
        "44.444.444-4",
        "María González",
        "licencias",
        "texto",
        at,
        entry=Entry("contact.joined", CITIZEN, {"service": "general"}),
    )


async def answered(store: RecordStore, contact_id: str, at: float = MORNING) -> None:
    await joined(store, contact_id, at)
    await store.contact_offered(
        contact_id, EVA, "Eva Díaz", at + 60, entry=Entry("contact.offered", "system")
    )
    await store.contact_answered(
        contact_id, at + 65, entry=Entry("contact.answered", f"executive:{EVA}")
    )


async def test_each_step_lands_with_its_entry(open_store: OpenStore) -> None:
    store = await open_store()
    folio = await joined(store, "c1")
    await store.contact_offered(
        "c1", EVA, "Eva Díaz", MORNING + 60, entry=Entry("contact.offered", "system", {"n": 1})
    )
    await store.contact_answered("c1", MORNING + 65, entry=Entry("contact.answered", "system"))
    await store.contact_ended(
        "c1", EndReason.COMPLETED, MORNING + 365, entry=Entry("contact.ended", "system")
    )
    await store.contact_wrapped_up(
        "c1", EVA, "resuelto", "bonos", "", MORNING + 400, entry=Entry("contact.wrapped_up", "s")
    )
    await store.contact_surveyed(
        "c1", "44.444.444-4", 5, "", MORNING + 420, entry=Entry("contact.surveyed", CITIZEN)
    )
    entries = await store.audit_entries("c1")
    assert [(entry.kind, entry.at) for entry in entries] == [
        ("contact.joined", MORNING),
        ("contact.offered", MORNING + 60),
        ("contact.answered", MORNING + 65),
        ("contact.ended", MORNING + 365),
        ("contact.wrapped_up", MORNING + 400),
        ("contact.surveyed", MORNING + 420),
    ]
    assert [entry.event_id for entry in entries] == [
        event_id(entry.kind, "c1", entry.actor, entry.at) for entry in entries
    ]
    # The join's entry is told the folio the join was given; the others keep their data.
    assert entries[0].data == {"service": "general", "folio": folio}
    assert entries[1].data == {"n": 1}
    assert entries[0].actor == CITIZEN and entries[1].actor == "system"
    record = await store.get("c1")
    assert record is not None and record.survey_score == 5
    assert verify(await store.audit_entries()) is None


@pytest.mark.parametrize("step", ["offered", "answered", "ended", "wrapped"])
async def test_a_refused_step_raises_and_leaves_no_entry(open_store: OpenStore, step: str) -> None:
    store = await open_store()
    entry = Entry(f"contact.{step}", "system")
    with pytest.raises(UnknownContact, match="contact 'ghost' does not exist"):
        if step == "offered":
            await store.contact_offered("ghost", EVA, "Eva", MORNING, entry=entry)
        elif step == "answered":
            await store.contact_answered("ghost", MORNING, entry=entry)
        elif step == "ended":
            await store.contact_ended("ghost", EndReason.COMPLETED, MORNING, entry=entry)
        else:
            await store.contact_wrapped_up("ghost", EVA, "x", "y", "", MORNING, entry=entry)
    assert await store.audit_entries() == []


async def test_a_refused_wrap_up_leaves_no_entry_beside_accepted_ones(
    open_store: OpenStore,
) -> None:
    """Refused and accepted steps committed together: only the accepted ones' entries."""
    store = await open_store()
    await answered(store, "c1")
    await answered(store, "c2", MORNING + 1)
    before = await store.audit_entries()
    wrap = Entry("contact.wrapped_up", "system")
    outcomes = await asyncio.gather(
        store.contact_ended("c1", EndReason.COMPLETED, MORNING + 300, entry=Entry("e1", "s")),
        store.contact_wrapped_up("c2", EVA, "x", "y", "", MORNING + 301, entry=wrap),
        store.contact_wrapped_up("c1", "22.222.222-2", "x", "y", "", MORNING + 302, entry=wrap),
        store.contact_ended("c2", EndReason.COMPLETED, MORNING + 303, entry=Entry("e2", "s")),
        return_exceptions=True,
    )
    assert outcomes[0] is None and outcomes[3] is None
    # c2 was not ended yet when its wrap-up came; c1 is not the other executive's.
    assert isinstance(outcomes[1], InvalidState)
    assert isinstance(outcomes[2], (InvalidState, NotYourContact))
    added = (await store.audit_entries())[len(before) :]
    assert [(entry.kind, entry.contact_id) for entry in added] == [("e1", "c1"), ("e2", "c2")]
    assert verify(await store.audit_entries()) is None


async def test_a_step_that_changes_nothing_still_writes_its_entry(open_store: OpenStore) -> None:
    store = await open_store()
    await joined(store, "c1")
    await store.contact_ended("c1", EndReason.CITIZEN_LEFT, MORNING + 5, entry=Entry("end", "a"))
    await store.contact_ended("c1", EndReason.CITIZEN_DROPPED, MORNING + 9, entry=Entry("end", "b"))
    record = await store.get("c1")
    assert record is not None and record.end_reason is EndReason.CITIZEN_LEFT
    ends = [entry for entry in await store.audit_entries("c1") if entry.kind == "end"]
    assert [(entry.actor, entry.at) for entry in ends] == [("a", MORNING + 5), ("b", MORNING + 9)]


async def test_a_step_retried_with_its_entry_lands_its_entry_once(open_store: OpenStore) -> None:
    store = await open_store()
    await joined(store, "c1")
    offer = Entry("contact.offered", "system", {"executive": EVA})
    for _ in range(2):
        await store.contact_offered("c1", EVA, "Eva Díaz", MORNING + 60, entry=offer)
    offers = [e for e in await store.audit_entries("c1") if e.kind == "contact.offered"]
    assert len(offers) == 1
    assert verify(await store.audit_entries()) is None


async def test_entries_of_steps_at_once_chain_in_the_order_the_steps_were_made(
    open_store: OpenStore,
) -> None:
    """Steps with entries and plain audit entries, many at once: one chain, in call order."""
    store = await open_store()
    contacts = [f"c{index}" for index in range(12)]
    await asyncio.gather(
        *(joined(store, contact, MORNING + i) for i, contact in enumerate(contacts))
    )
    calls: list[Coroutine[Any, Any, object]] = []
    for index, contact in enumerate(contacts):
        at = MORNING + 100 + index
        calls.append(
            store.contact_offered(contact, EVA, "Eva", at, entry=Entry("contact.offered", "s"))
        )
        calls.append(store.audit("plain", "system", None, f"plain:{index}", {}, at))
    await asyncio.gather(*calls)
    entries = await store.audit_entries()
    assert [entry.kind for entry in entries[:12]] == ["contact.joined"] * 12
    assert [entry.contact_id for entry in entries[:12]] == contacts
    assert [(entry.kind, entry.contact_id or entry.event_id) for entry in entries[12:]] == [
        pair
        for index, contact in enumerate(contacts)
        for pair in (("contact.offered", contact), ("plain", f"plain:{index}"))
    ]
    assert verify(entries) is None


async def test_a_new_store_on_the_same_database_finds_both(open_store: OpenStore) -> None:
    first = await open_store()
    folio = await joined(first, "c1")
    await first.close()
    again = await open_store()
    record = await again.get("c1")
    [entry] = await again.audit_entries("c1")
    assert record is not None and record.folio == folio == entry.data["folio"]


async def test_two_nodes_stepping_at_once_keep_one_chain(open_store: OpenStore) -> None:
    """Batches of steps with entries from two stores on one database, interleaved."""
    first, second = await open_store(), await open_store()
    contacts = {
        store: [f"{name}{index}" for index in range(15)]
        for store, name in ((first, "a"), (second, "b"))
    }

    async def steps(store: RecordStore) -> None:
        mine = contacts[store]
        await asyncio.gather(*(joined(store, contact) for contact in mine))
        for round_ in range(3):
            at = MORNING + 60 + round_
            await asyncio.gather(
                *(
                    store.contact_offered(contact, EVA, "Eva", at, entry=Entry("offer", "s"))
                    for contact in mine
                )
            )

    await asyncio.gather(steps(first), steps(second))
    entries = await first.audit_entries()
    assert verify(entries) is None
    assert len(entries) == 2 * 15 * 4
    assert {entry.contact_id for entry in entries} == set(contacts[first] + contacts[second])
