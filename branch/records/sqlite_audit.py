"""The audit trail and the retention purge in SQLite, on the record store's connection.

Plain functions over an open connection, run in the store's database thread
inside a transaction, so the purge can erase contacts and append its own
audit entry in one transaction with the store's other steps.
"""

from __future__ import annotations

import sqlite3
import uuid
from typing import Any

from branch.audit import GENESIS, PURGE_KIND, AuditEntry, chained_after, new_entry
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
APPEND = (
    f"INSERT INTO audit_log ({AUDIT_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) "
    "ON CONFLICT (event_id) DO NOTHING"
)
# A sealed actor keeps only its role ("citizen:<RUN>" -> "citizen") and loses its salt.
ERASE_ENTRIES = (
    "UPDATE audit_log SET actor = substr(actor, 1, instr(actor, ':') - 1), salt = '' "
    "WHERE salt != '' AND (contact_id IN (SELECT contact_id FROM contacts "
    "WHERE purged_at IS NOT NULL) OR (contact_id IS NULL AND at < ?))"
)


def append(
    db: sqlite3.Connection,
    kind: str,
    actor: str,
    contact_id: str | None,
    event_id: str,
    data: dict[str, Any],
    at: float,
) -> AuditEntry | None:
    """Chain one entry after the last; None when ``event_id`` is there. Inside a transaction."""
    head = db.execute("SELECT seq, hash FROM audit_log ORDER BY seq DESC LIMIT 1").fetchone()
    seq, digest = head or (0, GENESIS)
    entry = chained_after(seq, digest, new_entry(at, kind, actor, contact_id, event_id, data))
    # The event id's unique index answers "already there" in the same statement as the insert.
    inserted = db.execute(APPEND, audit_values(entry)).rowcount
    return entry if inserted else None


def entries(
    db: sqlite3.Connection, contact_id: str | None = None, after: int = 0, limit: int = -1
) -> list[AuditEntry]:
    """Entries in chain order: of one contact, or all, from ``after`` on (limit -1: all)."""
    parameters: list[object]
    where, parameters = "WHERE seq > ?", [after, limit]
    if contact_id is not None:
        where, parameters = "WHERE seq > ? AND contact_id = ?", [after, contact_id, limit]
    rows = db.execute(
        f"SELECT {AUDIT_COLUMNS} FROM audit_log {where} ORDER BY seq LIMIT ?", parameters
    ).fetchall()
    return [audit_entry(row) for row in rows]


def purge(db: sqlite3.Connection, before: float, at: float, actor: str) -> Purge:
    """Erase personal data of contacts closed before ``before``; inside a transaction."""
    closed = sorted(row[0] for row in db.execute(CLOSE_UNENDED, (UNENDED_REASON, before)))
    for contact_id in closed:
        event_id = f"contact.ended:retention:{contact_id}"
        append(db, "contact.ended", "system", contact_id, event_id, UNENDED_DATA, at)
    contacts = db.execute(ERASE_CONTACT, (at, before)).rowcount
    db.execute(
        "DELETE FROM chat_messages WHERE contact_id IN "
        "(SELECT contact_id FROM contacts WHERE purged_at IS NOT NULL)"
    )
    erased = db.execute(ERASE_ENTRIES, (before,)).rowcount
    if not contacts and not erased:
        return Purge(0, 0, None)
    entry = append(
        db,
        PURGE_KIND,
        actor,
        None,
        f"{PURGE_KIND}:{uuid.uuid4().hex}",
        {"before": before, "contacts": contacts, "entries": erased, "closed": len(closed)},
        at,
    )
    return Purge(contacts, erased, entry)
