"""The SQLite schema: the ordered migration steps (which PostgreSQL reads too) and applying them."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from branch.errors import ConfigError

# Ordered schema steps; PRAGMA user_version counts how many were applied.
MIGRATIONS: tuple[str, ...] = (
    """
    CREATE TABLE contacts (
        contact_id TEXT PRIMARY KEY,
        folio TEXT NOT NULL UNIQUE,
        service TEXT NOT NULL,
        citizen_run TEXT NOT NULL,
        citizen_name TEXT NOT NULL,
        reason_code TEXT NOT NULL,
        reason_text TEXT NOT NULL DEFAULT '',
        joined_at REAL NOT NULL,
        offered_at REAL,
        answered_at REAL,
        ended_at REAL,
        wrapped_up_at REAL,
        executive_run TEXT,
        executive_name TEXT,
        end_reason TEXT,
        outcome_code TEXT,
        confirmed_reason_code TEXT,
        notes TEXT
    );
    CREATE INDEX contacts_joined_at ON contacts (joined_at);
    CREATE INDEX contacts_citizen_run ON contacts (citizen_run, joined_at);
    CREATE TABLE folio_days (
        day TEXT PRIMARY KEY,
        last INTEGER NOT NULL
    );
    """,
    """
    CREATE TABLE agent_states (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        agent_run TEXT NOT NULL,
        agent_name TEXT NOT NULL,
        state TEXT NOT NULL,
        pause_reason TEXT,
        contact_id TEXT,
        at REAL NOT NULL
    );
    CREATE INDEX agent_states_agent_at ON agent_states (agent_run, at);
    """,
    """
    ALTER TABLE contacts ADD COLUMN survey_score INTEGER;
    ALTER TABLE contacts ADD COLUMN survey_comment TEXT;
    ALTER TABLE contacts ADD COLUMN surveyed_at REAL
    """,
    """
    ALTER TABLE contacts ADD COLUMN estimated_wait REAL;
    ALTER TABLE contacts ADD COLUMN transferred_from TEXT REFERENCES contacts (contact_id);
    ALTER TABLE contacts ADD COLUMN transfer_note TEXT;
    """,
    """
    CREATE TABLE chat_messages (
        id INTEGER PRIMARY KEY,
        contact_id TEXT NOT NULL REFERENCES contacts (contact_id),
        at REAL NOT NULL,
        sender TEXT NOT NULL,
        text TEXT NOT NULL
    );
    CREATE INDEX chat_messages_contact ON chat_messages (contact_id, id);
    """,
    """
    CREATE TABLE audit_log (
        seq INTEGER PRIMARY KEY,
        at REAL NOT NULL,
        kind TEXT NOT NULL,
        actor TEXT NOT NULL,
        contact_id TEXT,
        event_id TEXT NOT NULL UNIQUE,
        data TEXT NOT NULL,
        prev_hash TEXT NOT NULL,
        hash TEXT NOT NULL
    );
    CREATE INDEX audit_log_contact ON audit_log (contact_id, seq);
    """,
    """
    ALTER TABLE audit_log ADD COLUMN salt TEXT NOT NULL DEFAULT '';
    ALTER TABLE audit_log ADD COLUMN seal TEXT NOT NULL DEFAULT '';
    ALTER TABLE contacts ADD COLUMN purged_at REAL;
    CREATE INDEX contacts_ended_at ON contacts (ended_at)
    """,
)


def migrate(db: sqlite3.Connection, path: Path) -> None:
    (version,) = db.execute("PRAGMA user_version").fetchone()
    if version > len(MIGRATIONS):
        raise ConfigError(
            f"stores.records: {path} has schema version {version}, newer than this "
            f"branch knows ({len(MIGRATIONS)}); upgrade the branch"
        )
    for number, script in enumerate(MIGRATIONS[version:], start=version + 1):
        db.execute("BEGIN IMMEDIATE")
        try:
            for statement in filter(str.strip, script.split(";")):
                db.execute(statement)
            db.execute(f"PRAGMA user_version = {number}")
            db.execute("COMMIT")
        except BaseException:
            db.execute("ROLLBACK")
            raise
