"""The floor of scenario 6: the same contacts written by the plain database driver.

Five steps per contact, as the branch writes them (a join, then offered,
answered, ended, wrapped up), each one autocommitted statement awaited before
the next: durable as the branch's records are (SQLite WAL with
``synchronous=FULL``; PostgreSQL's commit), with nothing of the branch's store
around them — no audit chain, no applied-write ids, no group commit, no
checks. What the same writers get from the disk and the driver alone.
"""

from __future__ import annotations

import asyncio
import re
import sqlite3
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import asyncpg

TABLE = (
    "CREATE TABLE IF NOT EXISTS raw_contacts (contact_id TEXT PRIMARY KEY, service TEXT, "
    "citizen TEXT, joined_at DOUBLE PRECISION, executive TEXT, offered_at DOUBLE PRECISION, "
    "answered_at DOUBLE PRECISION, ended_at DOUBLE PRECISION, end_reason TEXT, "
    "wrapped_up_at DOUBLE PRECISION, outcome TEXT)"
)
STEPS = (
    "INSERT INTO raw_contacts (contact_id, service, citizen, joined_at) VALUES ($1, $2, $3, $4)",
    "UPDATE raw_contacts SET executive = $2, offered_at = $3 WHERE contact_id = $1",
    "UPDATE raw_contacts SET answered_at = $2 WHERE contact_id = $1",
    "UPDATE raw_contacts SET ended_at = $2, end_reason = $3 WHERE contact_id = $1",
    "UPDATE raw_contacts SET wrapped_up_at = $2, outcome = $3 WHERE contact_id = $1",
)
SQLITE_STEPS = tuple(re.sub(r"\$(\d)", r"?\1", sql) for sql in STEPS)
# At most this many connections for PostgreSQL's writers (the branch's pool holds 8).
MOST_CONNECTIONS = 16


def _arguments(contact: str, at: float) -> list[tuple[Any, ...]]:
    return [
        (contact, "general", "30.000.000-K", at),
        (contact, "20.000.000-3", at + 1),
        (contact, at + 2),
        (contact, at + 60, "completed"),
        (contact, at + 90, "resuelto"),
    ]


class RawRecords:
    """Writes whole contacts, one durable statement per step, through the plain driver."""

    def __init__(self, url: str, parallel: int) -> None:
        self.url = url
        self.parallel = parallel
        self._pool: asyncpg.Pool[asyncpg.Record] | None = None
        self._sqlite: sqlite3.Connection | None = None
        self._thread: ThreadPoolExecutor | None = None

    async def open(self) -> None:
        if self.url.startswith("sqlite:///"):
            # A file of its own beside the branch's, on the same disk.
            path = self.url.removeprefix("sqlite:///") + "-raw"
            self._thread = ThreadPoolExecutor(1, thread_name_prefix="raw-sqlite")
            self._sqlite = await self._in_thread(_connect_sqlite, path)
            return
        size = min(self.parallel, MOST_CONNECTIONS)
        self._pool = await asyncpg.create_pool(self.url, min_size=size, max_size=size)
        await self._pool.execute(TABLE)

    async def close(self) -> None:
        if self._pool is not None:
            await self._pool.close()
        if self._sqlite is not None:
            await self._in_thread(self._sqlite.close)
        if self._thread is not None:
            self._thread.shutdown(wait=True)

    async def round(self, count: int) -> float:
        """Seconds for ``count`` contacts written by ``parallel`` writers at once."""
        started = time.perf_counter()
        each = count // self.parallel
        await asyncio.gather(*(self._contacts(each) for _ in range(self.parallel)))
        return time.perf_counter() - started

    async def _contacts(self, count: int) -> None:
        for _ in range(count):
            steps = _arguments(uuid.uuid4().hex, time.time())
            if self._pool is not None:
                for sql, arguments in zip(STEPS, steps, strict=True):
                    await self._pool.execute(sql, *arguments)
                continue
            for sql, arguments in zip(SQLITE_STEPS, steps, strict=True):
                await self._in_thread(_execute_sqlite, self._sqlite, sql, arguments)

    async def _in_thread(self, function: Any, *arguments: Any) -> Any:
        return await asyncio.get_running_loop().run_in_executor(self._thread, function, *arguments)


def _connect_sqlite(path: str) -> sqlite3.Connection:
    # Autocommit: each statement is its own transaction, committed (fsync) when it returns.
    db = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    for pragma in ("PRAGMA journal_mode=WAL", "PRAGMA synchronous=FULL"):
        db.execute(pragma)
    db.execute(TABLE.replace("DOUBLE PRECISION", "REAL"))
    return db


def _execute_sqlite(db: sqlite3.Connection, sql: str, arguments: tuple[Any, ...]) -> None:
    db.execute(sql, arguments)
