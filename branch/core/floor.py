"""The branch floor: who waits, which executive is free, who talks to whom.

Pure and synchronous: every method takes ``now`` and returns the events it
caused, so the rules are tested without sockets or clocks and a Redis
implementation can reproduce them in Lua. Fairness rule: citizens are served
strictly by join time; an offer that falls through puts the citizen back at
the head because the join time never changes.
"""

from __future__ import annotations

import bisect
import datetime
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from typing import Any
from zoneinfo import ZoneInfo

from branch.core.model import (
    ALLOWED,
    DECLINED,
    NO_ANSWER,
    NOT_READY,
    WITH_CONTACT,
    Agent,
    AgentChanged,
    AgentState,
    Call,
    CallInterrupted,
    CallResumed,
    CallStarted,
    CitizenSkipped,
    ContactEnded,
    EndReason,
    Event,
    FloorRules,
    Offered,
    OfferWithdrawn,
    PauseAfterCallChanged,
    QueueChanged,
    ReadinessCheck,
    Routing,
    StaffingChanged,
    Transferred,
    Waiting,
    WrapupTimedOut,
)
from branch.errors import AlreadyQueued, BadTicket, InvalidState, NoOffer, NotInCall, NotQueued

Skills = tuple[tuple[str, ...], ...]  # service codes in tiers, see Agent.skills

__all__ = [
    "ALLOWED",
    "DECLINED",
    "NOT_READY",
    "NO_ANSWER",
    "WITH_CONTACT",
    "Agent",
    "AgentChanged",
    "AgentState",
    "Call",
    "CallInterrupted",
    "CallResumed",
    "CallStarted",
    "CitizenSkipped",
    "ContactEnded",
    "EndReason",
    "Event",
    "Floor",
    "FloorRules",
    "OfferWithdrawn",
    "Offered",
    "PauseAfterCallChanged",
    "QueueChanged",
    "ReadinessCheck",
    "Routing",
    "Skills",
    "StaffingChanged",
    "Transferred",
    "Waiting",
    "WrapupTimedOut",
]


