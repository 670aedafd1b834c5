"""Contact records in SQLite: the embedded default.

WAL with synchronous=FULL: every step is committed to disk before the call
returns, so a node that dies mid-contact keeps every step written so far.
Steps that arrive while a commit is under way are committed together in the
next transaction (group commit), each in a savepoint of its own, so one
``fsync`` and one hop to the database thread serve many contacts at once. A
step's audit entry is appended in the step's savepoint: both or neither.
"""

from __future__ import annotations

import asyncio
import functools
import sqlite3
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, TypeVar

from branch.audit import AuditEntry
from branch.core.floor import EndReason
from branch.records import sqlite_audit, sqlite_writes
from branch.records.base import (
    AgentStateRecord,
    ChatRecord,
    ContactRecord,
    Entry,
    Purge,
    audit_args,
)
from branch.records.group_commit import GroupCommit
from branch.records.rows import COLUMNS
from branch.records.rows import contact_record as _record
from branch.records.sqlite_schema import migrate

T = TypeVar("T")
Write = Callable[[sqlite3.Connection], Any]
PRAGMAS = (
    "PRAGMA journal_mode=WAL",
    "PRAGMA synchronous=FULL",
    "PRAGMA foreign_keys=ON",
    "PRAGMA busy_timeout=5000",
)


class SqliteRecordStore:
    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self._db: sqlite3.Connection | None = None
        # One connection used from one thread: every statement, read or write, runs there
        # in turn, so a read never sees a batch half written and no transaction nests.
        self._thread: ThreadPoolExecutor | None = None
        self._commits: GroupCommit[Write] = GroupCommit(self._commit, str(self.path))

    async def _run(self, function: Callable[..., T], *arguments: Any) -> T:
        """``function(connection, *arguments)`` in the database thread."""
        if self._thread is None:
            raise RuntimeError(f"record store {self.path} is not open")
        call = functools.partial(function, self.db, *arguments)
        return await asyncio.get_running_loop().run_in_executor(self._thread, call)

    async def _write(self, function: Callable[..., T], *arguments: Any) -> T:
        """A write, committed (with the others waiting then) before this returns."""
        if self._thread is None:
            raise RuntimeError(f"record store {self.path} is not open")
        result: T = await self._commits.submit(lambda db: function(db, *arguments))
        return result

    async def _step(
        self,
        function: Callable[..., T],
        entry: Entry | None,
        contact_id: str,
        at: float,
        *arguments: Any,
        gives_folio: bool = False,
    ) -> T:
        """A step of ``contact_id`` at ``at``, and its entry when it has one, in one savepoint.

        ``gives_folio``: the step returns the folio, which its entry is told.
        """
        if entry is None:
            return await self._write(function, contact_id, *arguments)

        def step_and_entry(db: sqlite3.Connection) -> T:
            outcome = function(db, contact_id, *arguments)
            more = {"folio": outcome} if gives_folio else {}
            sqlite_audit.append(db, **audit_args(entry, contact_id, at, **more))
            return outcome

        result: T = await self._commits.submit(step_and_entry)
        return result

    async def _commit(self, writes: list[Write]) -> Sequence[Any]:
        return await self._run(commit_batch, writes)

    @property
    def db(self) -> sqlite3.Connection:
        if self._db is None:
            raise RuntimeError(f"record store {self.path} is not open")
        return self._db

    async def open(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._thread = ThreadPoolExecutor(1, thread_name_prefix="records-sqlite")
        loop = asyncio.get_running_loop()
        try:
            self._db = await loop.run_in_executor(self._thread, connect, self.path)
            await self._run(migrate, self.path)
        except BaseException:
            await self.close()
            raise
        self._commits = GroupCommit(self._commit, str(self.path))

    async def close(self) -> None:
        await self._commits.close()
        thread, self._thread = self._thread, None
        if thread is None:
            return
        if self._db is not None:
            db, self._db = self._db, None
            await asyncio.get_running_loop().run_in_executor(thread, db.close)
        thread.shutdown(wait=True)

    @property
    def batches(self) -> int:
        """Transactions committed by group commit since the store opened."""
        return self._commits.batches

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
        entry: Entry | None = None,
    ) -> str:
        return await self._step(
            sqlite_writes.contact_joined,
            entry,
            contact_id,
            joined_at,
            service,
            citizen_run,
            citizen_name,
            reason_code,
            reason_text,
            joined_at,
            estimated_wait,
            transferred_from,
            transfer_note,
            gives_folio=True,
        )

    async def contact_offered(
        self,
        contact_id: str,
        executive_run: str,
        executive_name: str,
        at: float,
        *,
        entry: Entry | None = None,
    ) -> None:
        await self._step(
            sqlite_writes.contact_offered, entry, contact_id, at, executive_run, executive_name, at
        )

    async def contact_answered(
        self, contact_id: str, at: float, *, entry: Entry | None = None
    ) -> None:
        await self._step(sqlite_writes.contact_answered, entry, contact_id, at, at)

    async def contact_ended(
        self, contact_id: str, end_reason: EndReason, at: float, *, entry: Entry | None = None
    ) -> None:
        await self._step(
            sqlite_writes.contact_ended, entry, contact_id, at, EndReason(end_reason), at
        )

    async def contact_wrapped_up(
        self,
        contact_id: str,
        executive_run: str,
        outcome_code: str,
        confirmed_reason_code: str,
        notes: str,
        at: float,
        *,
        entry: Entry | None = None,
    ) -> None:
        await self._step(
            sqlite_writes.contact_wrapped_up,
            entry,
            contact_id,
            at,
            executive_run,
            outcome_code,
            confirmed_reason_code,
            notes,
            at,
        )

    async def contact_surveyed(
        self,
        contact_id: str,
        citizen_run: str,
        score: int,
        comment: str,
        at: float,
        *,
        entry: Entry | None = None,
    ) -> None:
        await self._step(
            sqlite_writes.contact_surveyed, entry, contact_id, at, citizen_run, score, comment, at
        )

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
            sqlite_writes.agent_state_changed,
            agent_run,
            agent_name,
            state,
            pause_reason,
            contact_id,
            at,
        )

    async def agent_states(self, agent_run: str, since: float) -> list[AgentStateRecord]:
        rows = await self._run(
            fetch_all,
            "SELECT agent_run, agent_name, state, pause_reason, contact_id, at FROM agent_states "
            "WHERE agent_run = ? AND at >= ? ORDER BY at, id",
            (agent_run, since),
        )
        return [AgentStateRecord(*row) for row in rows]

    async def ping(self) -> None:
        await self._run(fetch_all, "SELECT 1", ())

    async def chat_added(self, contact_id: str, sender: str, text: str, at: float) -> None:
        await self._write(sqlite_writes.chat_added, contact_id, sender, text, at)

    async def chat(self, contact_id: str) -> list[ChatRecord]:
        rows = await self._run(
            fetch_all,
            "SELECT contact_id, at, sender, text FROM chat_messages WHERE contact_id = ? ORDER BY id",
            (contact_id,),
        )
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
        return await self._write(sqlite_audit.append, kind, actor, contact_id, event_id, data, at)

    async def audit_entries(
        self, contact_id: str | None = None, *, after: int = 0, limit: int | None = None
    ) -> list[AuditEntry]:
        return await self._run(
            sqlite_audit.entries, contact_id, after, -1 if limit is None else limit
        )

    async def purge(self, before: float, at: float, actor: str = "system") -> Purge:
        return await self._write(sqlite_audit.purge, before, at, actor)

    async def get(self, contact_id: str) -> ContactRecord | None:
        rows = await self._run(
            fetch_all, f"SELECT {COLUMNS} FROM contacts WHERE contact_id = ?", (contact_id,)
        )
        return _record(rows[0]) if rows else None

    async def recent(
        self, limit: int = 50, *, citizen_run: str | None = None
    ) -> list[ContactRecord]:
        where, parameters = (
            ("", [limit])
            if citizen_run is None
            else ("WHERE citizen_run = ?", [citizen_run, limit])
        )
        sql = f"SELECT {COLUMNS} FROM contacts {where} ORDER BY joined_at DESC, folio DESC LIMIT ?"
        return [_record(row) for row in await self._run(fetch_all, sql, tuple(parameters))]

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
        return [_record(row) for row in await self._run(fetch_all, sql, tuple(parameters))]


