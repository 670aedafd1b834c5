"""The node's upkeep runs the retention purge; the trail still verifies afterwards."""

from __future__ import annotations

import asyncio
import time

from branch.audit import PURGE_KIND, verify
from branch.records.base import EndReason
from branch.web.app import RECORDS
from tests.conftest import CITIZEN_RUN, StartBranch

DAY = 86400.0


async def test_the_upkeep_purges_contacts_past_the_retention_period(
    start_branch: StartBranch,
) -> None:
    node = await start_branch(retention_days=30, retention_purge_every_seconds=1)
    records = node.app[RECORDS]
    old = time.time() - 31 * DAY
    for contact_id, joined in (("old", old), ("new", time.time() - 60)):
        await records.contact_joined(
            contact_id, "general", CITIZEN_RUN, "Ana Rojas", "otro", "texto", joined
        )
        await records.audit(
            "contact.joined", f"citizen:{CITIZEN_RUN}", contact_id, f"j:{contact_id}", {}, joined
        )
        await records.contact_ended(contact_id, EndReason.CITIZEN_LEFT, joined + 10)
    # Written after the first round at start: the next periodic round purges it.
    for _ in range(100):
        record = await records.get("old")
        if record is not None and record.purged_at is not None:
            break
        await asyncio.sleep(0.1)
    assert record is not None and record.purged_at is not None
    assert (record.citizen_run, record.citizen_name, record.reason_text) == ("", "", "")
    kept = await records.get("new")
    assert kept is not None and kept.citizen_run == CITIZEN_RUN
    entries = await records.audit_entries()
    assert [(entry.kind, entry.actor) for entry in entries] == [
        ("contact.joined", "citizen"),
        ("contact.joined", f"citizen:{CITIZEN_RUN}"),
        (PURGE_KIND, "system"),
    ]
    assert verify(entries) is None
