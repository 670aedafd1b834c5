"""The PostgreSQL record writes, run in batches: one transaction per batch.

Safe with several nodes on one database: the folio counter is an upsert (its
row lock makes two nodes take turns), checked writes lock the contact row,
and a batch with audit entries locks the audit table against other appends
(see pg_trail), so the chain stays a single line. Most writes are one
statement; a write refused for what it is (BranchError) changes nothing and
is answered with its error while the rest of its batch commits.
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any, TypeAlias

import asyncpg

from branch.audit import PURGE_KIND
from branch.core.floor import EndReason
from branch.errors import InvalidState, NotYourContact, UnknownContact
from branch.records import sqlite_audit
from branch.records.base import Purge
from branch.records.pg_trail import Trail
from branch.records.rows import folio_day

if TYPE_CHECKING:
    from asyncpg.pool import PoolConnectionProxy

    Connection: TypeAlias = PoolConnectionProxy[asyncpg.Record]
Write = Callable[..., Awaitable[Any]]


def offline_folio(contact_id: str, joined_at: float) -> str:
    """A folio given while the database is away: the day and a J mark instead of the counter.

    Derived from the contact id, so it is unique without asking anyone, and it
    never meets a counter folio (those are all digits).
    """
    digest = hashlib.sha256(contact_id.encode("utf-8")).hexdigest()[:10].upper()
    return f"{folio_day(joined_at)}-J{digest}"


JOIN_COLUMNS = (
    "contact_id, service, citizen_run, citizen_name, reason_code, reason_text, joined_at, "
    "estimated_wait, transferred_from, transfer_note, folio"
)
JOIN_WITH_FOLIO = (
    f"INSERT INTO contacts ({JOIN_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)"
)
# The day's counter and the contact in one statement (one round trip per join).
JOIN_COUNTED = (
    "WITH counter AS (INSERT INTO folio_days (day, last) VALUES ($11, 1) "
    "ON CONFLICT (day) DO UPDATE SET last = folio_days.last + 1 RETURNING last) "
    f"INSERT INTO contacts ({JOIN_COLUMNS}) "
    "SELECT $1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11 || '-' || lpad(last::text, 6, '0') "
    "FROM counter RETURNING folio"
)


def unknown(contact_id: str) -> UnknownContact:
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
    parameters = (
        contact_id,
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
    if folio is not None:
        await db.execute(JOIN_WITH_FOLIO, *parameters, folio)
        return folio
    counted: str = await db.fetchval(JOIN_COUNTED, *parameters, folio_day(joined_at))
    return counted


async def _update(db: Connection, contact_id: str, sql: str, *parameters: object) -> None:
    status = await db.execute(sql, *parameters)
    if (
        status == "UPDATE 0"
        and await db.fetchval("SELECT 1 FROM contacts WHERE contact_id = $1", contact_id) is None
    ):
        raise unknown(contact_id)


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


async def _state(db: Connection, contact_id: str) -> asyncpg.Record:
    """A contact's state, to say why a checked write was refused."""
    row = await db.fetchrow(
        "SELECT citizen_run, executive_run, answered_at, ended_at "
        "FROM contacts WHERE contact_id = $1",
        contact_id,
    )
    if row is None:
        raise unknown(contact_id)
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
    # The usual case in one statement whose conditions are the checks below; the
    # update locks the row, so two nodes wrapping up the same contact take turns.
    status = await db.execute(
        "UPDATE contacts SET outcome_code = $1, confirmed_reason_code = $2, notes = $3, "
        "wrapped_up_at = $4 WHERE contact_id = $5 AND executive_run = $6 "
        "AND answered_at IS NOT NULL AND ended_at IS NOT NULL AND wrapped_up_at IS NULL",
        outcome_code,
        confirmed_reason_code,
        notes,
        at,
        contact_id,
        executive_run,
    )
    if status != "UPDATE 0":
        return
    row = await _state(db, contact_id)
    if row["executive_run"] != executive_run or row["answered_at"] is None:
        raise NotYourContact("Esta atención no es tuya")
    if row["ended_at"] is None:
        raise InvalidState("La atención no ha terminado")
    raise InvalidState("El cierre de esta atención ya fue registrado")


async def contact_surveyed(
    db: Connection, contact_id: str, citizen_run: str, score: int, comment: str, at: float
) -> None:
    status = await db.execute(
        "UPDATE contacts SET survey_score = $1, survey_comment = $2, surveyed_at = $3 "
        "WHERE contact_id = $4 AND citizen_run = $5 "
        "AND answered_at IS NOT NULL AND ended_at IS NOT NULL AND surveyed_at IS NULL",
        score,
        comment,
        at,
        contact_id,
        citizen_run,
    )
    if status != "UPDATE 0":
        return
    row = await _state(db, contact_id)
    if row["citizen_run"] != citizen_run:
        raise NotYourContact("Esta atención no es tuya")
    if row["answered_at"] is None or row["ended_at"] is None:
        raise InvalidState("Solo puedes evaluar una atención que terminó")
    raise InvalidState("Ya evaluaste esta atención")


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


async def purge(trail: Trail, before: float, at: float, actor: str) -> Purge:
    db = trail.db
    await trail.flush()  # the batch's entries so far, so the purge sees the whole trail
    rows = await db.fetch(CLOSE_UNENDED, sqlite_audit.UNENDED_REASON, before)
    closed = sorted(row["contact_id"] for row in rows)
    for contact_id in closed:
        event_id = f"contact.ended:retention:{contact_id}"
        await trail.append(
            "contact.ended", "system", contact_id, event_id, sqlite_audit.UNENDED_DATA, at
        )
    await trail.flush()
    contacts = _changed(await db.execute(ERASE_CONTACT, at, before))
    await db.execute(
        "DELETE FROM chat_messages WHERE contact_id IN "
        "(SELECT contact_id FROM contacts WHERE purged_at IS NOT NULL)"
    )
    erased = _changed(await db.execute(ERASE_ENTRIES, before))
    if not contacts and not erased:
        return Purge(0, 0, None)
    data = {"before": before, "contacts": contacts, "entries": erased, "closed": len(closed)}
    entry = await trail.append(
        PURGE_KIND, actor, None, f"{PURGE_KIND}:{uuid.uuid4().hex}", data, at
    )
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
    )
}
# Writes on the audit trail: they take the batch's trail instead of the connection.
TRAILED: dict[str, Write] = {"audit": Trail.append, "purge": purge}
# Writes that check the record first: they need the database itself, never the journal.
CHECKED = frozenset({"contact_wrapped_up", "contact_surveyed", "purge"})