# What follows runs in the database thread.


def connect(path: Path) -> sqlite3.Connection:
    # Autocommit: the store says where each transaction begins and ends.
    db = sqlite3.connect(path, isolation_level=None)
    for pragma in PRAGMAS:
        db.execute(pragma)
    return db


def fetch_all(db: sqlite3.Connection, sql: str, parameters: tuple[object, ...]) -> list[Any]:
    return db.execute(sql, parameters).fetchall()


def commit_batch(db: sqlite3.Connection, writes: list[Write]) -> list[Any]:
    """Every write in one transaction, each in a savepoint: a failing one is undone alone.

    Its outcome is its exception; the others commit. Should the transaction
    itself fail (disk full, I/O error), the writes are tried again one per
    transaction, so only those that cannot be made fail.
    """
    try:
        return _in_one_transaction(db, writes, alone=len(writes) == 1)
    except sqlite3.Error as error:
        if len(writes) == 1:
            return [error]
    outcomes: list[Any] = []
    for write in writes:
        try:
            outcomes.extend(_in_one_transaction(db, [write], alone=True))
        except sqlite3.Error as error:
            outcomes.append(error)
    return outcomes


def _in_one_transaction(db: sqlite3.Connection, writes: list[Write], *, alone: bool) -> list[Any]:
    outcomes: list[Any] = []
    db.execute("BEGIN IMMEDIATE")
    try:
        for write in writes:
            if alone:  # the transaction is its savepoint
                outcomes.append(write(db))
                continue
            db.execute("SAVEPOINT write")
            try:
                outcomes.append(write(db))
            except Exception as error:
                db.execute("ROLLBACK TO write")
                outcomes.append(error)
            db.execute("RELEASE write")
        db.execute("COMMIT")
    except BaseException as error:
        if db.in_transaction:
            db.execute("ROLLBACK")
        if alone and isinstance(error, Exception) and not isinstance(error, sqlite3.Error):
            return [error]
        raise
    return outcomes
