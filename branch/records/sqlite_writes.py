"""The SQLite record writes: plain functions run in the store's database thread.

Each runs inside the transaction of the batch it was committed with (see
group_commit), so a write that checks the record first checks and writes in
one transaction, and a whole batch of writes costs one thread hop and one
``fsync``.
"""

from __future__ import annotations

import sqlite3
from typing import Any

from branch.core.floor import EndReason
from branch.errors import InvalidState, NotYourContact, UnknownContact
from branch.records.rows import folio_day

JOIN = (
    "INSERT INTO contacts (contact_id, folio, service, citizen_run, citizen_name, reason_code, "
    "reason_text, joined_at, estimated_wait, transferred_from, transfer_note) "
    "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
)


def _unknown(contact_id: str) -> UnknownContact:
    return UnknownContact(f"contact {contact_id[:64]!r} does not exist")


def contact_joined(
    db: sqlite3.Connection,
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
) -> str:
    day = folio_day(joined_at)
    (last,) = db.execute(
        "INSERT INTO folio_days (day, last) VALUES (?, 1) "
        "ON CONFLICT (day) DO UPDATE SET last = last + 1 RETURNING last",
        (day,),
    ).fetchone()
    folio = f"{day}-{int(last):06d}"
    db.execute(
        JOIN,
        (
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
        ),
    )
    return folio


def update(
    db: sqlite3.Connection, contact_id: str, sql: str, parameters: tuple[object, ...]
) -> None:
    """An update of one contact; nothing changed is fine unless the contact does not exist."""
    if db.execute(sql, parameters).rowcount == 0 and not _exists(db, contact_id):
        raise _unknown(contact_id)


def _exists(db: sqlite3.Connection, contact_id: str) -> bool:
    found = db.execute("SELECT 1 FROM contacts WHERE contact_id = ?", (contact_id,)).fetchone()
    return found is not None


def contact_offered(
    db: sqlite3.Connection, contact_id: str, executive_run: str, executive_name: str, at: float
) -> None:
    # A re-offer (the first executive dropped) replaces the earlier one.
    update(
        db,
        contact_id,
        "UPDATE contacts SET offered_at = ?, executive_run = ?, executive_name = ? "
        "WHERE contact_id = ?",
        (at, executive_run, executive_name, contact_id),
    )


def contact_answered(db: sqlite3.Connection, contact_id: str, at: float) -> None:
    update(
        db,
        contact_id,
        "UPDATE contacts SET answered_at = ? WHERE contact_id = ? AND answered_at IS NULL",
        (at, contact_id),
    )


def contact_ended(
    db: sqlite3.Connection, contact_id: str, end_reason: EndReason, at: float
) -> None:
    update(
        db,
        contact_id,
        "UPDATE contacts SET ended_at = ?, end_reason = ? WHERE contact_id = ? AND ended_at IS NULL",
        (at, EndReason(end_reason).value, contact_id),
    )


def _state(db: sqlite3.Connection, contact_id: str) -> tuple[Any, ...]:
    """Citizen, executive, answered and ended of a contact, to say why a checked write failed."""
    row: tuple[Any, ...] | None = db.execute(
        "SELECT citizen_run, executive_run, answered_at, ended_at "
        "FROM contacts WHERE contact_id = ?",
        (contact_id,),
    ).fetchone()
    if row is None:
        raise _unknown(contact_id)
    return row


def contact_wrapped_up(
    db: sqlite3.Connection,
    contact_id: str,
    executive_run: str,
    outcome_code: str,
    confirmed_reason_code: str,
    notes: str,
    at: float,
) -> None:
    # The usual case in one statement: the conditions are the checks below.
    changed = db.execute(
        "UPDATE contacts SET outcome_code = ?, confirmed_reason_code = ?, notes = ?, "
        "wrapped_up_at = ? WHERE contact_id = ? AND executive_run = ? "
        "AND answered_at IS NOT NULL AND ended_at IS NOT NULL AND wrapped_up_at IS NULL",
        (outcome_code, confirmed_reason_code, notes, at, contact_id, executive_run),
    ).rowcount
    if changed:
        return
    _citizen, executive, answered_at, ended_at = _state(db, contact_id)
    if executive != executive_run or answered_at is None:
        raise NotYourContact("Esta atención no es tuya")
    if ended_at is None:
        raise InvalidState("La atención no ha terminado")
    raise InvalidState("El cierre de esta atención ya fue registrado")


def contact_surveyed(
    db: sqlite3.Connection, contact_id: str, citizen_run: str, score: int, comment: str, at: float
) -> None:
    changed = db.execute(
        "UPDATE contacts SET survey_score = ?, survey_comment = ?, surveyed_at = ? "
        "WHERE contact_id = ? AND citizen_run = ? "
        "AND answered_at IS NOT NULL AND ended_at IS NOT NULL AND surveyed_at IS NULL",
        (score, comment, at, contact_id, citizen_run),
    ).rowcount
    if changed:
        return
    citizen, _executive, answered_at, ended_at = _state(db, contact_id)
    if citizen != citizen_run:
        raise NotYourContact("Esta atención no es tuya")
    if answered_at is None or ended_at is None:
        raise InvalidState("Solo puedes evaluar una atención que terminó")
    raise InvalidState("Ya evaluaste esta atención")


def agent_state_changed(
    db: sqlite3.Connection,
    agent_run: str,
    agent_name: str,
    state: str,
    pause_reason: str | None,
    contact_id: str | None,
    at: float,
) -> None:
    db.execute(
        "INSERT INTO agent_states (agent_run, agent_name, state, pause_reason, contact_id, at) "
        "VALUES (?, ?, ?, ?, ?, ?)",
        (agent_run, agent_name, state, pause_reason, contact_id, at),
    )


def chat_added(db: sqlite3.Connection, contact_id: str, sender: str, text: str, at: float) -> None:
    db.execute(
        "INSERT INTO chat_messages (contact_id, at, sender, text) VALUES (?, ?, ?, ?)",
        (contact_id, at, sender, text),
    )
