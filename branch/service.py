"""The branch service: turns a person's messages into floor steps, records and notices.

No web framework here: the websocket handler parses a frame, calls
``handle`` with the person and the message, and sends whatever error comes
back. Every step of a contact is written to the record store as it happens.
"""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from branch import schema
from branch.config import Settings
from branch.core.estimate import estimate_wait
from branch.core.floor import (
    AgentChanged,
    AgentState,
    Call,
    CallStarted,
    ContactEnded,
    EndReason,
    Event,
    Offered,
    OfferWithdrawn,
    QueueChanged,
    Waiting,
    WrapupTimedOut,
)
from branch.errors import (
    AlreadyQueued,
    BadMessage,
    Forbidden,
    InvalidState,
    NotInCall,
    UnknownOutcome,
    UnknownReason,
)
from branch.hub import Hub
from branch.live.base import LiveStore
from branch.records.base import RecordStore

log = logging.getLogger(__name__)

CITIZEN = "citizen"
EXECUTIVE = "executive"
SUPERVISOR = "supervisor"

# Which role may send which message; anything absent is refused (deny by default).
PERMISSIONS: dict[str, frozenset[str]] = {
    schema.Ping.type: frozenset({CITIZEN, EXECUTIVE, SUPERVISOR}),
    schema.QueueJoin.type: frozenset({CITIZEN}),
    schema.QueueLeave.type: frozenset({CITIZEN}),
    schema.AgentAvailable.type: frozenset({EXECUTIVE}),
    schema.AgentNotReady.type: frozenset({EXECUTIVE}),
    schema.OfferAccept.type: frozenset({EXECUTIVE}),
    schema.OfferDecline.type: frozenset({EXECUTIVE}),
    schema.WrapupSubmit.type: frozenset({EXECUTIVE}),
    schema.SurveySubmit.type: frozenset({CITIZEN}),
    schema.CallHangup.type: frozenset({CITIZEN, EXECUTIVE}),
    schema.SignalDescription.type: frozenset({CITIZEN, EXECUTIVE}),
    schema.SignalCandidate.type: frozenset({CITIZEN, EXECUTIVE}),
}


@dataclass(frozen=True)
class User:
    """A logged-in person as the service sees them."""

    person_id: str  # the formatted RUN: the place in line belongs to the identity
    name: str
    role: str

    @property
    def key(self) -> str:
        return f"{self.role}:{self.person_id}"


def citizen_key(person_id: str) -> str:
    return f"{CITIZEN}:{person_id}"


def executive_key(person_id: str) -> str:
    return f"{EXECUTIVE}:{person_id}"


