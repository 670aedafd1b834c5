"""The local durable journal: record writes kept while the shared database is away.

One SQLite file per node (WAL, synchronous=FULL, so a journaled write
survives the node dying). Operations leave in the order they came in; each
carries an id that the database remembers once applied, so a write that is
flushed twice (the node died between the database's commit and the journal's
delete) still lands once.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import logging
import secrets
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiosqlite

from branch.errors import RecordsUnavailable

log = logging.getLogger(__name__)

SCHEMA = (
    "CREATE TABLE IF NOT EXISTS operations ("
    " position INTEGER PRIMARY KEY AUTOINCREMENT,"
    " op_id TEXT NOT NULL UNIQUE,"
    " name TEXT NOT NULL,"
    " args TEXT NOT NULL,"
    " journaled_at REAL NOT NULL)",
    # Writes the database refused on the way back (not lost: kept for the operator).
    "CREATE TABLE IF NOT EXISTS rejected ("
    " op_id TEXT PRIMARY KEY,"
    " name TEXT NOT NULL,"
    " args TEXT NOT NULL,"
    " error TEXT NOT NULL,"
    " rejected_at REAL NOT NULL)",
)


@dataclass(frozen=True)
class Operation:
    """One record write: the store method's name and its JSON-ready arguments."""

    op_id: str
    name: str
    args: dict[str, Any]


class OperationIds:
    """Ids for one store's operations: a random prefix drawn once, then a counter.

    As unique as a random UUID per write (96 random bits per store opened,
    against 122), without asking the system for randomness on every step.
    """

    def __init__(self) -> None:
        self._prefix = secrets.token_hex(12)
        self._count = itertools.count()

    def new(self, name: str, **args: Any) -> Operation:
        return Operation(f"{self._prefix}{next(self._count):08x}", name, args)


