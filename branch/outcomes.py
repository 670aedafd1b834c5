"""Events of the live floor turned into what pages are told and what the records keep.

The floor's steps return events for what already happened; ``Outcomes.apply``
tells each person's pages, writes the contact records and the audit trail, and
lets the positions, service statuses and wallboard know their lines changed.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Coroutine
from typing import Any

from branch import schema
from branch.config import Settings
from branch.core.floor import (
    AgentChanged,
    Call,
    CallInterrupted,
    CallResumed,
    CallStarted,
    CitizenSkipped,
    ContactEnded,
    Event,
    Offered,
    OfferWithdrawn,
    PauseAfterCallChanged,
    QueueChanged,
    ReadinessCheck,
    StaffingChanged,
    Transferred,
    WrapupTimedOut,
)
from branch.delivery.base import Delivery
from branch.errors import InvalidState, RecordsUnavailable
from branch.fields import MessageFields, agent_state_fields
from branch.lines import LineNews
from branch.live.base import LiveStore
from branch.metrics import Metrics
from branch.people import CITIZEN, EXECUTIVE, citizen_key, executive_key
from branch.positions import PositionPusher
from branch.records.base import Entry, RecordStore, audit_event
from branch.status import ServiceBoard
from branch.supervision import Supervision

log = logging.getLogger(__name__)

# Events whose pages are told before their records are written (see ``apply``);
# the others that write records do it before telling anyone, since what they tell
# comes from the record (a receipt, a saved wrap-up) or is rare.
TOLD_BEFORE_RECORDED = (AgentChanged, Offered, CallStarted)
UNRECORDED = (QueueChanged, StaffingChanged, ReadinessCheck, PauseAfterCallChanged)


class Outcomes:
    def __init__(
        self,
        settings: Settings,
        live: LiveStore,
        records: RecordStore,
        hub: Delivery,
        clock: Callable[[], float],
        metrics: Metrics,
        *,
        fields: MessageFields,
        lines: LineNews,
        positions: PositionPusher,
        board: ServiceBoard,
        supervision: Supervision,
    ) -> None:
        self.settings = settings
        self.live = live
        self.records = records
        self.hub = hub
        self.clock = clock
        self.metrics = metrics
        self.fields = fields
        self.lines = lines
        self.positions = positions
        self.board = board
        self.supervision = supervision

    async def apply(self, events: list[Event]) -> None:
        """Tell pages and records of what the live floor already did, one event after another.

        The floor's state is already committed, so an offer, a call starting or an
        executive's new state is told first and written down right after: a person
        does not wait on the record's durable commit. The records still follow the
        order of the events (those told first are written before any later event's),
        and an event that fails (records away, a bug) must not keep the others from
        going out or being written; the first error is raised at the end.
        """
        changed_services: set[str] = set()
        errors: list[Exception] = []
        unrecorded: list[Event] = []  # told already, written next
        # The console is told the state a step left its executive in, once: becoming
        # available and being offered a citizen in one step is one `agent.state`
        # (offered), not two frames. Every change is still recorded.
        final = {e.agent.agent_id: e for e in events if isinstance(e, AgentChanged)}
        # An executive offered a citizen in this step is told that state right after
        # the offer (see ``_tell``), not ahead of it.
        offered = {e.call.agent_id for e in events if isinstance(e, Offered)}
        for event in events:
            if isinstance(event, TOLD_BEFORE_RECORDED):
                match event:
                    case AgentChanged(agent=agent):
                        if final[agent.agent_id] is event and agent.agent_id not in offered:
                            await self._attempt(event, self._tell_state(event), errors)
                    case Offered(call=call):
                        state = final.get(call.agent_id)
                        await self._attempt(event, self._tell_offer(call, state), errors)
                    case _:
                        await self._attempt(event, self._tell(event), errors)
                unrecorded.append(event)
                continue
            if not isinstance(event, UNRECORDED):
                await self._record_all(unrecorded, errors)
            await self._attempt(event, self._apply_one(event, changed_services), errors)
        await self._record_all(unrecorded, errors)
        for service in changed_services:
            await self.positions.changed(service)
        if changed_services:
            await self.board.push(self.clock(), events)
        if events:
            self.supervision.changed()
        if errors:
            raise errors[0]

    async def _attempt(
        self, event: Event, step: Coroutine[Any, Any, None], errors: list[Exception]
    ) -> None:
        try:
            await step
        except Exception as error:
            log.warning("applying %s failed: %r", type(event).__name__, error)
            errors.append(error)

    async def _record_all(self, events: list[Event], errors: list[Exception]) -> None:
        for event in events:
            await self._attempt(event, self._record(event), errors)
        events.clear()

    async def _tell_state(self, event: AgentChanged) -> None:
        agent = event.agent
        await self.hub.send(
            executive_key(agent.agent_id),
            schema.message("agent.state", **agent_state_fields(agent)),
        )

    async def _tell_offer(self, call: Call, state: AgentChanged | None) -> None:
        """Both sides of an offer, then the executive's state (``state``, when it changed).

        The two people paired wait for the offer alone, each frame ahead of it costing
        them a send; the console shows the offer once the state says "offered", so the
        state may follow it.
        """
        executive = executive_key(call.agent_id)
        try:
            await self.hub.send(
                citizen_key(call.citizen_id),
                schema.message("queue.offered", contactId=call.contact_id, readySeconds=0),
            )
            await self.hub.send(executive, schema.message("offer", **await self.fields.offer(call)))
        finally:
            # Told even when the offer could not be: the console must not show a stale state.
            if state is not None:
                await self._tell_state(state)
        # The history follows: reading it is audited first (a durable write), which
        # neither the offer nor the state need wait for.
        history = await self.fields.history(call.waiting, call)
        await self.hub.send(
            executive,
            schema.message("offer.history", contactId=call.contact_id, history=history),
        )

    async def _tell(self, event: Event) -> None:
        """The pages' part of a CallStarted (the other TOLD_BEFORE_RECORDED events: above)."""
        match event:
            case CallStarted(call=call):
                # Counted as it is told, so /metrics agrees with what the pages show
                # rather than with how far the records have got.
                answered_at = call.answered_at or call.offered_at
                self.metrics.wait_seconds.labels(call.waiting.service).observe(
                    answered_at - call.waiting.joined_at
                )
                await self.hub.send(
                    executive_key(call.agent_id),
                    schema.message(
                        "call.started", **self.fields.call(call, EXECUTIVE, self.clock())
                    ),
                )
                await self.hub.send(
                    citizen_key(call.citizen_id),
                    schema.message("call.started", **self.fields.call(call, CITIZEN, self.clock())),
                )

    async def _record(self, event: Event) -> None:
        """The records' part of an event in TOLD_BEFORE_RECORDED."""
        match event:
            case AgentChanged(agent=agent):
                await self.records.agent_state_changed(
                    agent.agent_id,
                    agent.name,
                    agent.state.value,
                    agent.pause_reason,
                    agent.contact_id,
                    agent.since,
                )
            case Offered(call=call):
                await self.records.contact_offered(
                    call.contact_id,
                    call.agent_id,
                    call.agent_name,
                    call.offered_at,
                    entry=Entry("contact.offered", "system", {"executive": call.agent_id}),
                )
            case CallStarted(call=call):
                # The offer's own write may still be on its way (it follows the offer,
                # maybe on another node): the answer names its executive itself, so a
                # wrap-up right after finds the contact theirs. Same values, so
                # whichever lands last changes nothing.
                await self.records.contact_offered(
                    call.contact_id, call.agent_id, call.agent_name, call.offered_at
                )
                answered_at = call.answered_at or call.offered_at
                await self.records.contact_answered(
                    call.contact_id,
                    answered_at,
                    entry=Entry("contact.answered", executive_key(call.agent_id)),
                )

    async def _apply_one(self, event: Event, changed_services: set[str]) -> None:
        match event:
            case QueueChanged(service=service):
                changed_services.add(service)
            case StaffingChanged(agent=agent):
                # Estimates count the executives of each service.
                changed_services.update(
                    queue.code for queue in self.settings.queues if agent.serves(queue.code)
                )
            case PauseAfterCallChanged(agent=agent):
                # Not a state change (nothing for the records): the console shows the request.
                await self.hub.send(
                    executive_key(agent.agent_id),
                    schema.message("agent.state", **agent_state_fields(agent)),
                )
            case ReadinessCheck(call=call):
                # The page answers with queue.ready once its camera/microphone are live.
                await self.hub.send(
                    citizen_key(call.citizen_id),
                    schema.message(
                        "queue.offered",
                        contactId=call.contact_id,
                        readySeconds=self.settings.service_readiness_seconds,
                    ),
                )
            case CitizenSkipped(waiting=entry):
                await audit_event(
                    self.records,
                    "contact.skipped",
                    "system",
                    entry.contact_id,
                    entry.absent_since or 0.0,
                )
                await self.hub.send(
                    citizen_key(entry.citizen_id),
                    schema.message(
                        "queue.skipped",
                        contactId=entry.contact_id,
                        graceSeconds=self.settings.service_grace_seconds,
                    ),
                )
            case OfferWithdrawn(call=call, cause=cause):
                await audit_event(
                    self.records,
                    "contact.offer_withdrawn",
                    "system",
                    call.contact_id,
                    self.clock(),
                    executive=call.agent_id,
                    cause=cause,
                    detail=event.detail,
                )
                await self.hub.send(
                    executive_key(call.agent_id),
                    schema.message("offer.cancelled", contactId=call.contact_id, reason=cause),
                )
            case WrapupTimedOut():
                await self._wrapup_timed_out(event)
            case ContactEnded():
                await self._contact_ended(event)
            case CallInterrupted(call=call, who=who) | CallResumed(call=call, who=who):
                await audit_event(
                    self.records,
                    "contact.interrupted"
                    if isinstance(event, CallInterrupted)
                    else "contact.reconnected",
                    "system",
                    call.contact_id,
                    self.clock(),
                    who=who,
                )
                kind = "call.reconnecting" if isinstance(event, CallInterrupted) else "call.resumed"
                other = (
                    executive_key(call.agent_id) if who == CITIZEN else citizen_key(call.citizen_id)
                )
                await self.hub.send(other, schema.message(kind, contactId=call.contact_id, who=who))
            case Transferred(to=entry):
                # Audited by the transfer itself, which knows the estimate the citizen is told.
                await self.lines.send_joined(entry, self.clock())

    async def _wrapup_timed_out(self, event: WrapupTimedOut) -> None:
        try:
            record = await self.records.get(event.contact_id)
        except RecordsUnavailable:
            # The default needs the contact's reason: the record stays without a wrap-up
            # (as when nobody wraps up) and the executive goes on as the floor decided.
            log.warning(
                "records away: the timed-out wrap-up of %s is not recorded", event.contact_id
            )
            return
        if record is None:
            return
        try:
            await self.records.contact_wrapped_up(
                event.contact_id,
                event.agent_id,
                self.settings.service_default_outcome,
                record.reason_code,
                "",
                event.at,
                entry=Entry(
                    "contact.wrapped_up",
                    "system",
                    {
                        "outcome": self.settings.service_default_outcome,
                        "reason": record.reason_code,
                        "timedOut": True,
                    },
                ),
            )
        except InvalidState:
            return  # the executive's own wrap-up got there first
        if record.answered_at is not None:
            await self.live.add_handle_time(record.service, event.at - record.answered_at)
        await self.hub.send(
            executive_key(event.agent_id),
            schema.message("wrapup.saved", contactId=event.contact_id, timedOut=True),
        )

    async def _contact_ended(self, event: ContactEnded) -> None:
        contact_id = event.waiting.contact_id
        await self.records.contact_ended(
            contact_id,
            event.reason,
            event.at,
            entry=Entry("contact.ended", "system", {"reason": event.reason.value, "by": event.by}),
        )
        self.metrics.contacts_ended.labels(event.waiting.service, event.reason.value).inc()
        if event.in_call:
            ended = schema.message(
                "call.ended", contactId=contact_id, reason=event.reason.value, by=event.by
            )
            await self.hub.send(
                citizen_key(event.waiting.citizen_id),
                {**ended, "receipt": await self.fields.receipt(contact_id)},
            )
            if event.agent_id:
                await self.hub.send(executive_key(event.agent_id), ended)
        else:
            await self.hub.send(
                citizen_key(event.waiting.citizen_id),
                schema.message("queue.left", contactId=contact_id, reason=event.reason.value),
            )