class BranchService:
    def __init__(
        self,
        settings: Settings,
        live: LiveStore,
        records: RecordStore,
        hub: Hub,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.settings = settings
        self.live = live
        self.records = records
        self.hub = hub
        self.clock = clock

    # ------------------------------------------------------------ connection life

    async def connected(self, user: User) -> dict[str, Any]:
        """The welcome for a page that just opened, with the state to resume."""
        state: dict[str, Any] = {
            "queue": None,
            "call": None,
            "agent": None,
            "offer": None,
            "wrapup": None,
        }
        if user.role == CITIZEN:
            await self._apply(await self.live.citizen_back(user.person_id, self.clock()))
            status = await self.live.citizen_status(user.person_id)
            if status.waiting is not None and status.position is not None:
                state["queue"] = await self._position_fields(
                    status.waiting, status.position, status.waiting_count
                )
            elif status.call is not None and status.call.answered_at is None:
                state["queue"] = {
                    "contactId": status.call.contact_id,
                    "folio": status.call.waiting.folio,
                    "offered": True,
                }
            elif status.call is not None:
                state["call"] = self._call_fields(status.call, CITIZEN)
        elif user.role == EXECUTIVE:
            agent_status = await self.live.agent_status(user.person_id)
            if agent_status.agent is None:
                await self._apply(
                    await self.live.agent_not_ready(user.person_id, user.name, self.clock())
                )
                agent_status = await self.live.agent_status(user.person_id)
            agent, call = agent_status.agent, agent_status.call
            if agent is not None:
                state["agent"] = {
                    "state": agent.state.value,
                    "since": agent.since,
                    "reason": agent.pause_reason,
                }
                if agent.state is AgentState.WRAP_UP and agent.contact_id:
                    state["wrapup"] = await self._wrapup_fields(agent.contact_id)
            if call is not None and call.answered_at is None:
                state["offer"] = self._offer_fields(call)
            elif call is not None:
                state["call"] = self._call_fields(call, EXECUTIVE)
        settings = self.settings
        welcome = schema.message(
            "welcome",
            role=user.role,
            person={"run": user.person_id, "name": user.name},
            serviceName=settings.service_name,
            iceServers=[server.to_wire() for server in settings.webrtc_ice_servers],
            reasons=[entry.to_wire() for entry in settings.service_reasons],
            outcomes=[entry.to_wire() for entry in settings.service_outcomes]
            if user.role != CITIZEN
            else [],
            pauseReasons=[entry.to_wire() for entry in settings.service_pause_reasons]
            if user.role != CITIZEN
            else [],
            declineReasons=[entry.to_wire() for entry in settings.service_decline_reasons]
            if user.role != CITIZEN
            else [],
            limits={
                "reasonText": settings.limits_reason_text,
                "notes": settings.limits_notes,
                "offerSeconds": settings.service_offer_timeout_seconds,
                "wrapupSeconds": settings.service_wrapup_seconds,
            },
            state=state,
        )
        if user.role == EXECUTIVE:
            await self._send_summary([user.key])
        return welcome

    async def disconnected(self, user: User) -> None:
        """The person's page is gone (not replaced by a newer one)."""
        now = self.clock()
        if user.role == CITIZEN:
            # The place belongs to the person, not the page: it waits out the grace period.
            if self.settings.service_grace_seconds > 0:
                await self._apply(await self.live.citizen_away(user.person_id, now))
            else:
                await self._apply(await self.live.citizen_gone(user.person_id, now))
        elif user.role == EXECUTIVE:
            await self._apply(await self.live.agent_gone(user.person_id, now))

    async def tick(self) -> None:
        """Periodic upkeep: end the waits of citizens gone longer than the grace period."""
        await self._apply(await self.live.tick(self.clock()))

    # ------------------------------------------------------------ messages

    async def handle(self, user: User, message: schema.ClientMessage) -> None:
        allowed = PERMISSIONS.get(message.type, frozenset())
        if user.role not in allowed:
            raise Forbidden(f"{message.type} is not allowed for the {user.role} role")
        now = self.clock()
        match message:
            case schema.Ping():
                await self.hub.send(user.key, schema.message("pong"))
            case schema.QueueJoin():
                await self._join(user, message, now)
            case schema.QueueLeave():
                await self._apply(await self.live.leave(user.person_id, now))
            case schema.AgentAvailable():
                await self._apply(await self.live.agent_available(user.person_id, user.name, now))
            case schema.AgentNotReady():
                if message.reason and self.settings.pause_reason(message.reason) is None:
                    raise UnknownReason(
                        f"pause reason {message.reason[:40]!r} is not in the catalog"
                    )
                await self._apply(
                    await self.live.agent_not_ready(
                        user.person_id, user.name, now, message.reason or None
                    )
                )
            case schema.OfferDecline():
                if self.settings.decline_reason(message.reason) is None:
                    raise UnknownReason(
                        f"decline reason {message.reason[:40]!r} is not in the catalog"
                    )
                await self._apply(
                    await self.live.decline(user.person_id, message.contact_id, message.reason, now)
                )
            case schema.OfferAccept():
                await self._apply(await self.live.accept(user.person_id, message.contact_id, now))
            case schema.CallHangup():
                await self._apply(await self.live.hangup(user.person_id, message.contact_id, now))
            case schema.SignalDescription():
                partner = await self._partner(user, message.contact_id)
                await self.hub.send(
                    partner,
                    schema.message(
                        "signal.description",
                        contactId=message.contact_id,
                        description=message.description.to_wire(),
                    ),
                )
            case schema.SignalCandidate():
                partner = await self._partner(user, message.contact_id)
                candidate = message.candidate.to_wire() if message.candidate else None
                await self.hub.send(
                    partner,
                    schema.message(
                        "signal.candidate", contactId=message.contact_id, candidate=candidate
                    ),
                )
            case schema.WrapupSubmit():
                await self._wrapup(user, message, now)
            case schema.SurveySubmit():
                comment = message.comment.strip()
                if len(comment) > self.settings.limits_survey_comment:
                    raise BadMessage(
                        f"survey.submit: comment is longer than {self.settings.limits_survey_comment} characters"
                    )
                await self.records.contact_surveyed(
                    message.contact_id, user.person_id, message.score, comment, now
                )
                await self.hub.send(
                    user.key, schema.message("survey.saved", contactId=message.contact_id)
                )

    async def _join(self, user: User, message: schema.QueueJoin, now: float) -> None:
        settings = self.settings
        if settings.reason(message.reason) is None:
            raise UnknownReason(f"reason {message.reason[:40]!r} is not in the catalog")
        text = message.text.strip()
        if len(text) > settings.limits_reason_text:
            raise BadMessage(
                f"queue.join: text is longer than {settings.limits_reason_text} characters"
            )
        status = await self.live.citizen_status(user.person_id)
        if status.waiting is not None or status.call is not None:
            raise AlreadyQueued("Ya estás en la fila o en una atención")
        contact_id = uuid.uuid4().hex
        folio = await self.records.contact_joined(
            contact_id, settings.service_code, user.person_id, user.name, message.reason, text, now
        )
        entry = Waiting(
            contact_id,
            user.person_id,
            user.name,
            settings.service_code,
            message.reason,
            text,
            folio,
            now,
        )
        try:
            events = await self.live.join(entry, now)
        except AlreadyQueued:
            # Another page of the same person joined in between: close this record honestly.
            await self.records.contact_ended(contact_id, EndReason.CITIZEN_LEFT, now)
            raise
        await self.hub.send(
            user.key,
            schema.message("queue.joined", contactId=contact_id, folio=folio, joinedAt=now),
        )
        await self._apply(events)

    async def _wrapup(self, user: User, message: schema.WrapupSubmit, now: float) -> None:
        settings = self.settings
        if settings.outcome(message.outcome) is None:
            raise UnknownOutcome(f"outcome {message.outcome[:40]!r} is not in the catalog")
        if settings.reason(message.reason) is None:
            raise UnknownReason(f"reason {message.reason[:40]!r} is not in the catalog")
        if len(message.notes) > settings.limits_notes:
            raise BadMessage(
                f"wrapup.submit: notes are longer than {settings.limits_notes} characters"
            )
        if message.then not in (AgentState.AVAILABLE, AgentState.NOT_READY):
            raise BadMessage("wrapup.submit: then must be 'available' or 'not_ready'")
        await self.records.contact_wrapped_up(
            message.contact_id,
            user.person_id,
            message.outcome,
            message.reason,
            message.notes.strip(),
            now,
        )
        record = await self.records.get(message.contact_id)
        if record is not None and record.answered_at is not None:
            await self.live.add_handle_time(record.service, now - record.answered_at)
        await self.hub.send(
            user.key, schema.message("wrapup.saved", contactId=message.contact_id, timedOut=False)
        )
        await self._apply(
            await self.live.wrapup_done(
                user.person_id, message.contact_id, AgentState(message.then), now
            )
        )

    async def _partner(self, user: User, contact_id: str) -> str:
        """The other member of the caller's call, or NotInCall: signaling never goes elsewhere."""
        if user.role == CITIZEN:
            call = (await self.live.citizen_status(user.person_id)).call
            partner = executive_key(call.agent_id) if call else ""
        else:
            call = (await self.live.agent_status(user.person_id)).call
            partner = citizen_key(call.citizen_id) if call else ""
        if call is None or call.contact_id != contact_id or call.answered_at is None:
            raise NotInCall("No estás en una atención con ese identificador")
        return partner

    # ------------------------------------------------------------ events → records and notices

    async def _apply(self, events: list[Event]) -> None:
        changed_services: set[str] = set()
        for event in events:
            match event:
                case QueueChanged(service=service):
                    changed_services.add(service)
                case AgentChanged(agent=agent):
                    await self.records.agent_state_changed(
                        agent.agent_id,
                        agent.name,
                        agent.state.value,
                        agent.pause_reason,
                        agent.contact_id,
                        agent.since,
                    )
                    await self.hub.send(
                        executive_key(agent.agent_id),
                        schema.message(
                            "agent.state",
                            state=agent.state.value,
                            since=agent.since,
                            reason=agent.pause_reason,
                        ),
                    )
                case Offered(call=call):
                    await self.records.contact_offered(
                        call.contact_id, call.agent_id, call.agent_name, call.offered_at
                    )
                    await self.hub.send(
                        executive_key(call.agent_id),
                        schema.message("offer", **self._offer_fields(call)),
                    )
                    await self.hub.send(
                        citizen_key(call.citizen_id),
                        schema.message("queue.offered", contactId=call.contact_id),
                    )
                case OfferWithdrawn(call=call, cause=cause):
                    await self.hub.send(
                        executive_key(call.agent_id),
                        schema.message("offer.cancelled", contactId=call.contact_id, reason=cause),
                    )
                case WrapupTimedOut():
                    await self._wrapup_timed_out(event)
                case CallStarted(call=call):
                    await self.records.contact_answered(
                        call.contact_id, call.answered_at or call.offered_at
                    )
                    await self.hub.send(
                        executive_key(call.agent_id),
                        schema.message("call.started", **self._call_fields(call, EXECUTIVE)),
                    )
                    await self.hub.send(
                        citizen_key(call.citizen_id),
                        schema.message("call.started", **self._call_fields(call, CITIZEN)),
                    )
                case ContactEnded():
                    await self._contact_ended(event)
        for service in changed_services:
            await self._send_positions(service)

    async def _wrapup_timed_out(self, event: WrapupTimedOut) -> None:
        record = await self.records.get(event.contact_id)
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
        await self.records.contact_ended(contact_id, event.reason, event.at)
        if event.in_call:
            ended = schema.message(
                "call.ended", contactId=contact_id, reason=event.reason.value, by=event.by
            )
            await self.hub.send(
                citizen_key(event.waiting.citizen_id),
                {**ended, "receipt": await self._receipt(contact_id)},
            )
            if event.agent_id:
                await self.hub.send(executive_key(event.agent_id), ended)
        else:
            await self.hub.send(
                citizen_key(event.waiting.citizen_id),
                schema.message("queue.left", contactId=contact_id, reason=event.reason.value),
            )

    async def _receipt(self, contact_id: str) -> dict[str, Any] | None:
        """What the citizen keeps of the contact: folio, service, reason, who served them, when."""
        record = await self.records.get(contact_id)
        if record is None:
            return None
        reason = self.settings.reason(record.reason_code)
        return {
            "folio": record.folio,
            "service": self.settings.service_name,
            "reason": reason.label if reason else record.reason_code,
            "executive": record.executive_name,
            "joinedAt": record.joined_at,
            "answeredAt": record.answered_at,
            "endedAt": record.ended_at,
        }

    async def _send_positions(self, service: str) -> None:
        waiting = await self.live.waiting(service)
        for place, entry in enumerate(waiting, start=1):
            fields = await self._position_fields(entry, place, len(waiting))
            await self.hub.send(
                citizen_key(entry.citizen_id), schema.message("queue.position", **fields)
            )
        await self._send_summary(self.hub.keys(f"{EXECUTIVE}:"), waiting)

    async def _send_summary(self, keys: list[str], waiting: list[Waiting] | None = None) -> None:
        if waiting is None:
            waiting = await self.live.waiting(self.settings.service_code)
        oldest = waiting[0].joined_at if waiting else None
        await self.hub.send_many(
            keys, schema.message("queue.summary", waiting=len(waiting), oldestJoinedAt=oldest)
        )

    async def _position_fields(
        self, entry: Waiting, position: int, waiting_count: int
    ) -> dict[str, Any]:
        estimate = estimate_wait(
            position, await self.live.handle_times(entry.service), await self.live.staffed()
        )
        return {
            "contactId": entry.contact_id,
            "folio": entry.folio,
            "position": position,
            "waiting": waiting_count,
            "estimatedWaitSeconds": None if estimate is None else round(estimate),
            "joinedAt": entry.joined_at,
        }

    def _offer_fields(self, call: Call) -> dict[str, Any]:
        entry = call.waiting
        reason = self.settings.reason(entry.reason_code)
        return {
            "contactId": entry.contact_id,
            "folio": entry.folio,
            "citizen": {"run": entry.citizen_id, "name": entry.citizen_name},
            "reason": {
                "code": entry.reason_code,
                "label": reason.label if reason else entry.reason_code,
                "text": entry.reason_text,
            },
            "joinedAt": entry.joined_at,
            "offeredAt": call.offered_at,
            "expiresAt": call.offered_at + self.settings.service_offer_timeout_seconds,
        }

    def _call_fields(self, call: Call, role: str) -> dict[str, Any]:
        if role == EXECUTIVE:
            peer = {"name": call.waiting.citizen_name, "run": call.citizen_id}
        else:
            peer = {"name": call.agent_name, "run": ""}
        return {
            "contactId": call.contact_id,
            "folio": call.waiting.folio,
            "peer": peer,
            "initiator": role == EXECUTIVE,
            "polite": role == CITIZEN,
        }

    async def _wrapup_fields(self, contact_id: str) -> dict[str, Any] | None:
        record = await self.records.get(contact_id)
        if record is None:
            return None
        return {"contactId": contact_id, "folio": record.folio, "reasonCode": record.reason_code}
