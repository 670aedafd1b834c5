"""The branch service: turns a person's messages into floor steps, records and notices.

No web framework here: the websocket handler parses a frame, calls
``handle`` with the person and the message, and sends whatever error comes
back. Every step of a contact is written to the record store as it happens.
"""

from __future__ import annotations

import logging
import secrets
import time
import uuid
from collections.abc import Callable, Coroutine, Sequence
from typing import Any

from branch import schema, wording
from branch.config import Queue, Settings
from branch.core.estimate import estimate_wait
from branch.core.floor import (
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
    Offered,
    OfferWithdrawn,
    PauseAfterCallChanged,
    QueueChanged,
    ReadinessCheck,
    StaffingChanged,
    Transferred,
    Waiting,
    WrapupTimedOut,
)
from branch.core.hours import Refusal
from branch.core.ratelimit import Buckets, Rate
from branch.delivery.base import Delivery
from branch.errors import (
    AfterClosing,
    AlreadyQueued,
    BadMessage,
    Forbidden,
    InvalidState,
    NoExecutives,
    NotAdmitted,
    NotInCall,
    QueueFull,
    RateLimited,
    RecordsUnavailable,
    ServiceClosed,
    UnknownOutcome,
    UnknownReason,
    UnknownService,
    WaitTooLong,
)
from branch.live.base import LiveStore
from branch.metrics import Metrics
from branch.people import (
    ADMIN,
    CITIZEN,
    EXECUTIVE,
    SUPERVISOR,
    User,
    citizen_key,
    executive_key,
)
from branch.positions import PositionPusher
from branch.records.base import RecordStore
from branch.resume import TicketDesk
from branch.status import ServiceBoard
from branch.supervision import Supervision, known_pause_reason
from branch.turn import turn_credentials, turn_user

log = logging.getLogger(__name__)

# Roles that may open the live websocket at all. The auditor reads records and
# the audit trail over HTTP and never sees the live floor (docs/security.md).
LIVE_ROLES = frozenset({CITIZEN, EXECUTIVE, SUPERVISOR, ADMIN})

# Which role may send which message; anything absent is refused (deny by default).
# The admin watches (what a supervisor may read) but acts on no call or person.
PERMISSIONS: dict[str, frozenset[str]] = {
    schema.Ping.type: frozenset({CITIZEN, EXECUTIVE, SUPERVISOR, ADMIN}),
    schema.QueueJoin.type: frozenset({CITIZEN}),
    schema.QueueLeave.type: frozenset({CITIZEN}),
    schema.QueueReady.type: frozenset({CITIZEN}),
    schema.QueueResume.type: frozenset({CITIZEN}),
    schema.AgentAvailable.type: frozenset({EXECUTIVE}),
    schema.AgentNotReady.type: frozenset({EXECUTIVE}),
    schema.OfferAccept.type: frozenset({EXECUTIVE}),
    schema.OfferDecline.type: frozenset({EXECUTIVE}),
    schema.WrapupSubmit.type: frozenset({EXECUTIVE}),
    schema.CallTransfer.type: frozenset({EXECUTIVE}),
    schema.ChatSend.type: frozenset({CITIZEN, EXECUTIVE}),
    schema.SurveySubmit.type: frozenset({CITIZEN}),
    schema.CallHangup.type: frozenset({CITIZEN, EXECUTIVE}),
    schema.CallAudioOnly.type: frozenset({CITIZEN}),
    schema.SignalDescription.type: frozenset({CITIZEN, EXECUTIVE}),
    schema.SignalCandidate.type: frozenset({CITIZEN, EXECUTIVE}),
    schema.AgentPauseAfter.type: frozenset({EXECUTIVE}),
    schema.SupervisorNotReady.type: frozenset({SUPERVISOR}),
    schema.SupervisorPauseAfter.type: frozenset({SUPERVISOR}),
    schema.SupervisorLogOut.type: frozenset({SUPERVISOR}),
    schema.SupervisorBroadcast.type: frozenset({SUPERVISOR}),
}


# Previous contacts an executive sees with an offer.
HISTORY_SHOWN = 5

# Events whose pages are told before their records are written (see ``_apply``);
# the others that write records do it before telling anyone, since what they tell
# comes from the record (a receipt, a saved wrap-up) or is rare.
TOLD_BEFORE_RECORDED = (AgentChanged, Offered, CallStarted)
UNRECORDED = (QueueChanged, StaffingChanged, ReadinessCheck, PauseAfterCallChanged)


