"""Contact records: what every contact was, written step by step as it happens."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol

from branch.audit import AuditEntry
from branch.core.contact import ContactRecord
from branch.core.floor import EndReason

__all__ = ["AgentStateRecord", "ContactRecord", "EndReason", "Entry", "Purge", "RecordStore"]


@dataclass(frozen=True)
class AgentStateRecord:
    agent_run: str
    agent_name: str
    state: str
    pause_reason: str | None
    contact_id: str | None
    at: float


@dataclass(frozen=True)
class ChatRecord:
    contact_id: str
    at: float
    sender: str  # "citizen" or "executive"
    text: str


@dataclass(frozen=True)
class Purge:
    """What one retention purge erased, and the audit entry recording it (None: nothing)."""

    contacts: int
    entries: int
    entry: AuditEntry | None


@dataclass(frozen=True)
class Entry:
    """The audit entry a contact's step writes with itself, in the step's transaction.

    Both land or neither: a refused step (its error raised) leaves no entry, and
    a step never lands without its entry, as two writes one after the other
    could (a crash between them). The entry takes the step's contact and
    moment; a join's entry is also told the folio the join was given.
    """

    kind: str
    actor: str
    data: dict[str, Any] = field(default_factory=dict)

    def as_args(self) -> dict[str, Any]:
        """JSON-ready, for a journaled write."""
        return {"kind": self.kind, "actor": self.actor, "data": self.data}


def event_id(kind: str, contact_id: str | None, actor: str, at: float) -> str:
    """An event's id in the trail: a retried step or entry lands once."""
    return f"{kind}:{contact_id or actor}:{at!r}"


def audit_args(entry: Entry, contact_id: str, at: float, **more: Any) -> dict[str, Any]:
    """The arguments of ``RecordStore.audit`` (and of ``new_entry``) for a step's entry."""
    return {
        "kind": entry.kind,
        "actor": entry.actor,
        "contact_id": contact_id,
        "event_id": event_id(entry.kind, contact_id, entry.actor, at),
        "data": entry.data | more if more else entry.data,
        "at": at,
    }


class RecordStore(Protocol):
    async def open(self) -> None: ...
    async def close(self) -> None: ...

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
        """Create the record; returns its folio (also told to ``entry``, as ``folio``)."""
        ...

    async def contact_offered(
        self,
        contact_id: str,
        executive_run: str,
        executive_name: str,
        at: float,
        *,
        entry: Entry | None = None,
    ) -> None: ...
    async def contact_answered(
        self, contact_id: str, at: float, *, entry: Entry | None = None
    ) -> None: ...
    async def contact_ended(
        self, contact_id: str, end_reason: EndReason, at: float, *, entry: Entry | None = None
    ) -> None:
        """Record the end; the first end wins. A later one changes nothing, but its entry
        is still written: the trail shows every attempt to end a contact."""
        ...

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
    ) -> None: ...
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
        """The citizen's satisfaction survey (1-5 and a comment), once per contact."""
        ...

    async def agent_state_changed(
        self,
        agent_run: str,
        agent_name: str,
        state: str,
        pause_reason: str | None,
        contact_id: str | None,
        at: float,
    ) -> None:
        """Log an executive's state change, so time in each state can be reported."""
        ...

    async def agent_states(self, agent_run: str, since: float) -> list[AgentStateRecord]: ...
    async def chat_added(self, contact_id: str, sender: str, text: str, at: float) -> None: ...
    async def audit(
        self,
        kind: str,
        actor: str,
        contact_id: str | None,
        event_id: str,
        data: dict[str, Any],
        at: float,
    ) -> AuditEntry | None:
        """Append to the hash-chained audit trail; None when ``event_id`` is already in it."""
        ...

    async def audit_entries(
        self, contact_id: str | None = None, *, after: int = 0, limit: int | None = None
    ) -> list[AuditEntry]:
        """Entries in chain order (of one contact, or all), from sequence ``after`` on."""
        ...

    async def purge(self, before: float, at: float, actor: str = "system") -> Purge:
        """Erase the personal data of contacts closed before ``before``, keeping the figures.

        Erased: the citizen's RUN and name, the reason text, wrap-up notes, the
        survey comment, the transfer note and the chat; the citizen's identity
        in those contacts' audit entries and in older entries of no contact
        (logins). Kept: codes, times, outcome, score, executive and every id.
        One ``retention.purged`` audit entry records what was erased, in the
        same transaction; with nothing to erase nothing is written.
        """
        ...

    async def ping(self) -> None:
        """Raise when the store cannot be reached (for /readyz)."""
        ...

    async def chat(self, contact_id: str) -> list[ChatRecord]: ...
    async def get(self, contact_id: str) -> ContactRecord | None: ...
    async def recent(
        self, limit: int = 50, *, citizen_run: str | None = None
    ) -> list[ContactRecord]: ...
    async def joined_between(
        self, start: float, end: float, *, service: str | None = None, executive: str | None = None
    ) -> list[ContactRecord]:
        """Contacts that joined in [start, end), oldest first; optionally of one service or
        answered by (last offered to) one executive's RUN, for reports."""
        ...


async def audit_event(
    records: RecordStore, kind: str, actor: str, contact_id: str | None, at: float, **data: Any
) -> None:
    """One entry of the audit trail; the id makes a retried event land once."""
    await records.audit(kind, actor, contact_id, event_id(kind, contact_id, actor, at), data, at)
