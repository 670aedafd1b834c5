"""Every record scenario runs on each implementation: SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import aiosqlite
import asyncpg
import pytest

from branch.records.base import RecordStore
from branch.records.factory import open_record_store

OpenStore = Callable[[], Awaitable[RecordStore]]


@pytest.fixture(params=["sqlite", "postgresql"])
def records_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """An empty record database of each kind (PostgreSQL: a fresh database on the test cluster)."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'records.sqlite3'}"
    return str(request.getfixturevalue("postgres_url"))


@pytest.fixture
async def open_store(records_url: str) -> AsyncIterator[OpenStore]:
    """Factory: open another store on the same database (as another node would)."""
    opened: list[RecordStore] = []

    async def make() -> RecordStore:
        store = open_record_store(records_url)
        await store.open()
        opened.append(store)
        return store

    yield make
    for store in opened:
        await store.close()


async def execute_sql(url: str, script: str) -> None:
    """Run SQL behind the store's back, as someone with access to the database could."""
    if url.startswith("sqlite:///"):
        async with aiosqlite.connect(url.removeprefix("sqlite:///")) as db:
            await db.executescript(script)
            await db.commit()
        return
    connection = await asyncpg.connect(url)
    try:
        await connection.execute(script)
    finally:
        await connection.close()