class Journal:
    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self._db: aiosqlite.Connection | None = None

    @property
    def db(self) -> aiosqlite.Connection:
        if self._db is None:
            raise RuntimeError(f"journal {self.path} is not open")
        return self._db

    async def open(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._db = await aiosqlite.connect(self.path, isolation_level=None)
        for statement in ("PRAGMA journal_mode=WAL", "PRAGMA synchronous=FULL", *SCHEMA):
            await self.db.execute(statement)

    async def close(self) -> None:
        if self._db is not None:
            await self._db.close()
            self._db = None

    async def append(self, operation: Operation) -> None:
        await self.db.execute(
            "INSERT INTO operations (op_id, name, args, journaled_at) VALUES (?, ?, ?, ?)",
            (operation.op_id, operation.name, json.dumps(operation.args), time.time()),
        )

    async def first(self) -> Operation | None:
        """The oldest operation still waiting."""
        async with self.db.execute(
            "SELECT op_id, name, args FROM operations ORDER BY position LIMIT 1"
        ) as cursor:
            row = await cursor.fetchone()
        return None if row is None else Operation(str(row[0]), str(row[1]), json.loads(row[2]))

    async def remove(self, op_id: str) -> None:
        await self.db.execute("DELETE FROM operations WHERE op_id = ?", (op_id,))

    async def reject(self, operation: Operation, error: str) -> None:
        """Move an operation the database refused out of the way, keeping it."""
        await self.db.execute("BEGIN IMMEDIATE")
        try:
            await self.db.execute(
                "INSERT OR REPLACE INTO rejected (op_id, name, args, error, rejected_at) "
                "VALUES (?, ?, ?, ?, ?)",
                (
                    operation.op_id,
                    operation.name,
                    json.dumps(operation.args),
                    error,
                    time.time(),
                ),
            )
            await self.db.execute("DELETE FROM operations WHERE op_id = ?", (operation.op_id,))
            await self.db.execute("COMMIT")
        except BaseException:
            await self.db.execute("ROLLBACK")
            raise

    async def size(self) -> int:
        async with self.db.execute("SELECT count(*) FROM operations") as cursor:
            row = await cursor.fetchone()
        return int(row[0]) if row else 0

    async def rejected(self) -> list[tuple[str, str]]:
        """(operation name, error) of every write the database refused."""
        async with self.db.execute("SELECT name, error FROM rejected ORDER BY rejected_at") as c:
            rows = await c.fetchall()
        return [(str(name), str(error)) for name, error in rows]


class JournaledWriter:
    """Writes go to the database, or to the journal while it is away, and leave it in order.

    Once one write is journaled, later ones queue behind it until a background
    task has flushed the journal, so the database sees them in the order they
    were made. Without a journal, an unreachable database is the caller's error.
    """

    def __init__(
        self,
        apply: Callable[[Operation], Awaitable[Any]],
        journal: Path | None,
        retry_seconds: float,
        message: str,
        refusals: tuple[type[Exception], ...],
    ) -> None:
        self._apply = apply  # raises RecordsUnavailable when the database is away
        self._refusals = refusals  # what the database says of a write it will never take
        self._journal = None if journal is None else Journal(journal)
        self._retry_seconds = retry_seconds
        self._message = message
        self._journaling = False
        self._lock = asyncio.Lock()
        self._flusher: asyncio.Task[None] | None = None

    @property
    def journaling(self) -> bool:
        """True from the first journaled write until the journal is flushed."""
        return self._journaling

    def refuse_while_journaling(self) -> None:
        """For reads and checked writes: the database is behind, so do not ask it."""
        if self._journaling:
            raise RecordsUnavailable(self._message)

    async def open(self) -> None:
        if self._journal is None:
            return
        await self._journal.open()
        if await self._journal.size():
            log.warning("records: flushing what %s kept", self._journal.path)
            self._journaling = True
            self._flush_soon()

    async def close(self) -> None:
        if self._flusher is not None:
            self._flusher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._flusher
            self._flusher = None
        if self._journal is not None:
            await self._journal.close()

    async def write(
        self, operation: Operation, journaled: Callable[[], Operation] | None = None
    ) -> Any:
        """The write's result, or None once it is journaled (as ``journaled()``, if given)."""
        if not self._journaling:
            try:
                return await self._apply(operation)
            except RecordsUnavailable:
                if self._journal is None:
                    raise
                log.warning("records: PostgreSQL unreachable, journaling writes")
        if self._journal is None:
            raise RuntimeError("journaling without a journal")
        async with self._lock:
            await self._journal.append(operation if journaled is None else journaled())
            self._journaling = True
            self._flush_soon()
        return None

    async def size(self) -> int:
        """How many writes wait in the journal."""
        return 0 if self._journal is None else await self._journal.size()

    async def rejected(self) -> list[tuple[str, str]]:
        return [] if self._journal is None else await self._journal.rejected()

    def _flush_soon(self) -> None:
        if self._flusher is None or self._flusher.done():
            self._flusher = asyncio.create_task(self._flush())

    async def _flush(self) -> None:
        """Apply the journal in order until it is empty, waiting out the database."""
        journal = self._journal
        if journal is None:
            raise RuntimeError("flushing without a journal")
        while True:
            operation = await journal.first()
            if operation is None:
                async with self._lock:
                    if await journal.size() == 0:
                        self._journaling = False
                        log.info("records: journal flushed, PostgreSQL is current")
                        return
                continue
            try:
                await self._apply(operation)
            except RecordsUnavailable:
                await asyncio.sleep(self._retry_seconds)
                continue
            except self._refusals as error:
                # Refused for what it is, so trying again cannot help: keep it aside, go on.
                log.error("records: journaled %s refused, kept aside: %s", operation.name, error)
                await journal.reject(operation, f"{type(error).__name__}: {error}")
                continue
            except Exception:
                # Anything else may pass: the write keeps its place and is tried again.
                log.exception("records: flushing %s failed, trying again", operation.name)
                await asyncio.sleep(self._retry_seconds)
                continue
            await journal.remove(operation.op_id)
