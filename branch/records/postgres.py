"""Contact records in PostgreSQL: several nodes share one database.

The schema is SQLite's, step for step (see pg_schema). Every write is tagged
with an operation id that the database keeps, so a write repeated from the
journal lands once. Writes that arrive while a commit is under way are
committed together in the next transaction (group commit): one commit and a
few round trips serve many contacts at once. Should a batch fail in the
database, its writes are tried again one transaction each, so only the write
at fault fails. A contact's step may carry its audit entry: it travels in the
step's write (into the journal too) and is chained in the step's transaction,
so both land or neither.

With a journal, a node whose database goes away keeps taking writes: they go
to the journal (in order, durably) and a background task flushes them in that
order when the database answers again. Until the journal is empty, reads and
the writes that must check the record first are refused with
RecordsUnavailable rather than answered from a database that is behind.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import asyncpg

from branch.audit import AuditEntry
from branch.config import without_password
from branch.core.floor import EndReason
from branch.errors import BranchError, ConfigError, RecordsUnavailable, StoreUnreachable
from branch.records.base import Entry, Purge
from branch.records.group_commit import GroupCommit
from branch.records.journal import JournaledWriter, Operation, OperationIds
from branch.records.pg_batch import commit_batch
from branch.records.pg_reads import PostgresReads
from branch.records.pg_schema import migrate
from branch.records.pg_writes import CHECKED, offline_folio

if TYPE_CHECKING:
    from branch.records.pg_writes import Connection

# What a lost, refused or cut connection looks like (as opposed to a refused statement).
UNREACHABLE: tuple[type[BaseException], ...] = (
    OSError,
    TimeoutError,
    asyncpg.PostgresConnectionError,
    asyncpg.exceptions.OperatorInterventionError,  # admin shutdown, starting up
    asyncpg.exceptions.ConnectionDoesNotExistError,
    asyncpg.InterfaceError,  # "connection is closed" on a pooled connection
    asyncpg.exceptions.InsufficientResourcesError,  # too many connections, disk full
)
REMEMBERED_DAYS = 30  # how long an applied write's id is kept, against a second flush
FORGET_EVERY = 1000  # writes between two clean-ups of the old ids
# A write refused for what it is (the journal keeps it aside instead of retrying it).
REFUSALS: tuple[type[Exception], ...] = (
    BranchError,
    asyncpg.IntegrityConstraintViolationError,
    asyncpg.DataError,
)
UNAVAILABLE = "Los registros no están disponibles en este momento; intenta de nuevo en unos minutos"


async def _session_unchanged(connection: asyncpg.Connection[asyncpg.Record]) -> None:
    """Nothing to reset on a connection given back to the pool (asyncpg still rolls back an
    open transaction): the store never changes its session (no SET, LISTEN, session lock
    or cursor), and the default reset would cost every batch a round trip."""


def _carrying(entry: Entry | None) -> dict[str, Any]:
    """A step's arguments for its audit entry: none without one (as a journal from before has)."""
    return {} if entry is None else {"entry": entry.as_args()}


