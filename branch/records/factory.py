"""The one place that picks the record store from config."""

from __future__ import annotations

from pathlib import Path

from branch.errors import ConfigError
from branch.records.base import RecordStore
from branch.records.postgres import PostgresRecordStore
from branch.records.sqlite import SqliteRecordStore


def open_record_store(url: str, *, journal: Path | None = None) -> RecordStore:
    """The store ``url`` names; ``journal`` keeps a shared database's writes while it is away."""
    if url.startswith("sqlite:///"):
        # sqlite:///relative/path and sqlite:////absolute/path, as SQLAlchemy spells them.
        path = url.removeprefix("sqlite:///")
        if not path:
            raise ConfigError("stores.records: sqlite:/// needs a file path")
        return SqliteRecordStore(Path(path))
    if url.startswith(("postgresql://", "postgres://")):
        return PostgresRecordStore(url, journal=journal)
    raise ConfigError(
        f"stores.records: unsupported URL {url!r} (use sqlite:///path or postgresql://…)"
    )