class BranchService:
    def __init__(
        self,
        settings: Settings,
        live: LiveStore,
        records: RecordStore,
        hub: Delivery,
        clock: Callable[[], float] = time.time,
        metrics: Metrics | None = None,
        ticket_key: bytes | None = None,
    ) -> None:
        self.settings = settings
        self.live = live
        self.records = records
        self.hub = hub
        self.clock = clock
        self.metrics = metrics or Metrics()
        self.board = ServiceBoard(settings, live, hub)
        # Without a key (tests) tickets hold for this process only.
        self.tickets = TicketDesk(
            ticket_key or secrets.token_bytes(32), settings.service_ticket_seconds
        )
        self.positions = PositionPusher(self._send_positions)
        hourly = settings.limits_joins_per_hour
        # Burst of a few joins (a mistaken reason, a retry), then the hourly pace.
        self.join_limit = Buckets(Rate(burst=min(hourly, 4), per_second=hourly / 3600))
        self.supervision = Supervision(settings, live, records, hub, clock, self._apply)

    # ------------------------------------------------------------ connection life

    async def connected(self, user: User) -> dict[str, Any]:
        """The welcome for a page that just opened, with the state to resume."""
        state: dict[str, Any] = {
            "queue": None,
            "call": None,
            "agent": None,
            "offer": None,
            "wrapup": None,
            "notice": None,
        }
        now = self.clock()
        if user.role == CITIZEN:
            await self._apply(await self.live.citizen_back(user.person_id, now))
            status = await self.live.citizen_status(user.person_id)
            if status.waiting is not None and status.position is not None:
                state["queue"] = await self._position_fields(
                    status.waiting, status.position, status.waiting_count
                )
            elif status.call is not None and status.call.answered_at is None:
                state["queue"] = {
                    "contactId": status.call.contact_id,
                    "folio": status.call.waiting.folio,
                    "service": status.call.waiting.service,
                    "offered": True,
                    "ready": status.call.ready,
                }
            if state["queue"] is not None:
                state["notice"] = await self._notice_fields(state["queue"]["service"], now)
            elif status.call is not None:
                state["call"] = {
                    **self._call_fields(status.call, CITIZEN),
                    "chat": await self._chat_fields(status.call),
                }
        elif user.role == EXECUTIVE:
            await self._apply(await self.live.agent_back(user.person_id, now))
            agent_status = await self.live.agent_status(user.person_id)
            if agent_status.agent is None:
                await self._apply(
                    await self.live.agent_not_ready(
                        user.person_id, user.name, now, skills=self.settings.skills(user.person_id)
                    )
                )
                agent_status = await self.live.agent_status(user.person_id)
            agent, call = agent_status.agent, agent_status.call
            if agent is not None:
                state["agent"] = agent_state_fields(agent)
                if agent.state is AgentState.WRAP_UP and agent.contact_id:
                    state["wrapup"] = await self._wrapup_fields(agent.contact_id)
            if call is not None and call.answered_at is None and call.ready:
                state["offer"] = await self._offer_fields(call, with_history=True)
            elif call is not None:
                state["call"] = {
                    **self._call_fields(call, EXECUTIVE),
                    "chat": await self._chat_fields(call),
                }
        settings = self.settings
        welcome = schema.message(
            "welcome",
            role=user.role,
            person={"run": user.person_id, "name": user.name},
            serviceName=settings.service_name,
            language=settings.language,
            iceServers=self._ice_servers(user, now),
            iceTransportPolicy=settings.webrtc_ice_transport_policy,
            services=[await self.board.fields(queue, now) for queue in settings.queues],
            skills=[list(tier) for tier in settings.skills(user.person_id)]
            if user.role == EXECUTIVE
            else [],
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
        elif user.role == CITIZEN:
            self.board.welcomed(user.key)
        elif user.role in (SUPERVISOR, ADMIN):
            self.supervision.changed()
        return welcome

    def _ice_servers(self, user: User, now: float) -> list[dict[str, Any]]:
        """The configured STUN/TURN servers, plus TURN with this page's own short-lived credentials."""
        settings = self.settings
        servers = [server.to_wire() for server in settings.webrtc_ice_servers]
        if settings.webrtc_turn_urls:
            secret = settings.webrtc_turn_secret
            username, credential = turn_credentials(
                secret, turn_user(user.key, secret), now, settings.webrtc_turn_ttl
            )
            servers.append(
                {
                    "urls": list(settings.webrtc_turn_urls),
                    "username": username,
                    "credential": credential,
                }
            )
        return servers

    async def _audit(
        self, kind: str, actor: str, contact_id: str | None, at: float, **data: Any
    ) -> None:
        """One entry of the audit trail; the id makes a retried event land once."""
        event_id = f"{kind}:{contact_id or actor}:{at!r}"
        await self.records.audit(kind, actor, contact_id, event_id, data, at)

    async def busy_with_contact(self, user: User) -> bool:
        """In a call, or an executive still wrapping one up: their page must not be cut now."""
        if user.role == CITIZEN:
            return (await self.live.citizen_status(user.person_id)).call is not None
        if user.role == EXECUTIVE:
            status = await self.live.agent_status(user.person_id)
            # The call ends on the floor before its call.ended is sent; the wrap-up
            # that follows still belongs to the contact.
            wrapping_up = status.agent is not None and status.agent.state is AgentState.WRAP_UP
            return status.call is not None or wrapping_up
        return False

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
            # A call in progress is held for the grace period; anything else ends now.
            if self.settings.service_grace_seconds > 0:
                await self._apply(await self.live.agent_away(user.person_id, now))
            else:
                await self._apply(await self.live.agent_gone(user.person_id, now))

    async def tick(self) -> None:
        """Periodic upkeep: timers of the floor, and lines of services past their cut-off."""
        now = self.clock()
        if await self.live.restarted():
            # Redis came back empty: the pages here know where their people were.
            log.warning("live state lost; asking the pages for their tickets and states")
            pages = self.hub.keys(f"{CITIZEN}:") + self.hub.keys(f"{EXECUTIVE}:")
            await self.hub.send_many(pages, schema.message("queue.reclaim"))
        await self._apply(await self.live.tick(now))
        for queue in self.settings.queues:
            if queue.admission.cut_off(now):
                await self._apply(await self.live.close_queue(queue.code, now))
        # Opening and closing happen by the clock alone; other nodes' events show here too.
        await self.board.push(now)
        await self.supervision.tick()

    # ------------------------------------------------------------ messages

    async def handle(self, user: User, message: schema.ClientMessage) -> None:
        allowed = PERMISSIONS.get(message.type, frozenset())
        if user.role not in allowed:
            raise Forbidden(f"{message.type} is not allowed for the {user.role} role")
        if isinstance(message, schema.RELAYED):
            # A call's descriptions and candidates: the busiest messages, checked
            # against the call they name and passed on with nothing else to do.
            partner = await self._partner(user, message.contact_id)
            await self.hub.send_text(partner, message.partner_text())
            return
        now = self.clock()
        match message:
            case schema.Ping():
                await self.hub.send(user.key, schema.message("pong"))
            case schema.QueueJoin():
                await self._join(user, message, now)
            case schema.QueueReady():
                await self._apply(
                    await self.live.citizen_ready(user.person_id, message.contact_id, now)
                )
            case schema.QueueLeave():
                await self._apply(await self.live.leave(user.person_id, now))
            case schema.QueueResume():
                await self._resume(user, message.ticket, now)
            case schema.AgentAvailable():
                skills = self.settings.skills(user.person_id)
                await self._apply(
                    await self.live.agent_available(user.person_id, user.name, now, skills)
                )
            case schema.AgentNotReady():
                known_pause_reason(self.settings, message.reason)
                await self._apply(
                    await self.live.agent_not_ready(
                        user.person_id,
                        user.name,
                        now,
                        message.reason or None,
                        self.settings.skills(user.person_id),
                    )
                )
            case schema.AgentPauseAfter():
                reason = known_pause_reason(self.settings, message.reason)
                await self._apply(
                    await self.live.pause_after_call(
                        user.person_id, message.pending, reason or None, now
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
            case schema.CallAudioOnly():
                # Relayed so the executive knows why the video stopped; kept in the audit trail.
                partner = await self._partner(user, message.contact_id)
                await self._audit(
                    "contact.audio_only",
                    user.key,
                    message.contact_id,
                    now,
                    audioOnly=message.audio_only,
                )
                await self.hub.send(
                    partner,
                    schema.message(
                        "call.audio_only",
                        contactId=message.contact_id,
                        audioOnly=message.audio_only,
                    ),
                )
            case schema.WrapupSubmit():
                await self._wrapup(user, message, now)
            case schema.CallTransfer():
                await self._transfer(user, message, now)
            case schema.ChatSend():
                await self._chat(user, message, now)
            case (
                schema.SupervisorNotReady()
                | schema.SupervisorPauseAfter()
                | schema.SupervisorLogOut()
                | schema.SupervisorBroadcast()
            ):
                await self.supervision.handle(user.key, message)
            case schema.SurveySubmit():
                comment = message.comment.strip()
                if len(comment) > self.settings.limits_survey_comment:
                    raise BadMessage(
                        f"survey.submit: comment is longer than {self.settings.limits_survey_comment} characters"
                    )
                await self.records.contact_surveyed(
                    message.contact_id, user.person_id, message.score, comment, now
                )
                await self._audit(
                    "contact.surveyed", user.key, message.contact_id, now, score=message.score
                )
                await self.hub.send(
                    user.key, schema.message("survey.saved", contactId=message.contact_id)
                )
                self.supervision.changed()

    def _queue_to_join(self, code: str) -> Queue:
        queues = self.settings.queues
        if not code and len(queues) == 1:
            return queues[0]
        queue = self.settings.queue(code)
        if queue is None:
            raise UnknownService(
                f"service {code[:40]!r} does not exist (services: {', '.join(q.code for q in queues)})"
            )
        return queue

    async def _join(self, user: User, message: schema.QueueJoin, now: float) -> None:
        settings = self.settings
        if not self.join_limit.allow(user.person_id, now):
            wait = self.join_limit.retry_after(user.person_id, now)
            raise RateLimited(
                f"Te pusiste en la fila demasiadas veces seguidas. Intenta de nuevo en "
                f"{wording.minutes(wait)}."
            )
        queue = self._queue_to_join(message.service)
        if queue.reason(message.reason) is None:
            raise UnknownReason(
                f"reason {message.reason[:40]!r} is not in the catalog of {queue.code}"
            )
        text = message.text.strip()
        if len(text) > settings.limits_reason_text:
            raise BadMessage(
                f"queue.join: text is longer than {settings.limits_reason_text} characters"
            )
        status = await self.live.citizen_status(user.person_id)
        if status.waiting is not None or status.call is not None:
            raise AlreadyQueued("Ya estás en la fila o en una atención")
        waiting = (await self.live.line(queue.code)).waiting
        staffed = await self.live.staffed(queue.code)
        estimate = estimate_wait(waiting + 1, await self.live.handle_times(queue.code), staffed)
        refusal = queue.admission.refusal(now, waiting, staffed, estimate)
        if refusal is not None:
            raise self._refusal(queue, refusal, now, waiting, estimate)
        contact_id = uuid.uuid4().hex
        folio = await self.records.contact_joined(
            contact_id,
            queue.code,
            user.person_id,
            user.name,
            message.reason,
            text,
            now,
            estimated_wait=None if estimate is None else round(estimate),
        )
        await self._audit(
            "contact.joined",
            user.key,
            contact_id,
            now,
            folio=folio,
            service=queue.code,
            reason=message.reason,
            estimatedWait=None if estimate is None else round(estimate),
        )
        entry = Waiting(
            contact_id, user.person_id, user.name, queue.code, message.reason, text, folio, now
        )
        try:
            events = await self.live.join(entry, now)
        except AlreadyQueued:
            # Another page of the same person joined in between: close this record honestly.
            await self.records.contact_ended(contact_id, EndReason.CITIZEN_LEFT, now)
            raise
        await self._send_joined(entry, now)
        await self._apply(events)

    async def _send_joined(self, entry: Waiting, now: float) -> None:
        key = citizen_key(entry.citizen_id)
        fields = {"folio": entry.folio, "joinedAt": entry.joined_at, "service": entry.service}
        await self.hub.send(
            key, schema.message("queue.joined", contactId=entry.contact_id, **fields)
        )
        await self.hub.send(key, self.tickets.message(entry, now))
        notice = await self._notice_fields(entry.service, now)
        if notice is not None:
            await self.hub.send(key, schema.message("queue.notice", **notice))

    async def _notice_fields(self, service: str, now: float) -> dict[str, Any] | None:
        """The supervisor's current message to those waiting in ``service``, as the wire has it."""
        notice = await self.live.notice(service, now)
        if notice is None:
            return None
        return {"service": notice.service, "text": notice.text, "at": notice.at}

    async def _resume(self, user: User, token: str, now: float) -> None:
        """Back in line from the page's ticket, at the ticket's join time."""
        entry = await self.tickets.entry_for(
            token, user.person_id, user.name, self.records, self.live, now
        )
        if entry is None:
            return  # still in line or offered: the welcome already told the page
        events = await self.live.join(entry, now)
        await self._audit(
            "contact.resumed", user.key, entry.contact_id, now, joinedAt=entry.joined_at
        )
        await self._send_joined(entry, now)
        await self._apply(events)

    def _refusal(
        self, queue: Queue, refusal: Refusal, now: float, waiting: int, estimate: float | None
    ) -> NotAdmitted:
        """The error a refused citizen reads: what happened and what to do."""
        schedule = queue.admission.schedule
        opening = schedule.next_opening(now)
        back = (
            f" Te esperamos {wording.when(opening, now, schedule.timezone)}."
            if opening is not None
            else ""
        )
        match refusal:
            case Refusal.CLOSED:
                return ServiceClosed(f"{queue.name} está cerrado en este momento.{back}")
            case Refusal.NO_EXECUTIVES:
                return NoExecutives(
                    f"En este momento no hay ejecutivos atendiendo {queue.name}. "
                    "Intenta de nuevo en unos minutos."
                )
            case Refusal.QUEUE_FULL:
                return QueueFull(
                    f"La fila de {queue.name} está llena ({waiting} personas esperando). "
                    "Intenta de nuevo en unos minutos."
                )
            case Refusal.WAIT_TOO_LONG:
                return WaitTooLong(
                    f"La espera estimada para {queue.name} es de unos "
                    f"{wording.minutes(estimate or 0)}, más de lo que permitimos esperar. "
                    "Intenta de nuevo más tarde."
                )
            case Refusal.AFTER_CLOSING:
                closes = schedule.closes_at(now) or now
                return AfterClosing(
                    f"Con las personas que ya esperan, no alcanzaríamos a atenderte antes del "
                    f"cierre de las {wording.clock_time(closes, schedule.timezone)} "
                    f"(espera estimada: unos {wording.minutes(estimate or 0)}).{back}"
                )

    async def _transfer(self, user: User, message: schema.CallTransfer, now: float) -> None:
        queue = self.settings.queue(message.service)
        if queue is None:
            raise UnknownService(f"service {message.service[:40]!r} does not exist")
        note = message.note.strip()
        if len(note) > self.settings.limits_notes:
            raise BadMessage(
                f"call.transfer: note is longer than {self.settings.limits_notes} characters"
            )
        call = (await self.live.agent_status(user.person_id)).call
        if call is None or call.contact_id != message.contact_id or call.answered_at is None:
            raise NotInCall("No estás en una atención con ese identificador")
        if call.waiting.service == queue.code:
            raise InvalidState("La atención ya está en ese servicio")
        first = call.waiting
        contact_id = uuid.uuid4().hex
        folio = await self.records.contact_joined(
            contact_id,
            queue.code,
            first.citizen_id,
            first.citizen_name,
            first.reason_code,
            first.reason_text,
            now,
            transferred_from=first.contact_id,
            transfer_note=note,
        )
        moved = Waiting(
            contact_id,
            first.citizen_id,
            first.citizen_name,
            queue.code,
            first.reason_code,
            first.reason_text,
            folio,
            first.joined_at,
            transferred_from=first.contact_id,
            transfer_note=note,
        )
        try:
            events = await self.live.transfer(user.person_id, first.contact_id, moved, now)
        except (NotInCall, InvalidState):
            await self.records.contact_ended(contact_id, EndReason.CITIZEN_LEFT, now)
            raise
        await self._apply(events)

    async def _wrapup(self, user: User, message: schema.WrapupSubmit, now: float) -> None:
        settings = self.settings
        if settings.outcome(message.outcome) is None:
            raise UnknownOutcome(f"outcome {message.outcome[:40]!r} is not in the catalog")
        contact = await self.records.get(message.contact_id)
        queue = settings.queue(contact.service) if contact else None
        if not any(q.reason(message.reason) for q in ([queue] if queue else settings.queues)):
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
        await self._audit(
            "contact.wrapped_up",
            user.key,
            message.contact_id,
            now,
            outcome=message.outcome,
            reason=message.reason,
            timedOut=False,
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

    async def _chat(self, user: User, message: schema.ChatSend, now: float) -> None:
        text = message.text.strip()
        limit = self.settings.limits_chat_message
        if not text or len(text) > limit:
            raise BadMessage(f"chat.send: text must have 1 to {limit} characters")
        call, partner = await self._call_with_partner(user, message.contact_id)
        if self._keeps_chat(call):
            await self.records.chat_added(message.contact_id, user.role, text, now)
        line = schema.message(
            "chat.message",
            contactId=message.contact_id,
            sender=user.role,
            name=user.name,
            text=text,
            at=now,
        )
        await self.hub.send(partner, line)
        await self.hub.send(user.key, line)

    async def _partner(self, user: User, contact_id: str) -> str:
        """The other member of the caller's call, or NotInCall: signaling never goes elsewhere."""
        return (await self._call_with_partner(user, contact_id))[1]

    async def _call_with_partner(self, user: User, contact_id: str) -> tuple[Call, str]:
        call = await self.live.call(contact_id)
        if call is not None and call.answered_at is not None:
            if user.role == CITIZEN and call.citizen_id == user.person_id:
                return call, executive_key(call.agent_id)
            if user.role == EXECUTIVE and call.agent_id == user.person_id:
                return call, citizen_key(call.citizen_id)
        # Someone else's call is refused exactly like no call: nothing about it is told.
        raise NotInCall("No estás en una atención con ese identificador")

    def _keeps_chat(self, call: Call) -> bool:
        queue = self.settings.queue(call.waiting.service)
        return queue is None or queue.keep_chat

    async def _chat_fields(self, call: Call) -> list[dict[str, Any]]:
        """The chat so far, for a page that comes back mid-call (only when it is kept)."""
        if not self._keeps_chat(call):
            return []
        try:
            lines = await self.records.chat(call.contact_id)
        except RecordsUnavailable:
            return []  # the call goes on; the earlier lines are in the journal, not yet readable
        return [{"sender": line.sender, "text": line.text, "at": line.at} for line in lines]

    # ------------------------------------------------------------ events → records and notices

    async def _apply(self, events: list[Event]) -> None:
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
        for event in events:
            if isinstance(event, TOLD_BEFORE_RECORDED):
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
            await self.board.push(self.clock())
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

    async def _tell(self, event: Event) -> None:
        """The pages' part of an event in TOLD_BEFORE_RECORDED."""
        match event:
            case AgentChanged(agent=agent):
                await self.hub.send(
                    executive_key(agent.agent_id),
                    schema.message("agent.state", **agent_state_fields(agent)),
                )
            case Offered(call=call):
                await self.hub.send(
                    citizen_key(call.citizen_id),
                    schema.message("queue.offered", contactId=call.contact_id, readySeconds=0),
                )
                # The history follows the offer: reading it is audited first (a durable
                # write), which the offer itself need not wait for.
                executive = executive_key(call.agent_id)
                await self.hub.send(
                    executive, schema.message("offer", **await self._offer_fields(call))
                )
                history = await self._history(call.waiting, call)
                await self.hub.send(
                    executive,
                    schema.message("offer.history", contactId=call.contact_id, history=history),
                )
            case CallStarted(call=call):
                await self.hub.send(
                    executive_key(call.agent_id),
                    schema.message("call.started", **self._call_fields(call, EXECUTIVE)),
                )
                await self.hub.send(
                    citizen_key(call.citizen_id),
                    schema.message("call.started", **self._call_fields(call, CITIZEN)),
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
                    call.contact_id, call.agent_id, call.agent_name, call.offered_at
                )
                await self._audit(
                    "contact.offered",
                    "system",
                    call.contact_id,
                    call.offered_at,
                    executive=call.agent_id,
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
                await self.records.contact_answered(call.contact_id, answered_at)
                self.metrics.wait_seconds.labels(call.waiting.service).observe(
                    answered_at - call.waiting.joined_at
                )
                await self._audit(
                    "contact.answered", executive_key(call.agent_id), call.contact_id, answered_at
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
                await self._audit(
                    "contact.skipped", "system", entry.contact_id, entry.absent_since or 0.0
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
                await self._audit(
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
                await self._audit(
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
            case Transferred(call=first, to=entry):
                await self._audit(
                    "contact.transferred",
                    executive_key(first.agent_id),
                    first.contact_id,
                    self.clock(),
                    toService=entry.service,
                    toContact=entry.contact_id,
                )
                await self._send_joined(entry, self.clock())

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
            )
        except InvalidState:
            return  # the executive's own wrap-up got there first
        await self._audit(
            "contact.wrapped_up",
            "system",
            event.contact_id,
            event.at,
            outcome=self.settings.service_default_outcome,
            reason=record.reason_code,
            timedOut=True,
        )
        if record.answered_at is not None:
            await self.live.add_handle_time(record.service, event.at - record.answered_at)
        await self.hub.send(
            executive_key(event.agent_id),
            schema.message("wrapup.saved", contactId=event.contact_id, timedOut=True),
        )

    async def _contact_ended(self, event: ContactEnded) -> None:
        contact_id = event.waiting.contact_id
        await self.records.contact_ended(contact_id, event.reason, event.at)
        self.metrics.contacts_ended.labels(event.waiting.service, event.reason.value).inc()
        await self._audit(
            "contact.ended", "system", contact_id, event.at, reason=event.reason.value, by=event.by
        )
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
        try:
            record = await self.records.get(contact_id)
        except RecordsUnavailable:
            return None  # the call still ends for both sides; the page keeps the folio it has
        if record is None:
            return None
        queue = self.settings.queue(record.service)
        reason = queue.reason(record.reason_code) if queue else None
        return {
            "folio": record.folio,
            "service": queue.name if queue else record.service,
            "reason": reason.label if reason else record.reason_code,
            "executive": record.executive_name,
            "joinedAt": record.joined_at,
            "answeredAt": record.answered_at,
            "endedAt": record.ended_at,
        }

    async def close(self) -> None:
        """Stop what still runs in the background (the node is stopping)."""
        await self.positions.close()

    async def _send_positions(self, service: str) -> int:
        """Every person in the line is told the place; returns how many wait in it."""
        waiting = await self.live.waiting(service)
        # Read once per line, not once per person: a long line is thousands of pages.
        staffed = await self.live.staffed(service) if waiting else 0
        handle_times = await self.live.handle_times(service) if waiting else []
        for place, entry in enumerate(waiting, start=1):
            fields = position_fields(entry, place, len(waiting), staffed, handle_times)
            await self.hub.send(
                citizen_key(entry.citizen_id), schema.message("queue.position", **fields)
            )
        await self._send_summary(await self.hub.everywhere(f"{EXECUTIVE}:"))
        return len(waiting)

    async def _send_summary(self, keys: list[str]) -> None:
        """Each executive hears of the lines of the services they serve."""
        if not keys:
            return
        lines = {queue.code: await self.live.line(queue.code) for queue in self.settings.queues}
        for key in keys:
            served = [
                code
                for tier in self.settings.skills(key.removeprefix(f"{EXECUTIVE}:"))
                for code in tier
            ]
            services = [
                {
                    "code": code,
                    "waiting": lines[code].waiting,
                    "oldestJoinedAt": lines[code].oldest_joined_at,
                }
                for code in served
            ]
            oldest = [line["oldestJoinedAt"] for line in services if line["oldestJoinedAt"]]
            await self.hub.send(
                key,
                schema.message(
                    "queue.summary",
                    waiting=sum(line["waiting"] for line in services),
                    oldestJoinedAt=min(oldest, default=None),
                    services=services,
                ),
            )

    async def _position_fields(
        self, entry: Waiting, position: int, waiting_count: int
    ) -> dict[str, Any]:
        staffed = await self.live.staffed(entry.service)
        handle_times = await self.live.handle_times(entry.service)
        return position_fields(entry, position, waiting_count, staffed, handle_times)

    async def _offer_fields(self, call: Call, *, with_history: bool = False) -> dict[str, Any]:
        """An offer's fields; ``with_history`` adds the citizen's earlier contacts (else sent apart)."""
        entry = call.waiting
        queue = self.settings.queue(entry.service)
        reason = queue.reason(entry.reason_code) if queue else None
        transfer = None
        if entry.transferred_from:
            try:
                first = await self.records.get(entry.transferred_from)
            except RecordsUnavailable:
                first = None  # the offer still goes out, without the first contact's details
            transfer = {
                "fromContactId": entry.transferred_from,
                "folio": first.folio if first else None,
                "executive": first.executive_name if first else None,
                "service": first.service if first else None,
                "note": entry.transfer_note,
            }
        fields = {
            "contactId": entry.contact_id,
            "folio": entry.folio,
            "service": {"code": entry.service, "name": queue.name if queue else entry.service},
            "citizen": {"run": entry.citizen_id, "name": entry.citizen_name},
            "reason": {
                "code": entry.reason_code,
                "label": reason.label if reason else entry.reason_code,
                "text": entry.reason_text,
            },
            "joinedAt": entry.joined_at,
            "offeredAt": call.offered_at,
            "expiresAt": call.offered_at + self.settings.service_offer_timeout_seconds,
            "transfer": transfer,
        }
        if with_history:
            fields["history"] = await self._history(entry, call)
        return fields

    async def _history(self, entry: Waiting, call: Call) -> list[dict[str, Any]] | None:
        """The citizen's previous contacts, newest first; None while the records are away.

        Showing them is a read of records by staff, so it is in the audit trail
        (once per offer: a page that reopens gets the same offer again).
        """
        try:
            earlier = await self.records.recent(HISTORY_SHOWN + 1, citizen_run=entry.citizen_id)
        except RecordsUnavailable:
            return None  # shown as "not available", never as a first contact
        shown = []
        for record in earlier:
            if record.contact_id == entry.contact_id:
                continue
            queue = self.settings.queue(record.service)
            reason = queue.reason(record.reason_code) if queue else None
            outcome = self.settings.outcome(record.outcome_code or "")
            shown.append(
                {
                    "folio": record.folio,
                    "joinedAt": record.joined_at,
                    "service": queue.name if queue else record.service,
                    "reason": reason.label if reason else record.reason_code,
                    "outcome": outcome.label if outcome else None,
                    "endReason": record.end_reason.value if record.end_reason else None,
                }
            )
        shown = shown[:HISTORY_SHOWN]
        if shown:
            try:
                await self._audit(
                    "records.read",
                    executive_key(call.agent_id),
                    entry.contact_id,
                    call.offered_at,
                    folios=[item["folio"] for item in shown],
                )
            except RecordsUnavailable:
                return None  # a read that cannot be recorded is not shown
        return shown

    def _call_fields(self, call: Call, role: str) -> dict[str, Any]:
        if role == EXECUTIVE:
            peer = {"name": call.waiting.citizen_name, "run": call.citizen_id}
        else:
            peer = {"name": call.agent_name, "run": ""}
        return {
            "contactId": call.contact_id,
            "folio": call.waiting.folio,
            "service": call.waiting.service,
            "peer": peer,
            "initiator": role == EXECUTIVE,
            "polite": role == CITIZEN,
        }

    async def _wrapup_fields(self, contact_id: str) -> dict[str, Any] | None:
        try:
            record = await self.records.get(contact_id)
        except RecordsUnavailable:
            return None  # the page shows wrap-up without the record's details
        if record is None:
            return None
        return {
            "contactId": contact_id,
            "folio": record.folio,
            "reasonCode": record.reason_code,
            "service": record.service,
        }


def agent_state_fields(agent: Agent) -> dict[str, Any]:
    """The fields of an `agent.state`, also the executive's `welcome.state.agent`."""
    return {
        "state": agent.state.value,
        "since": agent.since,
        "reason": agent.pause_reason,
        "pauseAfterCall": agent.pause_after_call,
        "pauseAfterReason": agent.pause_after_reason,
    }


def position_fields(
    entry: Waiting, position: int, waiting_count: int, staffed: int, handle_times: Sequence[float]
) -> dict[str, Any]:
    """The fields of a `queue.position` for one person in a line."""
    estimate = estimate_wait(position, handle_times, staffed)
    return {
        "contactId": entry.contact_id,
        "folio": entry.folio,
        "service": entry.service,
        "position": position,
        "waiting": waiting_count,
        "staffed": staffed,
        "estimatedWaitSeconds": None if estimate is None else round(estimate),
        "joinedAt": entry.joined_at,
    }
