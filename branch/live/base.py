"""The live-state interface: the floor as the service sees it.

Each command is one atomic step of the pure core (``branch.core.floor``) and
returns the events it caused. The memory store runs the core in-process; a
Redis store runs the same steps as Lua scripts so several nodes share one
floor. Callers never see which one they have.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from branch.core.floor import Agent, AgentState, Call, Event, Waiting
from branch.core.floor import Skills as Skills  # where the stores take it from
from branch.core.model import Notice as Notice  # the wallboard shows it too


@dataclass(frozen=True)
class CitizenStatus:
    waiting: Waiting | None = None
    position: int | None = None
    waiting_count: int = 0
    call: Call | None = None

    @property
    def engaged(self) -> bool:
        """Waiting in a line, offered or in a call (as ``LiveStore.engaged`` counts)."""
        return self.waiting is not None or self.call is not None


@dataclass(frozen=True)
class Line:
    """How long one service's line is, without reading it whole."""

    waiting: int = 0
    oldest_joined_at: float | None = None


@dataclass(frozen=True)
class AgentStatus:
    agent: Agent | None = None
    call: Call | None = None


class LiveStore(Protocol):
    async def open(self) -> None: ...
    async def close(self) -> None: ...

    async def join(self, entry: Waiting, now: float) -> list[Event]: ...
    async def leave(self, citizen_id: str, now: float) -> list[Event]: ...
    async def citizen_gone(self, citizen_id: str, now: float) -> list[Event]: ...
    async def citizen_away(self, citizen_id: str, now: float) -> list[Event]: ...
    async def citizen_back(self, citizen_id: str, now: float) -> list[Event]: ...
    async def citizen_ready(self, citizen_id: str, contact_id: str, now: float) -> list[Event]: ...
    async def tick(self, now: float) -> list[Event]: ...

    async def agent_available(
        self, agent_id: str, name: str, now: float, skills: Skills | None = None
    ) -> list[Event]: ...
    async def agent_not_ready(
        self,
        agent_id: str,
        name: str,
        now: float,
        reason: str | None = None,
        skills: Skills | None = None,
    ) -> list[Event]: ...
    async def pause_after_call(
        self, agent_id: str, pending: bool, reason: str | None, now: float
    ) -> list[Event]: ...
    async def decline(
        self, agent_id: str, contact_id: str, reason: str, now: float
    ) -> list[Event]: ...
    async def agent_gone(self, agent_id: str, now: float) -> list[Event]: ...
    async def agent_away(self, agent_id: str, now: float) -> list[Event]: ...
    async def agent_back(self, agent_id: str, now: float) -> list[Event]: ...
    async def accept(self, agent_id: str, contact_id: str, now: float) -> list[Event]: ...
    async def wrapup_done(
        self, agent_id: str, contact_id: str, then: AgentState, now: float
    ) -> list[Event]: ...

    async def hangup(self, user_id: str, contact_id: str, now: float) -> list[Event]: ...
    async def audio_only(self, citizen_id: str, contact_id: str, audio_only: bool) -> list[Event]:
        """Remember whether the citizen's video is off in their call, for a reloaded desk."""
        ...

    async def transfer(
        self, agent_id: str, contact_id: str, to: Waiting, now: float
    ) -> list[Event]: ...
    async def close_queue(self, service: str, now: float) -> list[Event]: ...
    async def restore_call(
        self, call: Call, side: str, skills: Skills | None, now: float
    ) -> list[Event]:
        """Put back an answered call lost with the live state (see ``Floor.restore_call``)."""
        ...

    async def restore_wrapup(
        self,
        agent_id: str,
        name: str,
        contact_id: str,
        ended_at: float,
        skills: Skills | None,
        now: float,
    ) -> list[Event]: ...

    async def waiting(self, service: str) -> list[Waiting]: ...
    async def line(self, service: str) -> Line: ...
    async def citizen_status(self, citizen_id: str) -> CitizenStatus: ...
    async def call(self, contact_id: str) -> Call | None:
        """The offer or call under way for that contact, read alone (no line, no executive)."""
        ...

    async def agent_status(self, agent_id: str) -> AgentStatus: ...
    async def staffed(self, service: str | None = None) -> int: ...
    async def agents(self) -> list[Agent]: ...
    async def calls(self) -> list[Call]:
        """Offers and calls under way."""
        ...

    async def engaged(self) -> set[str]:
        """Citizen ids waiting in any line or offered or in a call, without reading lines."""
        ...

    async def restarted(self) -> bool:
        """True once after the store lost everything (Redis restarted empty) since last asked."""
        ...

    async def ping(self) -> None:
        """Raise when the store cannot be reached (for /readyz)."""
        ...

    async def set_notice(self, notice: Notice) -> None:
        """Make ``notice`` its service's current one, replacing any before it, on every node."""
        ...

    async def notice(self, service: str, now: float) -> Notice | None:
        """The service's current notice, unless none was sent or it ran out by ``now``."""
        ...

    async def clear_notice(self, service: str, now: float) -> Notice | None:
        """Remove the service's notice on every node; the one it was if current at ``now``."""
        ...

    async def add_handle_time(self, service: str, seconds: float) -> None: ...
    async def handle_times(self, service: str) -> list[float]: ...
