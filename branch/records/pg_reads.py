"""Reads of the PostgreSQL record store: contacts, agent states, chat and the audit trail.

Each reads on a connection from ``_reading``, which refuses while the database
is behind the node's journal.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from contextlib import AbstractAsyncContextManager
from typing import TYPE_CHECKING

from branch.audit import AuditEntry
from branch.records.base import AgentStateRecord, ChatRecord, ContactRecord
from branch.records.rows import AUDIT_COLUMNS, COLUMNS, audit_entry_of, contact_record

if TYPE_CHECKING:
    from branch.records.pg_writes import Connection


class PostgresReads(ABC):
    @abstractmethod
    def _reading(self) -> AbstractAsyncContextManager[Connection]:
        """Where each read below gets its connection (the store decides when it refuses)."""

    async def agent_states(self, agent_run: str, since: float) -> list[AgentStateRecord]:
        async with self._reading() as db:
            rows = await db.fetch(
                "SELECT agent_run, agent_name, state, pause_reason, contact_id, at "
                "FROM agent_states WHERE agent_run = $1 AND at >= $2 ORDER BY at, id",
                agent_run,
                since,
            )
        return [AgentStateRecord(*row.values()) for row in rows]

    async def chat(self, contact_id: str) -> list[ChatRecord]:
        async with self._reading() as db:
            rows = await db.fetch(
                "SELECT contact_id, at, sender, text FROM chat_messages "
                "WHERE contact_id = $1 ORDER BY id",
                contact_id,
            )
        return [ChatRecord(*row.values()) for row in rows]

    async def audit_entries(
        self, contact_id: str | None = None, *, after: int = 0, limit: int | None = None
    ) -> list[AuditEntry]:
        parameters: list[object] = [limit, after]  # LIMIT NULL: every entry
        where = "WHERE seq > $2"
        if contact_id is not None:
            where, parameters = "WHERE seq > $2 AND contact_id = $3", [limit, after, contact_id]
        async with self._reading() as db:
            rows = await db.fetch(
                f"SELECT {AUDIT_COLUMNS} FROM audit_log {where} ORDER BY seq LIMIT $1", *parameters
            )
        return [audit_entry_of(row.values()) for row in rows]

    async def get(self, contact_id: str) -> ContactRecord | None:
        async with self._reading() as db:
            row = await db.fetchrow(
                f"SELECT {COLUMNS} FROM contacts WHERE contact_id = $1", contact_id
            )
        return None if row is None else contact_record(row.values())

    async def recent(
        self, limit: int = 50, *, citizen_run: str | None = None
    ) -> list[ContactRecord]:
        where, parameters = (
            ("", [limit])
            if citizen_run is None
            else ("WHERE citizen_run = $2", [limit, citizen_run])
        )
        async with self._reading() as db:
            rows = await db.fetch(
                f"SELECT {COLUMNS} FROM contacts {where} "
                "ORDER BY joined_at DESC, folio DESC LIMIT $1",
                *parameters,
            )
        return [contact_record(row.values()) for row in rows]

    async def joined_between(
        self, start: float, end: float, *, service: str | None = None, executive: str | None = None
    ) -> list[ContactRecord]:
        where = ["joined_at >= $1", "joined_at < $2"]
        parameters: list[object] = [start, end]
        for column, value in (("service", service), ("executive_run", executive)):
            if value is not None:
                parameters.append(value)
                where.append(f"{column} = ${len(parameters)}")
        async with self._reading() as db:
            rows = await db.fetch(
                f"SELECT {COLUMNS} FROM contacts WHERE {' AND '.join(where)} "
                "ORDER BY joined_at, folio",
                *parameters,
            )
        return [contact_record(row.values()) for row in rows]
