"""What a citizen or an executive asks of their contact: join, resume, transfer, wrap up, chat.

Each request is checked (catalogs, limits, whose call it is) before it reaches
the floor or the records; the floor's events go on to ``Outcomes.apply``.
"""

from __future__ import annotations

import uuid

from branch import schema, wording
from branch.config import Queue, Settings
from branch.core.estimate import estimate_wait
from branch.core.floor import AgentChanged, AgentState, Call, EndReason, Waiting, place_in_line
from branch.core.hours import Refusal
from branch.core.ratelimit import Buckets, Rate
from branch.delivery.base import Delivery
from branch.errors import (
    AfterClosing,
    AlreadyQueued,
    BadMessage,
    InvalidState,
    NoExecutives,
    NotAdmitted,
    NotInCall,
    QueueFull,
    RateLimited,
    ServiceClosed,
    UnknownOutcome,
    UnknownReason,
    UnknownService,
    WaitTooLong,
)
from branch.fields import MessageFields
from branch.lines import LineNews
from branch.live.base import LiveStore
from branch.people import CITIZEN, EXECUTIVE, User, citizen_key, executive_key
from branch.records.base import Entry, RecordStore, audit_event
from branch.resume import TicketDesk
from branch.status import ServiceBoard
from branch.supervision import Apply


