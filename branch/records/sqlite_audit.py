"""The audit trail and the retention purge in SQLite, on the record store's connection.

Functions over an open connection, so the purge can erase contacts and
append its own audit entry in one transaction with the store's other steps.
"""

from __future__ import annotations

import uuid
from typing import Any

import aiosqlite

from branch.audit import PURGE_KIND, AuditEntry, chained, new_entry
from branch.records.base import Purge
from branch.records.rows import AUDIT_COLUMNS, audit_values
from branch.records.rows import audit_entry_of as audit_entry

# What a purge erases from a contact; every code, time, score and id stays.
ERASE_CONTACT = (
    "UPDATE contacts SET citizen_run = '', citizen_name = '', reason_text = '', "
    "notes = CASE WHEN notes IS NULL THEN NULL ELSE '' END, "
    "survey_comment = CASE WHEN survey_comment IS NULL THEN NULL ELSE '' END, "
    "transfer_note = CASE WHEN transfer_note IS NULL THEN NULL ELSE '' END, "
    "purged_at = ? WHERE ended_at IS NOT NULL AND ended_at < ? AND purged_at IS NULL"
)
# A contact never closed (live state lost mid-contact, a ticket never resumed) would keep
# its personal data forever: once its last known moment is past the period, the purge
# closes it as dropped at that moment, in the trail, and erases it with the others.
LAST_KNOWN = "COALESCE(answered_at, offered_at, joined_at)"
CLOSE_UNENDED = (
    f"UPDATE contacts SET ended_at = {LAST_KNOWN}, end_reason = ? "
    f"WHERE ended_at IS NULL AND purged_at IS NULL AND {LAST_KNOWN} < ? RETURNING contact_id"
)
UNENDED_REASON = "citizen_dropped"
UNENDED_DATA = {"reason": UNENDED_REASON, "by": "retention"}
# A sealed actor keeps only its role ("citizen:<RUN>" -> "citizen") and loses its salt.
ERASE_ENTRIES = (
    "UPDATE audit_log SET actor = substr(actor, 1, instr(actor, ':') - 1), salt = '' "
    "WHERE salt != '' AND (contact_id IN (SELECT contact_id FROM contacts "
    "WHERE purged_at IS NOT NULL) OR (contact_id IS NULL AND at < ?))"
)


async def append(
    db: aiosqlite.Connection,
    kind: str,
    actor: str,
    contact_id: str | None,
    event_id: str,
    data: dict[str, Any],
    at: float,
) -> AuditEntry | None:
    """Chain one entry after the last; None when ``event_id`` is there. Inside a transaction."""
    async with db.execute("SELECT 1 FROM audit_log WHERE event_id = ?", (event_id,)) as cursor:
        if await cursor.fetchone() is not None:
            return None
    async with db.execute(
        f"SELECT {AUDIT_COLUMNS} FROM audit_log ORDER BY seq DESC LIMIT 1"
    ) as cursor:
        row = await cursor.fetchone()
    previous = audit_entry(row) if row else None
    entry = chained(previous, new_entry(at, kind, actor, contact_id, event_id, data))
    await db.execute(
        f"INSERT INTO audit_log ({AUDIT_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        audit_values(entry),
    )
    return entry


async def entries(
    db: aiosqlite.Connection, contact_id: str | None = None, after: int = 0, limit: int = -1
) -> list[AuditEntry]:
    """Entries in chain order: of one contact, or all, from ``after`` on (limit -1: all)."""
    parameters: list[object]
    where, parameters = "WHERE seq > ?", [after, limit]
    if contact_id is not None:
        where, parameters = "WHERE seq > ? AND contact_id = ?", [after, contact_id, limit]
    async with db.execute(
        f"SELECT {AUDIT_COLUMNS} FROM audit_log {where} ORDER BY seq LIMIT ?", parameters
    ) as cursor:
        rows = await cursor.fetchall()
    return [audit_entry(row) for row in rows]


async def purge(db: aiosqlite.Connection, before: float, at: float, actor: str) -> Purge:
    """Erase personal data of contacts closed before ``before``; inside a transaction."""
    async with db.execute(CLOSE_UNENDED, (UNENDED_REASON, before)) as cursor:
        closed = sorted(row[0] for row in await cursor.fetchall())
    for contact_id in closed:
        event_id = f"contact.ended:retention:{contact_id}"
        await append(db, "contact.ended", "system", contact_id, event_id, UNENDED_DATA, at)
    cursor = await db.execute(ERASE_CONTACT, (at, before))
    contacts = cursor.rowcount
    await cursor.close()
    await db.execute(
        "DELETE FROM chat_messages WHERE contact_id IN "
        "(SELECT contact_id FROM contacts WHERE purged_at IS NOT NULL)"
    )
    cursor = await db.execute(ERASE_ENTRIES, (before,))
    erased = cursor.rowcount
    await cursor.close()
    if not contacts and not erased:
        return Purge(0, 0, None)
    entry = await append(
        db,
        PURGE_KIND,
        actor,
        None,
        f"{PURGE_KIND}:{uuid.uuid4().hex}",
        {"before": before, "contacts": contacts, "entries": erased, "closed": len(closed)},
        at,
    )
    return Purge(contacts, erased, entry)
