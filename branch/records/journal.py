"""The local durable journal: record writes kept while the shared database is away.

One SQLite file per node (WAL, synchronous=FULL, so a journaled write
survives the node dying). Operations leave in the order they came in; each
carries an id that the database remembers once applied, so a write that is
flushed twice (the node died between the database's commit and the journal's
delete) still lands once.
"""

from __future__ import annotations

import json
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiosqlite

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

    @classmethod
    def new(cls, name: str, **args: Any) -> Operation:
        return cls(uuid.uuid4().hex, name, args)


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
