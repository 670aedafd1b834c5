"""The PostgreSQL record writes, each run inside the caller's transaction.

Safe with several nodes on one database: the folio counter is an upsert (its
row lock makes two nodes take turns), checked writes lock the contact row,
and an audit append locks the audit table against other appends, so the
chain stays a single line.
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any, TypeAlias

import asyncpg

from branch.audit import PURGE_KIND, AuditEntry, chained, new_entry
from branch.core.floor import EndReason
from branch.errors import InvalidState, NotYourContact, UnknownContact
from branch.records import sqlite_audit
from branch.records.base import Purge
from branch.records.rows import AUDIT_COLUMNS, audit_entry_of, audit_values, folio_day

if TYPE_CHECKING:
    from asyncpg.pool import PoolConnectionProxy

    Connection: TypeAlias = PoolConnectionProxy[asyncpg.Record]
Write = Callable[..., Awaitable[Any]]


AUDIT_PLACES = ", ".join(f"${n}" for n in range(1, len(AUDIT_COLUMNS.split(", ")) + 1))


def offline_folio(contact_id: str, joined_at: float) -> str:
    """A folio given while the database is away: the day and a J mark instead of the counter.

    Derived from the contact id, so it is unique without asking anyone, and it
    never meets a counter folio (those are all digits).
    """
    digest = hashlib.sha256(contact_id.encode("utf-8")).hexdigest()[:10].upper()
    return f"{folio_day(joined_at)}-J{digest}"


def _unknown(contact_id: str) -> UnknownContact:
    return UnknownContact(f"contact {contact_id[:64]!r} does not exist")


async def contact_joined(
    db: Connection,
    contact_id: str,
    service: str,
    citizen_run: str,
    citizen_name: str,
    reason_code: str,
    reason_text: str,
    joined_at: float,
    estimated_wait: float | None,
    transferred_from: str | None,
    transfer_note: str,
    folio: str | None,
) -> str:
    if folio is None:
        day = folio_day(joined_at)
        last = await db.fetchval(
            "INSERT INTO folio_days (day, last) VALUES ($1, 1) "
            "ON CONFLICT (day) DO UPDATE SET last = folio_days.last + 1 RETURNING last",
            day,
        )
        folio = f"{day}-{int(last):06d}"
    await db.execute(
        "INSERT INTO contacts (contact_id, folio, service, citizen_run, citizen_name, "
        "reason_code, reason_text, joined_at, estimated_wait, transferred_from, transfer_note) "
        "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
        contact_id,
        folio,
        service,
        citizen_run,
        citizen_name,
        reason_code,
        reason_text,
        joined_at,
        estimated_wait,
        transferred_from,
        transfer_note or None,
    )
    return folio


async def _update(db: Connection, contact_id: str, sql: str, *parameters: object) -> None:
    status = await db.execute(sql, *parameters)
    if (
        status == "UPDATE 0"
        and await db.fetchval("SELECT 1 FROM contacts WHERE contact_id = $1", contact_id) is None
    ):
        raise _unknown(contact_id)


async def contact_offered(
    db: Connection, contact_id: str, executive_run: str, executive_name: str, at: float
) -> None:
    await _update(
        db,
        contact_id,
        "UPDATE contacts SET offered_at = $1, executive_run = $2, executive_name = $3 "
        "WHERE contact_id = $4",
        at,
        executive_run,
        executive_name,
        contact_id,
    )


async def contact_answered(db: Connection, contact_id: str, at: float) -> None:
    await _update(
        db,
        contact_id,
        "UPDATE contacts SET answered_at = $1 WHERE contact_id = $2 AND answered_at IS NULL",
        at,
        contact_id,
    )


async def contact_ended(db: Connection, contact_id: str, end_reason: str, at: float) -> None:
    await _update(
        db,
        contact_id,
        "UPDATE contacts SET ended_at = $1, end_reason = $2 "
        "WHERE contact_id = $3 AND ended_at IS NULL",
        at,
        EndReason(end_reason).value,
        contact_id,
    )


async def _locked(db: Connection, contact_id: str) -> asyncpg.Record:
    row = await db.fetchrow(
        "SELECT citizen_run, executive_run, answered_at, ended_at, wrapped_up_at, surveyed_at "
        "FROM contacts WHERE contact_id = $1 FOR UPDATE",
        contact_id,
    )
    if row is None:
        raise _unknown(contact_id)
    return row


async def contact_wrapped_up(
    db: Connection,
    contact_id: str,
    executive_run: str,
    outcome_code: str,
    confirmed_reason_code: str,
    notes: str,
    at: float,
) -> None:
    row = await _locked(db, contact_id)
    if row["executive_run"] != executive_run or row["answered_at"] is None:
        raise NotYourContact("Esta atención no es tuya")
    if row["ended_at"] is None:
        raise InvalidState("La atención no ha terminado")
    if row["wrapped_up_at"] is not None:
        raise InvalidState("El cierre de esta atención ya fue registrado")
    await db.execute(
        "UPDATE contacts SET outcome_code = $1, confirmed_reason_code = $2, notes = $3, "
        "wrapped_up_at = $4 WHERE contact_id = $5",
        outcome_code,
        confirmed_reason_code,
        notes,
        at,
        contact_id,
    )


async def contact_surveyed(
    db: Connection, contact_id: str, citizen_run: str, score: int, comment: str, at: float
) -> None:
    row = await _locked(db, contact_id)
    if row["citizen_run"] != citizen_run:
        raise NotYourContact("Esta atención no es tuya")
    if row["answered_at"] is None or row["ended_at"] is None:
        raise InvalidState("Solo puedes evaluar una atención que terminó")
    if row["surveyed_at"] is not None:
        raise InvalidState("Ya evaluaste esta atención")
    await db.execute(
        "UPDATE contacts SET survey_score = $1, survey_comment = $2, surveyed_at = $3 "
        "WHERE contact_id = $4",
        score,
        comment,
        at,
        contact_id,
    )


async def agent_state_changed(
    db: Connection,
    agent_run: str,
    agent_name: str,
    state: str,
    pause_reason: str | None,
    contact_id: str | None,
    at: float,
) -> None:
    await db.execute(
        "INSERT INTO agent_states (agent_run, agent_name, state, pause_reason, contact_id, at) "
        "VALUES ($1, $2, $3, $4, $5, $6)",
        agent_run,
        agent_name,
        state,
        pause_reason,
        contact_id,
        at,
    )


async def chat_added(db: Connection, contact_id: str, sender: str, text: str, at: float) -> None:
    await db.execute(
        "INSERT INTO chat_messages (contact_id, at, sender, text) VALUES ($1, $2, $3, $4)",
        contact_id,
        at,
        sender,
        text,
    )


async def audit(
    db: Connection,
    kind: str,
    actor: str,
    contact_id: str | None,
    event_id: str,
    data: dict[str, Any],
    at: float,
) -> AuditEntry | None:
    await _lock_the_trail(db)
    if await db.fetchval("SELECT 1 FROM audit_log WHERE event_id = $1", event_id) is not None:
        return None
    row = await db.fetchrow(f"SELECT {AUDIT_COLUMNS} FROM audit_log ORDER BY seq DESC LIMIT 1")
    previous = None if row is None else audit_entry_of(row.values())
    entry = chained(previous, new_entry(at, kind, actor, contact_id, event_id, data))
    await db.execute(
        f"INSERT INTO audit_log ({AUDIT_COLUMNS}) VALUES ({AUDIT_PLACES})", *audit_values(entry)
    )
    return entry


async def _lock_the_trail(db: Connection) -> None:
    """Appends from every node take turns; plain reads (verification) are not held up."""
    await db.execute("LOCK TABLE audit_log IN SHARE ROW EXCLUSIVE MODE")


def numbered(sql: str) -> str:
    """SQLite's ``?`` placeholders as PostgreSQL's ``$1``, ``$2``… (none may sit in a literal)."""
    pieces = sql.split("?")
    return pieces[0] + "".join(f"${n}{piece}" for n, piece in enumerate(pieces[1:], start=1))


ERASE_CONTACT = numbered(sqlite_audit.ERASE_CONTACT)
CLOSE_UNENDED = numbered(sqlite_audit.CLOSE_UNENDED)
# A sealed actor keeps only its role ("citizen:<RUN>" -> "citizen") and loses its salt.
ERASE_ENTRIES = (
    "UPDATE audit_log SET actor = split_part(actor, ':', 1), salt = '' "
    "WHERE salt != '' AND (contact_id IN (SELECT contact_id FROM contacts "
    "WHERE purged_at IS NOT NULL) OR (contact_id IS NULL AND at < $1))"
)


def _changed(status: str) -> int:
    """Rows an UPDATE or DELETE changed, from its command tag ("UPDATE 3")."""
    return int(status.rsplit(" ", 1)[-1])


async def purge(db: Connection, before: float, at: float, actor: str) -> Purge:
    # The trail first, as every append does: two nodes purging at once take turns, no deadlock.
    await _lock_the_trail(db)
    rows = await db.fetch(CLOSE_UNENDED, sqlite_audit.UNENDED_REASON, before)
    closed = sorted(row["contact_id"] for row in rows)
    for contact_id in closed:
        event_id = f"contact.ended:retention:{contact_id}"
        await audit(
            db, "contact.ended", "system", contact_id, event_id, sqlite_audit.UNENDED_DATA, at
        )
    contacts = _changed(await db.execute(ERASE_CONTACT, at, before))
    await db.execute(
        "DELETE FROM chat_messages WHERE contact_id IN "
        "(SELECT contact_id FROM contacts WHERE purged_at IS NOT NULL)"
    )
    erased = _changed(await db.execute(ERASE_ENTRIES, before))
    if not contacts and not erased:
        return Purge(0, 0, None)
    data = {"before": before, "contacts": contacts, "entries": erased, "closed": len(closed)}
    entry = await audit(db, PURGE_KIND, actor, None, f"{PURGE_KIND}:{uuid.uuid4().hex}", data, at)
    return Purge(contacts, erased, entry)


WRITES: dict[str, Write] = {
    write.__name__: write
    for write in (
        contact_joined,
        contact_offered,
        contact_answered,
        contact_ended,
        contact_wrapped_up,
        contact_surveyed,
        agent_state_changed,
        chat_added,
        audit,
        purge,
    )
}
# Writes that check the record first: they need the database itself, never the journal.
CHECKED = frozenset({"contact_wrapped_up", "contact_surveyed", "purge"})