class PostgresRecordStore(PostgresReads):
    def __init__(
        self,
        url: str,
        *,
        journal: Path | None = None,
        timeout: float = 5.0,
        retry_seconds: float = 1.0,
    ) -> None:
        self.url = url
        self.where = without_password(url)
        self.timeout = timeout
        self._pool: asyncpg.Pool[asyncpg.Record] | None = None
        self._applied = 0
        self._ids = OperationIds()
        self._commits: GroupCommit[Operation] = GroupCommit(self._commit, self.where)
        self._writes = JournaledWriter(self.apply, journal, retry_seconds, UNAVAILABLE, REFUSALS)

    @property
    def journaling(self) -> bool:
        return self._writes.journaling

    async def journaled(self) -> int:
        """How many writes wait in the journal."""
        return await self._writes.size()

    async def rejected(self) -> list[tuple[str, str]]:
        """(write, error) of every journaled write the database refused on the way back."""
        return await self._writes.rejected()

    async def open(self) -> None:
        try:
            self._pool = await asyncpg.create_pool(
                self.url,
                min_size=1,
                max_size=8,
                timeout=self.timeout,
                command_timeout=self.timeout,
                reset=_session_unchanged,
            )
        except asyncpg.ClientConfigurationError as error:
            raise ConfigError(f"stores.records: {self.where}: {error}") from error
        except UNREACHABLE as error:
            raise StoreUnreachable(
                f"stores.records: PostgreSQL at {self.where} is unreachable: {error}"
            ) from error
        except asyncpg.PostgresError as error:
            raise ConfigError(
                f"stores.records: PostgreSQL at {self.where} refused the connection: {error}"
            ) from error
        try:
            await self._migrate()
            await self.forget_applied()
        except RecordsUnavailable as error:
            await self.close()
            raise StoreUnreachable(
                f"stores.records: PostgreSQL at {self.where} went away while opening"
            ) from error
        except BaseException:
            await self.close()
            raise
        self._commits = GroupCommit(self._commit, self.where)
        await self._writes.open()

    @property
    def batches(self) -> int:
        """Transactions committed by group commit since the store opened."""
        return self._commits.batches

    async def close(self) -> None:
        await self._writes.close()
        await self._commits.close()
        if self._pool is not None:
            pool, self._pool = self._pool, None
            try:
                await asyncio.wait_for(pool.close(), self.timeout)
            except TimeoutError:
                pool.terminate()

    async def _migrate(self) -> None:
        async with self._connection() as db, db.transaction():
            await migrate(db, self.where)

    @contextlib.asynccontextmanager
    async def _connection(self) -> AsyncIterator[Connection]:
        if self._pool is None:
            raise RuntimeError(f"record store {self.where} is not open")
        try:
            async with self._pool.acquire() as db:
                yield db
        except UNREACHABLE as error:
            raise RecordsUnavailable(UNAVAILABLE) from error

    @contextlib.asynccontextmanager
    async def _reading(self) -> AsyncIterator[Connection]:
        """A connection for a read, refused while the database is behind the journal."""
        self._writes.refuse_while_journaling()
        async with self._connection() as db:
            yield db

    async def apply(self, operation: Operation) -> Any:
        """Run one write, committed with those waiting then; one already applied is None."""
        if self._pool is None:
            raise RuntimeError(f"record store {self.where} is not open")
        return await self._commits.submit(operation)

    async def _commit(self, operations: list[Operation]) -> Sequence[Any]:
        try:
            async with self._connection() as db:
                outcomes = await commit_batch(db, operations)
        except RecordsUnavailable:
            raise
        except Exception:
            # Refused by the database (or one of its ids already there: a write flushed
            # again from a journal): each write alone, checked, so only one at fault fails.
            outcomes = [await self._alone(operation) for operation in operations]
        before, self._applied = self._applied, self._applied + len(operations)
        if before // FORGET_EVERY != self._applied // FORGET_EVERY:
            await self.forget_applied()
        return outcomes

    async def _alone(self, operation: Operation) -> Any:
        """One write of a failed batch in its own transaction: its outcome or its error."""
        try:
            async with self._connection() as db:
                return (await commit_batch(db, [operation], checked=True))[0]
        except Exception as error:
            return error

    async def forget_applied(self) -> int:
        """Forget the ids of writes applied more than REMEMBERED_DAYS ago; how many went.

        Only a journal older than that could bring one of them back.
        """
        async with self._connection() as db:
            status = await db.execute(
                "DELETE FROM applied_operations "
                "WHERE applied_at < extract(epoch FROM now()) - $1::double precision",
                REMEMBERED_DAYS * 86400.0,
            )
        return int(status.rsplit(" ", 1)[-1])

    async def _write(
        self, operation: Operation, journaled: Callable[[], Operation] | None = None
    ) -> Any:
        if operation.name in CHECKED:
            self._writes.refuse_while_journaling()
            return await self.apply(operation)
        return await self._writes.write(operation, journaled)

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
        operation = self._ids.new(
            "contact_joined",
            contact_id=contact_id,
            service=service,
            citizen_run=citizen_run,
            citizen_name=citizen_name,
            reason_code=reason_code,
            reason_text=reason_text,
            joined_at=joined_at,
            estimated_wait=estimated_wait,
            transferred_from=transferred_from,
            transfer_note=transfer_note,
            folio=None,
            **_carrying(entry),
        )
        offline = functools.partial(offline_folio, contact_id, joined_at)
        folio = await self._write(
            operation, lambda: replace(operation, args=operation.args | {"folio": offline()})
        )
        return offline() if folio is None else str(folio)

    async def contact_offered(
        self,
        contact_id: str,
        executive_run: str,
        executive_name: str,
        at: float,
        *,
        entry: Entry | None = None,
    ) -> None:
        await self._write(
            self._ids.new(
                "contact_offered",
                contact_id=contact_id,
                executive_run=executive_run,
                executive_name=executive_name,
                at=at,
                **_carrying(entry),
            )
        )

    async def contact_answered(
        self, contact_id: str, at: float, *, entry: Entry | None = None
    ) -> None:
        await self._write(
            self._ids.new("contact_answered", contact_id=contact_id, at=at, **_carrying(entry))
        )

    async def contact_ended(
        self, contact_id: str, end_reason: EndReason, at: float, *, entry: Entry | None = None
    ) -> None:
        reason = EndReason(end_reason).value
        await self._write(
            self._ids.new(
                "contact_ended",
                contact_id=contact_id,
                end_reason=reason,
                at=at,
                **_carrying(entry),
            )
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
        await self._write(
            self._ids.new(
                "contact_wrapped_up",
                contact_id=contact_id,
                executive_run=executive_run,
                outcome_code=outcome_code,
                confirmed_reason_code=confirmed_reason_code,
                notes=notes,
                at=at,
                **_carrying(entry),
            )
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
        await self._write(
            self._ids.new(
                "contact_surveyed",
                contact_id=contact_id,
                citizen_run=citizen_run,
                score=score,
                comment=comment,
                at=at,
                **_carrying(entry),
            )
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
            self._ids.new(
                "agent_state_changed",
                agent_run=agent_run,
                agent_name=agent_name,
                state=state,
                pause_reason=pause_reason,
                contact_id=contact_id,
                at=at,
            )
        )

    async def chat_added(self, contact_id: str, sender: str, text: str, at: float) -> None:
        await self._write(
            self._ids.new("chat_added", contact_id=contact_id, sender=sender, text=text, at=at)
        )

    async def audit(
        self,
        kind: str,
        actor: str,
        contact_id: str | None,
        event_id: str,
        data: dict[str, Any],
        at: float,
    ) -> AuditEntry | None:
        """Append to the chain; None when ``event_id`` is already there (or waits in the journal)."""
        entry: AuditEntry | None = await self._write(
            self._ids.new(
                "audit",
                kind=kind,
                actor=actor,
                contact_id=contact_id,
                event_id=event_id,
                data=data,
                at=at,
            )
        )
        return entry

    async def ping(self) -> None:
        """Raise while the database is unreachable or still behind the journal."""
        async with self._reading() as db:
            await db.fetchval("SELECT 1")

    async def purge(self, before: float, at: float, actor: str = "system") -> Purge:
        purged: Purge = await self._write(self._ids.new("purge", before=before, at=at, actor=actor))
        return purged
