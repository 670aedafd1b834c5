"""The audit chain in PostgreSQL, appended to by one transaction's batch of writes.

The transaction locks the trail against every other node's appends before
its first write, reads the head once, chains its entries in memory in the
order the writes came, and inserts them together: a batch's entries cost a
few round trips, not three each, and the chain's order is the commit order.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import asyncpg

from branch.audit import GENESIS, AuditEntry, chained_after, new_entry
from branch.records.rows import AUDIT_COLUMNS, audit_values

if TYPE_CHECKING:
    from branch.records.pg_writes import Connection

INSERT_MANY = (
    f"INSERT INTO audit_log ({AUDIT_COLUMNS}) SELECT * FROM unnest($1::bigint[], "
    "$2::float8[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[], $8::text[], "
    "$9::text[], $10::text[], $11::text[]) ON CONFLICT (event_id) DO NOTHING RETURNING seq"
)


# Appends from every node take turns; plain reads (verification) are not held up.
LOCK_TRAIL = "LOCK TABLE audit_log IN SHARE ROW EXCLUSIVE MODE"
HEAD = "SELECT seq, hash FROM audit_log ORDER BY seq DESC LIMIT 1"


def with_head(sql: str, column: str) -> str:
    """``sql``, whose rows have the one ``column``, followed by the trail's head.

    The head's row has ``column`` NULL (``Trail.take_head`` tells it apart), so
    a batch reads the head in a round trip it makes anyway; the trail's lock,
    taken before, makes the head the one its entries chain after.
    """
    return (
        f"WITH written AS ({sql}) SELECT {column}, NULL::bigint AS seq, NULL::text AS hash "
        f"FROM written UNION ALL ({HEAD.replace('SELECT ', 'SELECT NULL, ', 1)})"
    )


class AlreadyInTrail(Exception):
    """A batch met an event already in the trail: it is redone one write at a time."""


class Trail:
    def __init__(self, db: Connection, *, alone: bool, locked: bool = False) -> None:
        self.db = db
        # Alone (one write), each event id is looked up before it is chained. In a batch,
        # none is: an id already there is found by the insert, and the batch redone alone.
        self._alone = alone
        self._locked = locked  # LOCK_TRAIL already taken in this transaction
        self._head_read = False
        self._seq = 0
        self._digest = GENESIS
        self._appended: set[str] = set()
        self._pending: list[AuditEntry] = []

    @property
    def alone(self) -> bool:
        return self._alone

    @property
    def wants_head(self) -> bool:
        """Locked, its head not read yet: the next query may read it in its round trip."""
        return self._locked and not self._head_read

    @property
    def locked(self) -> bool:
        """LOCK_TRAIL is held by this transaction (the head may be read with another query)."""
        return self._locked

    async def lock(self) -> None:
        """Take the trail for this transaction and read its head.

        Taken before the batch's other writes, so two nodes' batches never hold
        a contact row each while waiting for the other's trail (no deadlock).
        """
        if self._head_read:
            return
        if not self._locked:
            await self.db.execute(LOCK_TRAIL)
            self._locked = True
        self.read_head(await self.db.fetchrow(HEAD))

    def take_head(self, rows: list[asyncpg.Record], column: str) -> list[Any]:
        """The ``column`` of a ``with_head`` query's rows, its head read from the last."""
        self.read_head(next((row for row in rows if row[column] is None), None))
        return [row[column] for row in rows if row[column] is not None]

    def read_head(self, head: asyncpg.Record | None) -> None:
        """The trail's last entry (``seq``, ``hash``; None: empty), read under LOCK_TRAIL."""
        if not self._locked:
            raise RuntimeError("the trail's head is read only under its lock")
        if head is not None:
            self._seq, self._digest = int(head["seq"]), str(head["hash"])
        self._head_read = True

    async def append(
        self,
        kind: str,
        actor: str,
        contact_id: str | None,
        event_id: str,
        data: dict[str, Any],
        at: float,
    ) -> AuditEntry | None:
        """Chain one entry after the last; None when ``event_id`` is already in the trail."""
        await self.lock()
        if self._alone and await self.db.fetchval(
            "SELECT 1 FROM audit_log WHERE event_id = $1", event_id
        ):
            return None
        return self.add(new_entry(at, kind, actor, contact_id, event_id, data))

    def add(self, entry: AuditEntry) -> AuditEntry | None:
        """``append`` for a batch, its head read: no round trip, so no coroutine either."""
        if not self._head_read:
            raise RuntimeError("the trail's head was not read")
        if entry.event_id in self._appended:
            return None
        entry = chained_after(self._seq, self._digest, entry)
        self._seq, self._digest = entry.seq, entry.hash
        self._appended.add(entry.event_id)
        self._pending.append(entry)
        return entry

    async def flush(self) -> None:
        """Insert the entries chained so far (before anything reads the trail, and at commit)."""
        if not self._pending:
            return
        pending, self._pending = self._pending, []
        columns = list(zip(*(audit_values(entry) for entry in pending), strict=True))
        inserted = await self.db.fetch(INSERT_MANY, *columns)
        if len(inserted) != len(pending):
            raise AlreadyInTrail(f"{len(pending) - len(inserted)} of the batch's events")