@dataclass
class Floor:
    rules: FloorRules = field(default_factory=FloorRules)
    waiting: list[Waiting] = field(default_factory=list)
    agents: dict[str, Agent] = field(default_factory=dict)
    calls: dict[str, Call] = field(default_factory=dict)
    # Contacts answered per executive on one local day, for the fewest_contacts strategy;
    # kept across logouts so logging out and in does not reset the count.
    answered: dict[str, tuple[datetime.date, int]] = field(default_factory=dict)
    last_offered: str = ""  # the round_robin cursor

    # ------------------------------------------------------------ queries

    def waiting_in(self, service: str) -> list[Waiting]:
        return [entry for entry in self.waiting if entry.service == service]

    def find_waiting(self, citizen_id: str) -> Waiting | None:
        return next((entry for entry in self.waiting if entry.citizen_id == citizen_id), None)

    def position(self, citizen_id: str) -> int | None:
        """1-based place in the citizen's own service line, or None when not waiting."""
        entry = self.find_waiting(citizen_id)
        if entry is None:
            return None
        return place_in_line(self.waiting_in(entry.service), entry.joined_at, entry.contact_id)

    def call_of_citizen(self, citizen_id: str) -> Call | None:
        return next((call for call in self.calls.values() if call.citizen_id == citizen_id), None)

    def call_of_agent(self, agent_id: str) -> Call | None:
        return next((call for call in self.calls.values() if call.agent_id == agent_id), None)

    def staffed(self, service: str | None = None) -> int:
        """Executives logged in (any state but offline) serving ``service``, for wait estimates."""
        return sum(
            1
            for agent in self.agents.values()
            if agent.state is not AgentState.OFFLINE and (service is None or agent.serves(service))
        )

    def answered_today(self, agent_id: str, now: float) -> int:
        day, count = self.answered.get(agent_id, (None, 0))
        return count if day == self._day(now) else 0

    def _day(self, now: float) -> datetime.date:
        return datetime.datetime.fromtimestamp(now, ZoneInfo(self.rules.timezone)).date()

    # ------------------------------------------------------------ citizens

    def join(self, entry: Waiting, now: float) -> list[Event]:
        if self.find_waiting(entry.citizen_id) or self.call_of_citizen(entry.citizen_id):
            raise AlreadyQueued("Ya estás en la fila o en una atención")
        bisect.insort(self.waiting, entry, key=_order)
        return [QueueChanged(entry.service), *self._dispatch(now)]

    def leave(self, citizen_id: str, now: float) -> list[Event]:
        """The citizen chose to leave, while waiting or while being offered."""
        return self._citizen_out(citizen_id, EndReason.CITIZEN_LEFT, now, strict=True)

    def citizen_gone(self, citizen_id: str, now: float) -> list[Event]:
        """The citizen's page is gone for good: any wait, offer or call ends as dropped."""
        return self._citizen_out(citizen_id, EndReason.CITIZEN_DROPPED, now, strict=False)

    def citizen_away(self, citizen_id: str, now: float) -> list[Event]:
        """The citizen's page vanished (reload, network, phone locked): keep the place for now.

        A pending offer is withdrawn, since nobody is there to answer it; the
        citizen stays at the same place, marked absent, and is skipped by
        dispatch until back. A call in progress is held: the executive is told
        and waits for the citizen's page to come back.
        """
        entry = self.find_waiting(citizen_id)
        if entry is not None:
            if entry.absent_since is None:
                self._replace_waiting(replace(entry, absent_since=now))
            return []
        call = self.call_of_citizen(citizen_id)
        if call is None:
            return []
        if call.answered_at is not None:
            if call.citizen_absent_since is not None:
                return []
            held = replace(call, citizen_absent_since=now)
            self.calls[call.contact_id] = held
            return [CallInterrupted(held, "citizen")]
        del self.calls[call.contact_id]
        bisect.insort(self.waiting, replace(call.waiting, absent_since=now), key=_order)
        events: list[Event] = [OfferWithdrawn(call, EndReason.CITIZEN_DROPPED.value, requeued=True)]
        events += self._move(call.agent_id, AgentState.AVAILABLE, now)
        return [*events, QueueChanged(call.waiting.service), *self._dispatch(now)]

    def citizen_ready(self, citizen_id: str, contact_id: str, now: float) -> list[Event]:
        """The citizen's page confirmed it is there: the executive is offered the call now.

        From a citizen skipped earlier it means "I am here": present again, same place.
        A repeated or late confirmation changes nothing.
        """
        call = self.call_of_citizen(citizen_id)
        if call is not None and call.contact_id == contact_id and not call.ready:
            offered = replace(call, ready=True, offered_at=now)
            self.calls[contact_id] = offered
            return [Offered(offered)]
        entry = self.find_waiting(citizen_id)
        if entry is not None and entry.contact_id == contact_id:
            return self.citizen_back(citizen_id, now)
        return []

    def citizen_back(self, citizen_id: str, now: float) -> list[Event]:
        """The citizen opened the page again within the grace: present again, same place or call."""
        call = self.call_of_citizen(citizen_id)
        if call is not None and call.citizen_absent_since is not None:
            # A page that comes back starts with its video on; it says so if it goes audio only.
            resumed = replace(call, citizen_absent_since=None, audio_only=False)
            self.calls[call.contact_id] = resumed
            return [CallResumed(resumed, "citizen")]
        entry = self.find_waiting(citizen_id)
        if entry is None or entry.absent_since is None:
            return []
        self._replace_waiting(replace(entry, absent_since=None))
        return self._dispatch(now)

    def _replace_waiting(self, entry: Waiting) -> None:
        index = next(
            i for i, other in enumerate(self.waiting) if other.contact_id == entry.contact_id
        )
        self.waiting[index] = entry

    def _citizen_out(
        self, citizen_id: str, reason: EndReason, now: float, *, strict: bool
    ) -> list[Event]:
        entry = self.find_waiting(citizen_id)
        if entry is not None:
            self.waiting.remove(entry)
            return [QueueChanged(entry.service), ContactEnded(entry, reason, "citizen", None, now)]
        call = self.call_of_citizen(citizen_id)
        if call is not None and call.answered_at is None:
            del self.calls[call.contact_id]
            events: list[Event] = [OfferWithdrawn(call, reason.value, requeued=False)]
            events += self._move(call.agent_id, AgentState.AVAILABLE, now)
            events.append(ContactEnded(call.waiting, reason, "citizen", call.agent_id, now))
            return events + self._dispatch(now)
        if call is not None and not strict:
            return self._end_call(call, EndReason.CITIZEN_DROPPED, "citizen", now)
        if call is not None:
            raise InvalidState("Ya estás en una atención: usa colgar para terminarla")
        if strict:
            raise NotQueued("No estás en la fila")
        return []

    # ------------------------------------------------------------ executives

    def agent_available(
        self,
        agent_id: str,
        name: str,
        now: float,
        skills: tuple[tuple[str, ...], ...] | None = None,
    ) -> list[Event]:
        # From an offer it would leave the offer behind and make a second one.
        # Coming back by hand ends a streak of missed offers.
        self._agent(agent_id, name, now, skills, AgentState.AVAILABLE, "answer it first", missed=0)
        return self._move(agent_id, AgentState.AVAILABLE, now) + self._dispatch(now)

    def agent_not_ready(
        self,
        agent_id: str,
        name: str,
        now: float,
        reason: str | None = None,
        skills: tuple[tuple[str, ...], ...] | None = None,
    ) -> list[Event]:
        self._agent(agent_id, name, now, skills, AgentState.NOT_READY, "decline the offer instead")
        return self._move(agent_id, AgentState.NOT_READY, now, pause_reason=reason)

    def pause_after_call(
        self, agent_id: str, pending: bool, reason: str | None, now: float
    ) -> list[Event]:
        """Ask for (or stop asking for) a pause once the current contact and its wrap-up end."""
        agent = self.agents.get(agent_id)
        state = AgentState.OFFLINE if agent is None else agent.state
        if agent is None or agent.state not in WITH_CONTACT:
            raise InvalidState(
                f'Cannot pause after the call in state "{state}": there is no call to wait for'
            )
        asked = replace(
            agent, pause_after_call=pending, pause_after_reason=reason if pending else None
        )
        if asked == agent:
            return []
        self.agents[agent_id] = asked
        return [PauseAfterCallChanged(asked)]

    def _agent(
        self,
        agent_id: str,
        name: str,
        now: float,
        skills: tuple[tuple[str, ...], ...] | None,
        state: AgentState,
        offered_hint: str,
        missed: int | None = None,
    ) -> Agent:
        """The executive, created offline on first sight; ``skills`` or ``missed`` None keeps the current.

        Refused before anything changes when the executive cannot go to ``state``.
        """
        agent = self.agents.get(agent_id) or Agent(agent_id, name, AgentState.OFFLINE, now)
        if agent.state is AgentState.OFFERED:
            raise InvalidState(f'Cannot go from "offered" to "{state}": {offered_hint}')
        _guard(agent, state)
        skills = agent.skills if skills is None else skills
        missed = agent.missed if missed is None else missed
        # Most often nothing of it changes: no copy then (each step runs on the hot path).
        if (agent.name, agent.skills, agent.missed) != (name, skills, missed):
            agent = replace(agent, name=name, skills=skills, missed=missed)
        self.agents[agent_id] = agent
        return agent

    def decline(self, agent_id: str, contact_id: str, reason: str, now: float) -> list[Event]:
        """The executive turns the offer down: the citizen keeps the head of the line."""
        call = self._offer_for(agent_id, contact_id)
        return self._withdraw(call, DECLINED, now, detail=reason) + self._dispatch(now)

    def _offer_for(self, agent_id: str, contact_id: str) -> Call:
        call = self.calls.get(contact_id)
        if (
            call is None
            or call.agent_id != agent_id
            or call.answered_at is not None
            or not call.ready
        ):
            raise NoOffer("No hay una atención ofrecida con ese identificador")
        return call

    def _withdraw(self, call: Call, cause: str, now: float, detail: str = "") -> list[Event]:
        """Put an unanswered offer's citizen back in place and pause the executive."""
        del self.calls[call.contact_id]
        bisect.insort(self.waiting, call.waiting, key=_order)
        agent = self.agents[call.agent_id]
        if cause == NO_ANSWER:
            self.agents[call.agent_id] = replace(agent, missed=agent.missed + 1)
        events: list[Event] = [OfferWithdrawn(call, cause, requeued=True, detail=detail)]
        events += self._move(call.agent_id, AgentState.NOT_READY, now, pause_reason=cause)
        return [*events, QueueChanged(call.waiting.service)]

    def _skip(self, call: Call, now: float) -> list[Event]:
        """The citizen's page never confirmed: keep the place as absent; the executive is not at fault."""
        del self.calls[call.contact_id]
        absent = replace(call.waiting, absent_since=now)
        bisect.insort(self.waiting, absent, key=_order)
        events: list[Event] = [
            OfferWithdrawn(call, NOT_READY, requeued=True),
            CitizenSkipped(absent),
        ]
        events += self._move(call.agent_id, AgentState.AVAILABLE, now)
        return [*events, QueueChanged(call.waiting.service)]

    def tick(self, now: float) -> list[Event]:
        """Everything that happens because time passed: offers, pauses, wrap-ups, absences, wait limits."""
        rules = self.rules
        events: list[Event] = []
        for call in [c for c in self.calls.values() if c.answered_at is None]:
            if not call.ready and now - call.offered_at >= rules.readiness:
                events += self._skip(call, now)
            elif call.ready and now - call.offered_at >= rules.offer_timeout:
                events += self._withdraw(call, NO_ANSWER, now)
        for agent in list(self.agents.values()):
            idle = now - agent.since
            if (
                agent.state is AgentState.NOT_READY
                and agent.pause_reason == NO_ANSWER
                and agent.missed < rules.max_missed
                and idle >= rules.missed_cooldown
            ):
                # One miss may be a moment away; only repeated misses need the person back.
                events += self._move(agent.agent_id, AgentState.AVAILABLE, now)
            elif agent.state is AgentState.WRAP_UP and idle >= rules.wrapup and agent.contact_id:
                events.append(WrapupTimedOut(agent.agent_id, agent.contact_id, now))
                events += self._move(agent.agent_id, AgentState.AVAILABLE, now)
        for call in list(self.calls.values()):
            if (
                call.citizen_absent_since is not None
                and now - call.citizen_absent_since >= rules.grace
            ):
                events += self._end_call(call, EndReason.CITIZEN_DROPPED, "citizen", now)
            elif (
                call.agent_absent_since is not None and now - call.agent_absent_since >= rules.grace
            ):
                events += self.agent_gone(call.agent_id, now)
        for entry in list(self.waiting):
            limit = rules.wait_limit(entry.service)
            if entry.absent_since is not None and now - entry.absent_since >= rules.grace:
                events += self._citizen_out(
                    entry.citizen_id, EndReason.CITIZEN_DROPPED, now, strict=False
                )
            elif limit is not None and now - entry.in_line_since >= limit:
                # Only people still in line: one being connected to an executive is not cut off.
                self.waiting.remove(entry)
                events += [
                    QueueChanged(entry.service),
                    ContactEnded(entry, EndReason.WAIT_LIMIT, "system", None, now),
                ]
        return events + self._dispatch(now)

    def accept(self, agent_id: str, contact_id: str, now: float) -> list[Event]:
        started = replace(self._offer_for(agent_id, contact_id), answered_at=now)
        self.calls[contact_id] = started
        self.agents[agent_id] = replace(self.agents[agent_id], missed=0)
        self.answered[agent_id] = (self._day(now), self.answered_today(agent_id, now) + 1)
        return [*self._move(agent_id, AgentState.IN_CALL, now, contact_id), CallStarted(started)]

    def agent_away(self, agent_id: str, now: float) -> list[Event]:
        """The executive's page vanished: a call in progress is held for the grace, else gone."""
        call = self.call_of_agent(agent_id)
        if call is None or call.answered_at is None:
            return self.agent_gone(agent_id, now)
        if call.agent_absent_since is not None:
            return []
        held = replace(call, agent_absent_since=now)
        self.calls[call.contact_id] = held
        return [CallInterrupted(held, "executive")]

    def agent_back(self, agent_id: str, now: float) -> list[Event]:
        call = self.call_of_agent(agent_id)
        if call is None or call.agent_absent_since is None:
            return []
        resumed = replace(call, agent_absent_since=None)
        self.calls[call.contact_id] = resumed
        return [CallResumed(resumed, "executive")]

    def agent_gone(self, agent_id: str, now: float) -> list[Event]:
        """The executive's page is gone: an offer goes back to the head of the line."""
        if agent_id not in self.agents:
            return []
        call = self.call_of_agent(agent_id)
        events: list[Event] = []
        if call is not None and call.answered_at is None:
            del self.calls[call.contact_id]
            bisect.insort(self.waiting, call.waiting, key=_order)
            events += [
                OfferWithdrawn(call, "executive_gone", requeued=True),
                QueueChanged(call.waiting.service),
            ]
        elif call is not None:
            events += self._end_call(call, EndReason.EXECUTIVE_DROPPED, "executive", now)
        events += self._move(agent_id, AgentState.OFFLINE, now)
        del self.agents[agent_id]
        return events + self._dispatch(now)

    def wrapup_done(
        self, agent_id: str, contact_id: str, then: AgentState, now: float
    ) -> list[Event]:
        agent = self.agents.get(agent_id)
        if agent is None or agent.state is not AgentState.WRAP_UP or agent.contact_id != contact_id:
            # The executive may have reconnected since the call; the record still takes the wrap-up.
            return []
        if then not in (AgentState.AVAILABLE, AgentState.NOT_READY):
            raise InvalidState(f'Cannot go to "{then}" after wrap-up')
        return self._move(agent_id, then, now) + self._dispatch(now)

    # ------------------------------------------------------------ after the live state was lost

    def restore_call(self, call: Call, side: str, skills: Skills | None, now: float) -> list[Event]:
        """Put back an answered call the floor lost (Redis restarted empty), from one side's ticket.

        The first side to present its call ticket restores the call with the other
        side absent, so the grace period ends it as dropped if that page never comes
        back; the other side's ticket must then name the very same call. The
        executive is in the call again, so nobody else is offered to them.
        """
        if call.answered_at is None or side not in ("citizen", "executive"):
            raise ValueError(
                f"only an answered call is restored, by citizen or executive: {call!r}"
            )
        held = self.calls.get(call.contact_id)
        if held is not None:
            if (held.citizen_id, held.agent_id, held.answered_at, held.waiting.service) != (
                call.citizen_id,
                call.agent_id,
                call.answered_at,
                call.waiting.service,
            ):
                raise BadTicket("El comprobante de la atención no es válido")
            back = self.citizen_back if side == "citizen" else self.agent_back
            return back(call.citizen_id if side == "citizen" else call.agent_id, now)
        if self.find_waiting(call.citizen_id) or self.call_of_citizen(call.citizen_id):
            raise AlreadyQueued("Ya estás en la fila o en una atención")
        events = self._clear_for_restore(call.agent_id, call.contact_id, now)
        citizen_here = side == "citizen"
        self.calls[call.contact_id] = replace(
            call,
            ready=True,
            citizen_absent_since=None if citizen_here else now,
            agent_absent_since=now if citizen_here else None,
        )
        return events + self._restore_agent(
            call.agent_id,
            call.agent_name,
            AgentState.IN_CALL,
            call.answered_at,
            call.contact_id,
            skills,
        )

    def restore_wrapup(
        self,
        agent_id: str,
        name: str,
        contact_id: str,
        ended_at: float,
        skills: Skills | None,
        now: float,
    ) -> list[Event]:
        """Put an executive back in the wrap-up of a call that ended before the live state was lost.

        The wrap-up time counts from the call's real end, so a restart neither
        lengthens nor shortens it; ``tick`` records the default outcome when it runs out.
        """
        agent = self.agents.get(agent_id)
        if (
            agent is not None
            and agent.state is AgentState.WRAP_UP
            and agent.contact_id == contact_id
        ):
            return []
        events = self._clear_for_restore(agent_id, contact_id, now)
        return events + self._restore_agent(
            agent_id, name, AgentState.WRAP_UP, ended_at, contact_id, skills
        )

    def _clear_for_restore(self, agent_id: str, contact_id: str, now: float) -> list[Event]:
        """Make room for a restored contact: an offer made meanwhile goes back to the head of the line."""
        agent = self.agents.get(agent_id)
        if agent is None or agent.state in (AgentState.AVAILABLE, AgentState.NOT_READY):
            return []
        other = self.call_of_agent(agent_id)
        if agent.state is AgentState.OFFERED and other is not None and other.answered_at is None:
            del self.calls[other.contact_id]
            bisect.insort(self.waiting, other.waiting, key=_order)
            return [
                OfferWithdrawn(other, "contact_restored", requeued=True),
                QueueChanged(other.waiting.service),
            ]
        raise InvalidState(
            f'Cannot restore contact {contact_id} for an executive in state "{agent.state}"'
        )

    def _restore_agent(
        self,
        agent_id: str,
        name: str,
        state: AgentState,
        since: float,
        contact_id: str,
        skills: Skills | None,
    ) -> list[Event]:
        # Not a transition anyone made (the guard would refuse "not_ready" → "in_call"):
        # the state the executive was already in before the live state was lost.
        agent = self.agents.get(agent_id)
        kept = agent.skills if agent is not None else ()
        restored = Agent(
            agent_id, name, state, since, contact_id, skills=kept if skills is None else skills
        )
        self.agents[agent_id] = restored
        if agent is None:
            return [AgentChanged(restored), StaffingChanged(restored)]
        return [AgentChanged(restored)]

    # ------------------------------------------------------------ both

    def audio_only(self, citizen_id: str, contact_id: str, audio_only: bool) -> list[Event]:
        """The citizen's page turned its video off (or back on) in their call in progress."""
        call = self.calls.get(contact_id)
        if call is None or call.answered_at is None or call.citizen_id != citizen_id:
            raise NotInCall("No estás en una atención con ese identificador")
        self.calls[contact_id] = replace(call, audio_only=audio_only)
        return []

    def hangup(self, user_id: str, contact_id: str, now: float) -> list[Event]:
        call = self.calls.get(contact_id)
        if (
            call is None
            or call.answered_at is None
            or user_id not in (call.citizen_id, call.agent_id)
        ):
            raise NotInCall("No estás en una atención con ese identificador")
        by = "citizen" if user_id == call.citizen_id else "executive"
        return self._end_call(call, EndReason.COMPLETED, by, now)

    def transfer(self, agent_id: str, contact_id: str, to: Waiting, now: float) -> list[Event]:
        """End the executive's call and put the citizen in ``to.service`` with the same priority.

        ``to`` is the new contact; its ``joined_at`` must be the first contact's,
        so the citizen is not sent to the back of another line.
        """
        call = self.calls.get(contact_id)
        if call is None or call.answered_at is None or call.agent_id != agent_id:
            raise NotInCall("No estás en una atención con ese identificador")
        if to.citizen_id != call.citizen_id or to.joined_at != call.waiting.joined_at:
            raise ValueError("a transfer keeps the citizen and the first join time")
        if to.service == call.waiting.service:
            raise InvalidState("La atención ya está en ese servicio")
        events = self._end_call(call, EndReason.TRANSFERRED, "executive", now)
        # The hard maximum wait of the new line counts from now, not from the first
        # join: the time spent talking was not waiting, and counting it would end at
        # once a contact an executive just chose to send on. The first join time
        # stays the priority, so the new wait is short anyway.
        to = replace(to, queued_at=now)
        bisect.insort(self.waiting, to, key=_order)
        return [*events, Transferred(call, to), QueueChanged(to.service), *self._dispatch(now)]

    def close_queue(self, service: str, now: float) -> list[Event]:
        """The service's cut-off after closing: whoever still waits is told and let go."""
        events: list[Event] = []
        for entry in self.waiting_in(service):
            self.waiting.remove(entry)
            events.append(ContactEnded(entry, EndReason.CLOSED, "system", None, now))
        return [QueueChanged(service), *events] if events else []

    def _end_call(self, call: Call, reason: EndReason, by: str, now: float) -> list[Event]:
        del self.calls[call.contact_id]
        events: list[Event] = [
            ContactEnded(call.waiting, reason, by, call.agent_id, now, in_call=True)
        ]
        agent = self.agents.get(call.agent_id)
        if agent is None or reason is EndReason.EXECUTIVE_DROPPED:
            return events
        if call.agent_absent_since is not None:
            # Nobody is at the desk to wrap up: record the default and let the executive go.
            events.append(WrapupTimedOut(call.agent_id, call.contact_id, now))
            events += self._move(call.agent_id, AgentState.OFFLINE, now)
            del self.agents[call.agent_id]
            return events
        events += self._move(call.agent_id, AgentState.WRAP_UP, now, call.contact_id)
        return events

    def _move(
        self,
        agent_id: str,
        state: AgentState,
        now: float,
        contact_id: str | None = None,
        pause_reason: str | None = None,
    ) -> list[Event]:
        """Every executive state change, through ``_guard``."""
        agent = self.agents[agent_id]
        if (
            agent.state is AgentState.WRAP_UP
            and agent.pause_after_call
            and state in (AgentState.AVAILABLE, AgentState.NOT_READY)
        ):
            # However the wrap-up ends (submitted, timed out, skipped), the pause asked for
            # during the contact comes first: no citizen is offered in between.
            state, pause_reason = AgentState.NOT_READY, pause_reason or agent.pause_after_reason
        if (
            agent.state is state
            and agent.contact_id == contact_id
            and agent.pause_reason == pause_reason
        ):
            return []
        _guard(agent, state)
        moved = agent.moved(state, now, contact_id, pause_reason)
        self.agents[agent_id] = moved
        if AgentState.OFFLINE in (agent.state, state) and agent.state is not state:
            return [AgentChanged(moved), StaffingChanged(moved)]
        return [AgentChanged(moved)]

    def _dispatch(self, now: float) -> list[Event]:
        """Offer waiting citizens to available executives until no pair fits.

        The executives take turns in the order the routing strategy gives; each
        takes the longest-waiting present citizen of their first skill tier
        that has one.
        """
        events: list[Event] = []
        checking = self.rules.readiness > 0
        while True:
            free = [agent for agent in self.agents.values() if agent.state is AgentState.AVAILABLE]
            if len(free) > 1:
                free.sort(key=self._turn_key(now))
            for agent in free:
                entry = self._next_for(agent)
                if entry is not None:
                    break
            else:
                return events
            self.waiting.remove(entry)
            call = Call(entry, agent.agent_id, agent.name, offered_at=now, ready=not checking)
            self.calls[entry.contact_id] = call
            self.last_offered = agent.agent_id
            events += self._move(agent.agent_id, AgentState.OFFERED, now, entry.contact_id)
            events.append(ReadinessCheck(call) if checking else Offered(call))
            events.append(QueueChanged(entry.service))

    def _turn_key(self, now: float) -> Callable[[Agent], tuple[Any, ...]]:
        match self.rules.routing:
            case Routing.FEWEST_CONTACTS:
                return lambda agent: (
                    self.answered_today(agent.agent_id, now),
                    agent.since,
                    agent.agent_id,
                )
            case Routing.ROUND_ROBIN:
                # Those after the last one offered come first, then the rest from the start.
                last = self.last_offered
                return lambda agent: (agent.agent_id <= last, agent.agent_id)
            case _:
                return lambda agent: (agent.since, agent.agent_id)

    def _next_for(self, agent: Agent) -> Waiting | None:
        # Absent citizens keep their place but cannot answer an offer.
        if not agent.skills:
            return next((e for e in self.waiting if e.absent_since is None), None)
        for tier in agent.skills:
            entry = next(
                (e for e in self.waiting if e.absent_since is None and e.service in tier), None
            )
            if entry is not None:
                return entry
        return None


def _guard(agent: Agent, state: AgentState) -> None:
    """The one guard every executive state change passes."""
    if agent.state is not state and state not in ALLOWED[agent.state]:
        raise InvalidState(f'Cannot go from "{agent.state}" to "{state}"')


def place_in_line(line: Iterable[Waiting], joined_at: float, contact_id: str) -> int:
    """1-based place a contact with this priority takes (or has) among ``line``."""
    return 1 + sum(1 for other in line if _order(other) < (joined_at, contact_id))


def _order(entry: Waiting) -> tuple[float, str]:
    # The contact id breaks ties between identical join times deterministically.
    return (entry.joined_at, entry.contact_id)
