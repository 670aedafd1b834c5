"""Contact records in SQLite: the embedded default.

WAL with synchronous=FULL: every step is committed to disk before the call
returns, so a node that dies mid-contact keeps every step written so far.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Iterable
from pathlib import Path
from typing import Any

import aiosqlite

from branch.audit import AuditEntry
from branch.core.floor import EndReason
from branch.errors import ConfigError, InvalidState, NotYourContact, UnknownContact
from branch.records import sqlite_audit
from branch.records.base import AgentStateRecord, ChatRecord, ContactRecord, Purge
from branch.records.rows import COLUMNS, folio_day
from branch.records.rows import contact_record as _record

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


class SqliteRecordStore:
    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self._db: aiosqlite.Connection | None = None
        # One connection serves every task: a write must not land inside another
        # task's open transaction (and be rolled back with it), nor BEGIN twice.
        self._writing = asyncio.Lock()

    @contextlib.asynccontextmanager
    async def _transaction(self) -> AsyncIterator[aiosqlite.Connection]:
        async with self._writing:
            await self.db.execute("BEGIN IMMEDIATE")
            try:
                yield self.db
            except BaseException:
                await self.db.execute("ROLLBACK")
                raise
            await self.db.execute("COMMIT")

    async def _write(self, sql: str, parameters: Iterable[object]) -> int:
        """One statement on its own; returns the rows it changed."""
        async with self._writing:
            cursor = await self.db.execute(sql, tuple(parameters))
            changed = cursor.rowcount
            await cursor.close()
        return changed

    @property
    def db(self) -> aiosqlite.Connection:
        if self._db is None:
            raise RuntimeError(f"record store {self.path} is not open")
        return self._db

    async def open(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._db = await aiosqlite.connect(self.path, isolation_level=None)
        for pragma in (
            "PRAGMA journal_mode=WAL",
            "PRAGMA synchronous=FULL",
            "PRAGMA foreign_keys=ON",
            "PRAGMA busy_timeout=5000",
        ):
            await self.db.execute(pragma)
        await self._migrate()

    async def close(self) -> None:
        if self._db is not None:
            await self._db.close()
            self._db = None

    async def _migrate(self) -> None:
        async with self.db.execute("PRAGMA user_version") as cursor:
            row = await cursor.fetchone()
        version = int(row[0]) if row else 0
        if version > len(MIGRATIONS):
            await self.close()
            raise ConfigError(
                f"stores.records: {self.path} has schema version {version}, newer than this "
                f"branch knows ({len(MIGRATIONS)}); upgrade the branch"
            )
        for number, script in enumerate(MIGRATIONS[version:], start=version + 1):
            await self.db.execute("BEGIN IMMEDIATE")
            try:
                for statement in filter(str.strip, script.split(";")):
                    await self.db.execute(statement)
                await self.db.execute(f"PRAGMA user_version = {number}")
                await self.db.execute("COMMIT")
            except BaseException:
                await self.db.execute("ROLLBACK")
                raise

    async def contact_joined(
        self,
        contact_id: str,
        service: str,
        citizen_run: str,
        citizen_name: str,
        reason_code: str,
        reason_text: str,
        joined_at: float,
        *,
        estimated_wait: float | None = None,
        transferred_from: str | None = None,
        transfer_note: str = "",
    ) -> str:
        day = folio_day(joined_at)
        async with self._transaction() as db:
            await db.execute(
                "INSERT INTO folio_days (day, last) VALUES (?, 1) "
                "ON CONFLICT (day) DO UPDATE SET last = last + 1",
                (day,),
            )
            async with db.execute("SELECT last FROM folio_days WHERE day = ?", (day,)) as cursor:
                row = await cursor.fetchone()
            folio = f"{day}-{int(row[0]) if row else 1:06d}"
            await db.execute(
                "INSERT INTO contacts (contact_id, folio, service, citizen_run, citizen_name, "
                "reason_code, reason_text, joined_at, estimated_wait, transferred_from, "
                "transfer_note) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
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

    async def _update(self, contact_id: str, sql: str, parameters: tuple[object, ...]) -> int:
        changed = await self._write(sql, parameters)
        if changed == 0 and await self.get(contact_id) is None:
            raise UnknownContact(f"contact {contact_id[:64]!r} does not exist")
        return changed

    async def contact_offered(
        self, contact_id: str, executive_run: str, executive_name: str, at: float
    ) -> None:
        # A re-offer (the first executive dropped) replaces the earlier one.
        await self._update(
            contact_id,
            "UPDATE contacts SET offered_at = ?, executive_run = ?, executive_name = ? "
            "WHERE contact_id = ?",
            (at, executive_run, executive_name, contact_id),
        )

    async def contact_answered(self, contact_id: str, at: float) -> None:
        await self._update(
            contact_id,
            "UPDATE contacts SET answered_at = ? WHERE contact_id = ? AND answered_at IS NULL",
            (at, contact_id),
        )

    async def contact_ended(self, contact_id: str, end_reason: EndReason, at: float) -> None:
        await self._update(
            contact_id,
            "UPDATE contacts SET ended_at = ?, end_reason = ? WHERE contact_id = ? AND ended_at IS NULL",
            (at, EndReason(end_reason).value, contact_id),
        )

    async def contact_wrapped_up(
        self,
        contact_id: str,
        executive_run: str,
        outcome_code: str,
        confirmed_reason_code: str,
        notes: str,
        at: float,
    ) -> None:
        record = await self.get(contact_id)
        if record is None:
            raise UnknownContact(f"contact {contact_id[:64]!r} does not exist")
        if record.executive_run != executive_run or record.answered_at is None:
            raise NotYourContact("Esta atención no es tuya")
        if record.ended_at is None:
            raise InvalidState("La atención no ha terminado")
        changed = await self._write(
            "UPDATE contacts SET outcome_code = ?, confirmed_reason_code = ?, notes = ?, "
            "wrapped_up_at = ? WHERE contact_id = ? AND wrapped_up_at IS NULL",
            (outcome_code, confirmed_reason_code, notes, at, contact_id),
        )
        if changed == 0:
            raise InvalidState("El cierre de esta atención ya fue registrado")

    async def contact_surveyed(
        self, contact_id: str, citizen_run: str, score: int, comment: str, at: float
    ) -> None:
        record = await self.get(contact_id)
        if record is None:
            raise UnknownContact(f"contact {contact_id[:64]!r} does not exist")
        if record.citizen_run != citizen_run:
            raise NotYourContact("Esta atención no es tuya")
        if record.answered_at is None or record.ended_at is None:
            raise InvalidState("Solo puedes evaluar una atención que terminó")
        changed = await self._write(
            "UPDATE contacts SET survey_score = ?, survey_comment = ?, surveyed_at = ? "
            "WHERE contact_id = ? AND surveyed_at IS NULL",
            (score, comment, at, contact_id),
        )
        if changed == 0:
            raise InvalidState("Ya evaluaste esta atención")

    async def agent_state_changed(
        self,
        agent_run: str,
        agent_name: str,
        state: str,
        pause_reason: str | None,
        contact_id: str | None,
        at: float,
    ) -> None:
        await self._write(
            "INSERT INTO agent_states (agent_run, agent_name, state, pause_reason, contact_id, at) "
            "VALUES (?, ?, ?, ?, ?, ?)",
            (agent_run, agent_name, state, pause_reason, contact_id, at),
        )

    async def agent_states(self, agent_run: str, since: float) -> list[AgentStateRecord]:
        async with self.db.execute(
            "SELECT agent_run, agent_name, state, pause_reason, contact_id, at FROM agent_states "
            "WHERE agent_run = ? AND at >= ? ORDER BY at, id",
            (agent_run, since),
        ) as cursor:
            rows = await cursor.fetchall()
        return [AgentStateRecord(*row) for row in rows]

    async def ping(self) -> None:
        async with self.db.execute("SELECT 1") as cursor:
            await cursor.fetchone()

    async def chat_added(self, contact_id: str, sender: str, text: str, at: float) -> None:
        await self._write(
            "INSERT INTO chat_messages (contact_id, at, sender, text) VALUES (?, ?, ?, ?)",
            (contact_id, at, sender, text),
        )

    async def chat(self, contact_id: str) -> list[ChatRecord]:
        async with self.db.execute(
            "SELECT contact_id, at, sender, text FROM chat_messages WHERE contact_id = ? ORDER BY id",
            (contact_id,),
        ) as cursor:
            rows = await cursor.fetchall()
        return [ChatRecord(*row) for row in rows]

    async def audit(
        self,
        kind: str,
        actor: str,
        contact_id: str | None,
        event_id: str,
        data: dict[str, Any],
        at: float,
    ) -> AuditEntry | None:
        """Append one entry to the chain; None when that event_id is already there."""
        async with self._transaction() as db:
            return await sqlite_audit.append(db, kind, actor, contact_id, event_id, data, at)

    async def audit_entries(
        self, contact_id: str | None = None, *, after: int = 0, limit: int | None = None
    ) -> list[AuditEntry]:
        return await sqlite_audit.entries(
            self.db, contact_id, after, -1 if limit is None else limit
        )

    async def purge(self, before: float, at: float, actor: str = "system") -> Purge:
        async with self._transaction() as db:
            return await sqlite_audit.purge(db, before, at, actor)

    async def get(self, contact_id: str) -> ContactRecord | None:
        async with self.db.execute(
            f"SELECT {COLUMNS} FROM contacts WHERE contact_id = ?", (contact_id,)
        ) as cursor:
            row = await cursor.fetchone()
        return None if row is None else _record(row)

    async def recent(
        self, limit: int = 50, *, citizen_run: str | None = None
    ) -> list[ContactRecord]:
        where, parameters = (
            ("", [limit])
            if citizen_run is None
            else ("WHERE citizen_run = ?", [citizen_run, limit])
        )
        sql = f"SELECT {COLUMNS} FROM contacts {where} ORDER BY joined_at DESC, folio DESC LIMIT ?"
        async with self.db.execute(sql, parameters) as cursor:
            rows = await cursor.fetchall()
        return [_record(row) for row in rows]

    async def joined_between(
        self, start: float, end: float, *, service: str | None = None, executive: str | None = None
    ) -> list[ContactRecord]:
        where = ["joined_at >= ?", "joined_at < ?"]
        parameters: list[object] = [start, end]
        for column, value in (("service", service), ("executive_run", executive)):
            if value is not None:
                where.append(f"{column} = ?")
                parameters.append(value)
        sql = (
            f"SELECT {COLUMNS} FROM contacts WHERE {' AND '.join(where)} ORDER BY joined_at, folio"
        )
        async with self.db.execute(sql, parameters) as cursor:
            rows = await cursor.fetchall()
        return [_record(row) for row in rows]
