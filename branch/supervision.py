"""The supervisor's side of the service: the live wallboard and the supervisor actions.

The wallboard is computed by the pure ``branch.core.wallboard.snapshot`` from
the live store and pushed to every supervisor page of this node when the floor
changes, here or on another node (which announces it through the delivery), at
most once per ``supervision.push_interval_ms``, and again every
``supervision.refresh_seconds`` so durations grow. The pages never ask. Every
action is checked, applied through the floor and written to the audit trail
before the supervisor is told it is done.
"""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

from branch import schema
from branch.config import Settings
from branch.core.floor import Agent, AgentState, Event
from branch.core.wallboard import Line, day_bounds, snapshot
from branch.delivery.base import Delivery
from branch.errors import (
    CLOSE_SESSION_ENDED,
    BadMessage,
    InvalidState,
    UnknownExecutive,
    UnknownReason,
    UnknownService,
)
from branch.live.base import LiveStore, Notice
from branch.live.sessions import SessionStore
from branch.people import citizen_key, executive_key
from branch.records.base import RecordStore
from branch.tasks import Background

log = logging.getLogger(__name__)

# Who is shown the wallboard: supervisors, and admins, who watch but may not act.
WATCHERS = ("supervisor", "admin")
# The pause reason an executive is given when a supervisor pauses them without naming one.
SUPERVISOR_PAUSE = "supervisor"
# A supervisor acts on executives who are not with a citizen; a contact in progress is theirs.
WITH_CITIZEN = (AgentState.IN_CALL, AgentState.WRAP_UP)

Apply = Callable[[list[Event]], Awaitable[None]]


def known_pause_reason(settings: Settings, code: str) -> str:
    """``code`` when it is empty (no reason given) or in the pause catalog."""
    if code and settings.pause_reason(code) is None:
        raise UnknownReason(f"pause reason {code[:40]!r} is not in the catalog")
    return code


