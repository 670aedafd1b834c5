"""Group commit: the writes that arrive while one commit is under way share the next.

A durable commit costs one disk flush (SQLite) or one round trip and flush
(PostgreSQL) however many writes it carries, so many contacts in progress at
once write far faster together than one by one. Each caller still awaits its
own write and is answered only once the transaction holding it has
committed; a write that fails is answered with its own error. Writes are
committed in the order they were submitted, which is the order of the audit
chain.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

W = TypeVar("W")
# Commits a batch in one transaction: one outcome per write, in order. An outcome that
# is an exception is that write's failure; raising fails every write of the batch.
Commit = Callable[[list[W]], Awaitable[Sequence[Any]]]


class StoreClosed(RuntimeError):
    """A write submitted once the store has begun to close."""


@dataclass(frozen=True)
class _Pending(Generic[W]):
    write: W
    answer: asyncio.Future[Any]


class GroupCommit(Generic[W]):
    """Queues writes and commits each batch of them in one transaction, one batch at a time."""

    def __init__(self, commit: Commit[W], where: str) -> None:
        self._commit = commit
        self._where = where
        self._queue: list[_Pending[W]] = []
        self._flusher: asyncio.Task[None] | None = None
        self._closed = False
        self.batches = 0  # committed so far, for tests and profiles

    async def submit(self, write: W) -> Any:
        """The write's outcome, once the transaction holding it has committed."""
        if self._closed:
            raise StoreClosed(f"record store {self._where} is closed; the write was not made")
        answer: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self._queue.append(_Pending(write, answer))
        if self._flusher is None or self._flusher.done():
            # Started as a task, so the callers woken by the last commit queue their next
            # writes before it runs and they share one transaction.
            self._flusher = asyncio.create_task(self._drain())
        return await answer

    async def close(self) -> None:
        """Refuse new writes and commit every write already queued."""
        self._closed = True
        if self._flusher is not None:
            with contextlib.suppress(asyncio.CancelledError):
                await asyncio.shield(self._flusher)
        # Only a cancelled flusher leaves writes behind; each is answered, none dropped unsaid.
        self._fail(self._take(), StoreClosed(f"record store {self._where} closed before the write"))

    def _take(self) -> list[_Pending[W]]:
        batch, self._queue = self._queue, []
        return batch

    async def _drain(self) -> None:
        while self._queue:
            batch = self._take()
            try:
                outcomes = await self._commit([pending.write for pending in batch])
            except asyncio.CancelledError:
                self._fail(
                    batch,
                    StoreClosed(
                        f"record store {self._where} stopped while committing; "
                        "the write may not have been made"
                    ),
                )
                self._fail(
                    self._take(),
                    StoreClosed(f"record store {self._where} stopped before the write"),
                )
                raise
            except Exception as error:
                self._fail(batch, error)
                continue
            if len(outcomes) != len(batch):  # a store's bug; still, nobody waits forever
                self._fail(batch, RuntimeError(f"{len(outcomes)} outcomes for {len(batch)} writes"))
                continue
            self.batches += 1
            for pending, outcome in zip(batch, outcomes, strict=True):
                if pending.answer.done():  # the caller gave up waiting; the write stands
                    continue
                if isinstance(outcome, Exception):
                    pending.answer.set_exception(outcome)
                else:
                    pending.answer.set_result(outcome)

    @staticmethod
    def _fail(batch: list[_Pending[W]], error: Exception) -> None:
        for pending in batch:
            if not pending.answer.done():
                pending.answer.set_exception(error)