class Contacts:
    def __init__(
        self,
        settings: Settings,
        live: LiveStore,
        records: RecordStore,
        hub: Delivery,
        apply: Apply,
        *,
        board: ServiceBoard,
        tickets: TicketDesk,
        fields: MessageFields,
        lines: LineNews,
    ) -> None:
        self.settings = settings
        self.live = live
        self.records = records
        self.hub = hub
        self.apply = apply
        self.board = board
        self.tickets = tickets
        self.fields = fields
        self.lines = lines
        hourly = settings.limits_joins_per_hour
        # Burst of a few joins (a mistaken reason, a retry), then the hourly pace.
        self.join_limit = Buckets(Rate(burst=min(hourly, 4), per_second=hourly / 3600))

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

    async def join(self, user: User, message: schema.QueueJoin, now: float) -> None:
        settings = self.settings
        if not self.join_limit.allow(user.person_id, now):
            wait = self.join_limit.retry_after(user.person_id, now)
            raise RateLimited(
                f"Te pusiste en la fila demasiadas veces seguidas. Intenta de nuevo en "
                f"{wording.minutes(wait)}."
            )
        queue = self._queue_to_join(message.service)
        found = queue.reason(message.reason)
        if found is None:
            raise UnknownReason(
                f"reason {message.reason[:40]!r} is not in the catalog of {queue.code}"
            )
        # The catalog's own text, not the copy parsed from this message: the entry keeps
        # it for as long as the citizen waits, and thousands wait with the same few reasons.
        reason = found.code
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
            reason,
            text,
            now,
            estimated_wait=None if estimate is None else round(estimate),
            entry=Entry(
                "contact.joined",
                user.key,
                {
                    "service": queue.code,
                    "reason": reason,
                    "estimatedWait": None if estimate is None else round(estimate),
                },
            ),
        )
        entry = Waiting(contact_id, user.person_id, user.name, queue.code, reason, text, folio, now)
        self.board.engaging(user.person_id)
        try:
            events = await self.live.join(entry, now)
        except AlreadyQueued:
            # Another page of the same person joined in between: close this record honestly.
            await self.records.contact_ended(contact_id, EndReason.CITIZEN_LEFT, now)
            raise
        await self.lines.send_joined(entry, now)
        await self.apply(events)

    async def resume(self, user: User, token: str, now: float) -> None:
        """Back in line from the page's ticket, at the ticket's join time."""
        entry = await self.tickets.entry_for(
            token, user.person_id, user.name, self.records, self.live, now
        )
        if entry is None:
            return  # still in line or offered: the welcome already told the page
        self.board.engaging(user.person_id)
        events = await self.live.join(entry, now)
        await audit_event(
            self.records,
            "contact.resumed",
            user.key,
            entry.contact_id,
            now,
            joinedAt=entry.joined_at,
        )
        await self.lines.send_joined(entry, now)
        await self.apply(events)

    async def reclaim_call(self, user: User, token: str, now: float) -> None:
        """Back in the call (or its wrap-up) the floor lost, from the page's call ticket."""
        side = CITIZEN if user.role == CITIZEN else EXECUTIVE
        skills = self.settings.skills(user.person_id) if side == EXECUTIVE else None
        events = await self.fields.call_tickets.restore(
            token, user.person_id, side, skills, self.records, self.live, now
        )
        if side == CITIZEN:
            self.board.engaging(user.person_id)
        restored = next((e.agent for e in events if isinstance(e, AgentChanged)), None)
        if restored is not None and restored.contact_id:
            await audit_event(
                self.records,
                "contact.restored",
                user.key,
                restored.contact_id,
                now,
                state=restored.state.value,
            )
        await self.apply(events)

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

    async def transfer(self, user: User, message: schema.CallTransfer, now: float) -> None:
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
        estimate = await self._estimate_at(queue.code, first.joined_at, contact_id)
        folio = await self.records.contact_joined(
            contact_id,
            queue.code,
            first.citizen_id,
            first.citizen_name,
            first.reason_code,
            first.reason_text,
            now,
            estimated_wait=None if estimate is None else round(estimate),
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
        # As contact.joined does, with the wait the citizen is told in the new line.
        await audit_event(
            self.records,
            "contact.transferred",
            user.key,
            first.contact_id,
            now,
            toService=queue.code,
            toContact=contact_id,
            toFolio=folio,
            estimatedWait=None if estimate is None else round(estimate),
        )
        await self.apply(events)

    async def _estimate_at(self, service: str, joined_at: float, contact_id: str) -> float | None:
        """The wait a contact entering ``service``'s line with this priority is told.

        A transferred citizen keeps the first join time, so they go ahead of
        those who joined later: their first ``queue.position`` counts from there.
        """
        place = place_in_line(await self.live.waiting(service), joined_at, contact_id)
        staffed = await self.live.staffed(service)
        return estimate_wait(place, await self.live.handle_times(service), staffed)

    async def wrapup(self, user: User, message: schema.WrapupSubmit, now: float) -> None:
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
            entry=Entry(
                "contact.wrapped_up",
                user.key,
                {"outcome": message.outcome, "reason": message.reason, "timedOut": False},
            ),
        )
        record = await self.records.get(message.contact_id)
        if record is not None and record.answered_at is not None:
            await self.live.add_handle_time(record.service, now - record.answered_at)
        await self.hub.send(
            user.key, schema.message("wrapup.saved", contactId=message.contact_id, timedOut=False)
        )
        await self.apply(
            await self.live.wrapup_done(
                user.person_id, message.contact_id, AgentState(message.then), now
            )
        )

    async def chat(self, user: User, message: schema.ChatSend, now: float) -> None:
        text = message.text.strip()
        limit = self.settings.limits_chat_message
        if not text or len(text) > limit:
            raise BadMessage(f"chat.send: text must have 1 to {limit} characters")
        call, partner = await self.call_with_partner(user, message.contact_id)
        if self.fields.keeps_chat(call):
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

    async def audio_only(self, user: User, message: schema.CallAudioOnly, now: float) -> None:
        """Tell the executive why the video stopped; remembered for a reloaded desk, audited."""
        partner = await self.partner(user, message.contact_id)
        await self.apply(
            await self.live.audio_only(user.person_id, message.contact_id, message.audio_only)
        )
        await audit_event(
            self.records,
            "contact.audio_only",
            user.key,
            message.contact_id,
            now,
            audioOnly=message.audio_only,
        )
        await self.hub.send(
            partner,
            schema.message(
                "call.audio_only", contactId=message.contact_id, audioOnly=message.audio_only
            ),
        )

    async def partner(self, user: User, contact_id: str) -> str:
        """The other member of the caller's call, or NotInCall: signaling never goes elsewhere."""
        return with_partner(user, await self.live.call(contact_id))[1]

    async def call_with_partner(self, user: User, contact_id: str) -> tuple[Call, str]:
        return with_partner(user, await self.live.call(contact_id))


def with_partner(user: User, call: Call | None) -> tuple[Call, str]:
    """The answered call the user is in, with the page key of their partner; or NotInCall."""
    if call is not None and call.answered_at is not None:
        if user.role == CITIZEN and call.citizen_id == user.person_id:
            return call, executive_key(call.agent_id)
        if user.role == EXECUTIVE and call.agent_id == user.person_id:
            return call, citizen_key(call.citizen_id)
    # Someone else's call is refused exactly like no call: nothing about it is told.
    raise NotInCall("No estás en una atención con ese identificador")