class Supervision:
    def __init__(
        self,
        settings: Settings,
        live: LiveStore,
        records: RecordStore,
        hub: Delivery,
        clock: Callable[[], float],
        apply: Apply,
        sessions: SessionStore,
    ) -> None:
        self.settings = settings
        self.live = live
        self.records = records
        self.hub = hub
        self.sessions = sessions
        self.clock = clock
        self.apply = apply
        self.targets = settings.wallboard_targets
        self._interval = settings.supervision_push_interval_ms / 1000
        self._pending: asyncio.Task[None] | None = None  # scheduled, not yet begun
        self._pushes = Background()  # scheduled or begun
        self._pushed_at = float("-inf")  # monotonic: pushes are paced in real time

    # ------------------------------------------------------------ the wallboard

    async def board(self) -> dict[str, Any]:
        """The wallboard as of now."""
        now = self.clock()
        lines = [
            Line(
                queue.code,
                queue.name,
                queue.name_en,
                await self.live.waiting(queue.code),
                await self.live.handle_times(queue.code),
                await self.live.notice(queue.code, now),
            )
            for queue in self.settings.queues
        ]
        agents = await self.live.agents()
        calls = await self.live.calls()
        start, end = day_bounds(now, self.settings.service_timezone)
        today = await self.records.joined_between(start, end)
        parameters = self.settings.thresholds
        return snapshot(lines, agents, calls, today, parameters, self.targets, now)

    def changed(self) -> None:
        """The floor changed here: push a fresh wallboard soon, and tell the other nodes."""
        self.hub.announce_change()
        self.push_soon()

    def push_soon(self) -> None:
        """Push a fresh wallboard soon, at most once per interval (another node's change too)."""
        if self._pending is not None or self._pushes.closed or not self._watching():
            return
        delay = max(0.0, self._pushed_at + self._interval - time.monotonic())
        self._pending = self._pushes.start(self._push_later(delay), "wallboard push")

    async def _push_later(self, delay: float) -> None:
        await asyncio.sleep(delay)
        # From here on a change needs a push of its own: this one may have read before it.
        self._pending = None
        try:
            await self.push()
        except Exception:
            log.exception("wallboard push failed")

    async def push(self) -> None:
        """Send the wallboard to every supervisor (and admin) page of this node, now."""
        pages = self._watching()
        if not pages:
            return
        self._pushed_at = time.monotonic()
        await self.hub.send_many(pages, schema.message("wallboard", **await self.board()))

    def _watching(self) -> list[str]:
        return [key for role in WATCHERS for key in self.hub.keys(f"{role}:")]

    async def tick(self) -> None:
        """Periodic refresh: waits and durations grow, and a lost announcement is made up for."""
        if time.monotonic() - self._pushed_at >= self.settings.supervision_refresh_seconds:
            await self.push()

    async def close(self) -> None:
        """Stop the push scheduled or under way; none is scheduled after this."""
        await self._pushes.close()
        self._pending = None

    # ------------------------------------------------------------ actions

    async def handle(self, actor: str, message: schema.ClientMessage) -> None:
        """One supervisor action; ``actor`` is the supervisor's user key."""
        now = self.clock()
        match message:
            case schema.SupervisorNotReady():
                await self._not_ready(actor, message, now)
            case schema.SupervisorPauseAfter():
                await self._pause_after(actor, message, now)
            case schema.SupervisorLogOut():
                await self._log_out(actor, message, now)
            case schema.SupervisorBroadcast():
                await self._broadcast(actor, message, now)
            case schema.SupervisorClearNotice():
                await self._clear_notice(actor, message, now)
            case _:
                raise BadMessage(f"{message.type} is not a supervisor action")

    async def _executive(self, run: str) -> Agent:
        agent = (await self.live.agent_status(run)).agent
        if agent is None or agent.state is AgentState.OFFLINE:
            raise UnknownExecutive(f"executive {run[:40]!r} is not logged in")
        return agent

    async def _not_ready(self, actor: str, message: schema.SupervisorNotReady, now: float) -> None:
        known_pause_reason(self.settings, message.reason)
        agent = await self._executive(message.executive)
        if agent.state is AgentState.OFFERED:
            raise InvalidState(
                f'Cannot set {agent.agent_id} not ready in state "{agent.state}": '
                "wait until the contact is closed"
            )
        if agent.state in WITH_CITIZEN:
            raise InvalidState(
                f'Cannot set {agent.agent_id} not ready in state "{agent.state}": '
                "ask for a pause after the call instead"
            )
        reason = message.reason or SUPERVISOR_PAUSE
        events = await self.live.agent_not_ready(agent.agent_id, agent.name, now, reason)
        await self._audit(message.type, actor, now, executive=agent.agent_id, reason=reason)
        await self.apply(events)
        await self._done(actor, message.type, executive=agent.agent_id)

    async def _pause_after(
        self, actor: str, message: schema.SupervisorPauseAfter, now: float
    ) -> None:
        known_pause_reason(self.settings, message.reason)
        agent = await self._executive(message.executive)
        reason = (message.reason or SUPERVISOR_PAUSE) if message.pending else None
        # The floor refuses it outside a contact: then the pause is supervisor.not_ready.
        events = await self.live.pause_after_call(agent.agent_id, message.pending, reason, now)
        await self._audit(
            message.type,
            actor,
            now,
            executive=agent.agent_id,
            pending=message.pending,
            reason=reason,
        )
        await self.apply(events)
        await self._done(actor, message.type, executive=agent.agent_id, pending=message.pending)

    async def _log_out(self, actor: str, message: schema.SupervisorLogOut, now: float) -> None:
        agent = await self._executive(message.executive)
        if agent.state in WITH_CITIZEN:
            raise InvalidState(
                f'Cannot log {agent.agent_id} out in state "{agent.state}": '
                "wait until the contact is closed"
            )
        # Off the floor first, so the page's own goodbye finds nothing left to end.
        events = await self.live.agent_gone(agent.agent_id, now)
        # The person is logged out, not one page: every login they have ends, also one
        # whose page is just opening (it finds its session gone once it is registered,
        # docs/operations.md) or not open at all. A login made after this is not touched.
        ended = await self.sessions.end_person(agent.agent_id)
        await self._audit(
            message.type,
            actor,
            now,
            executive=agent.agent_id,
            was=agent.state.value,
            sessions=len(ended),
        )
        await self.apply(events)
        key, reason = executive_key(agent.agent_id), "logged out by a supervisor"
        for session_id in ended:
            # On whichever node holds it, and only a page one of those logins opened.
            await self.hub.end_page(key, CLOSE_SESSION_ENDED, reason, session_id=session_id)
        if not ended:
            # No login listed: one made by a node of an earlier version (a rolling
            # upgrade). The page seen is closed, and its node ends its session.
            await self.hub.end_page(key, CLOSE_SESSION_ENDED, reason)
        await self._done(actor, message.type, executive=agent.agent_id)

    def _service(self, code: str) -> str:
        queue = self.settings.queue(code)
        if queue is None:
            raise UnknownService(f"service {code[:40]!r} does not exist")
        return queue.code

    async def _tell_waiting(self, service: str, notice: dict[str, Any]) -> tuple[int, int]:
        """Send ``notice`` to everyone waiting in ``service``: (how many wait, pages reached)."""
        waiting = await self.live.waiting(service)
        delivered = 0
        for entry in waiting:
            if await self.hub.send(citizen_key(entry.citizen_id), notice):
                delivered += 1
        return len(waiting), delivered

    async def _broadcast(self, actor: str, message: schema.SupervisorBroadcast, now: float) -> None:
        service = self._service(message.service)
        text = message.text.strip()
        limit = self.settings.limits_notice
        if not text or len(text) > limit:
            raise BadMessage(f"supervisor.broadcast: text must have 1 to {limit} characters")
        # Kept first, so a citizen who reloads or joins while it is sent is shown it anyway.
        await self.live.set_notice(
            Notice(service, text, now, now + self.settings.supervision_notice_seconds)
        )
        notice = schema.message("queue.notice", service=service, text=text, at=now)
        waiting, delivered = await self._tell_waiting(service, notice)
        await self._audit(
            message.type,
            actor,
            now,
            service=service,
            text=text,
            waiting=waiting,
            delivered=delivered,
        )
        await self._done(actor, message.type, service=service, recipients=delivered)
        self.changed()  # the board shows the service's current notice

    async def _clear_notice(
        self, actor: str, message: schema.SupervisorClearNotice, now: float
    ) -> None:
        service = self._service(message.service)
        # Removed first, so a citizen who reloads or joins meanwhile is not shown it again.
        cleared = await self.live.clear_notice(service, now)
        # Told even when none was current: a page may still show one that just ran out.
        gone = schema.message("queue.notice_cleared", service=service, at=now)
        waiting, delivered = await self._tell_waiting(service, gone)
        await self._audit(
            message.type,
            actor,
            now,
            service=service,
            cleared=None if cleared is None else cleared.text,
            waiting=waiting,
            delivered=delivered,
        )
        await self._done(
            actor, message.type, service=service, recipients=delivered, cleared=cleared is not None
        )
        self.changed()

    async def _audit(self, kind: str, actor: str, at: float, **data: Any) -> None:
        # Each action is its own event, even two alike in the same instant.
        await self.records.audit(kind, actor, None, f"{kind}:{uuid.uuid4().hex}", data, at)

    async def _done(self, actor: str, action: str, **fields: Any) -> None:
        await self.hub.send(actor, schema.message("supervisor.done", action=action, **fields))
