"""The branch service: turns a person's messages into floor steps, records and notices.

No web framework here: the websocket handler parses a frame, calls
``handle`` with the person and the message, and sends whatever error comes
back. Every step of a contact is written to the record store as it happens.

The service keeps the connection life and the dispatch of messages; the
requests about a contact are checked in ``branch.contacts``, the floor's events
become sends and records in ``branch.outcomes``, and the messages' fields are
built in ``branch.fields`` and ``branch.lines``.
"""

from __future__ import annotations

import logging
import secrets
import time
from collections.abc import Callable
from typing import Any

from branch import schema
from branch.config import Settings
from branch.contacts import Contacts, with_partner
from branch.core.floor import AgentState, Event
from branch.delivery.base import Delivery
from branch.errors import BadMessage, Forbidden, UnknownReason
from branch.fields import MessageFields, agent_state_fields
from branch.lines import LineNews
from branch.live.base import LiveStore
from branch.live.sessions import MemorySessionStore, SessionStore
from branch.metrics import Metrics
from branch.outcomes import Outcomes
from branch.people import ADMIN, CITIZEN, EXECUTIVE, SUPERVISOR, User
from branch.positions import PositionPusher
from branch.records.base import Entry, RecordStore
from branch.resume import CallDesk, TicketDesk
from branch.status import ServiceBoard
from branch.supervision import Supervision, known_pause_reason
from branch.turn import ice_servers

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
    schema.CallReclaim.type: frozenset({CITIZEN, EXECUTIVE}),
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
    schema.CallCamera.type: frozenset({CITIZEN, EXECUTIVE}),
    schema.SignalDescription.type: frozenset({CITIZEN, EXECUTIVE}),
    schema.SignalCandidate.type: frozenset({CITIZEN, EXECUTIVE}),
    schema.AgentPauseAfter.type: frozenset({EXECUTIVE}),
    schema.SupervisorNotReady.type: frozenset({SUPERVISOR}),
    schema.SupervisorPauseAfter.type: frozenset({SUPERVISOR}),
    schema.SupervisorLogOut.type: frozenset({SUPERVISOR}),
    schema.SupervisorBroadcast.type: frozenset({SUPERVISOR}),
    schema.SupervisorClearNotice.type: frozenset({SUPERVISOR}),
}


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
        sessions: SessionStore | None = None,
    ) -> None:
        self.settings = settings
        self.live = live
        self.records = records
        self.hub = hub
        self.clock = clock
        self.metrics = metrics or Metrics()
        self.board = ServiceBoard(settings, live, hub)
        # Without a key (tests) tickets hold for this process only.
        key = ticket_key or secrets.token_bytes(32)
        self.tickets = TicketDesk(key, settings.service_ticket_seconds)
        self.call_tickets = CallDesk(key, settings.service_ticket_seconds)
        self.fields = MessageFields(settings, live, records, self.call_tickets)
        self.lines = LineNews(settings, live, hub, self.tickets, self.fields)
        self.positions = PositionPusher(self.lines.send_positions)
        # The outcomes tell supervision of every change, so supervision comes first and
        # reaches the outcomes through ``_apply``, which looks them up only when called.
        # Without a store (tests) the logins are this process's own.
        self.sessions = sessions or MemorySessionStore()
        self.supervision = Supervision(
            settings, live, records, hub, clock, self._apply, self.sessions
        )
        self.outcomes = Outcomes(
            settings,
            live,
            records,
            hub,
            clock,
            self.metrics,
            fields=self.fields,
            lines=self.lines,
            positions=self.positions,
            board=self.board,
            supervision=self.supervision,
        )
        self.contacts = Contacts(
            settings,
            live,
            records,
            hub,
            self.outcomes.apply,
            board=self.board,
            tickets=self.tickets,
            fields=self.fields,
            lines=self.lines,
        )

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
                state["queue"] = await self.fields.position(
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
                state["notice"] = await self.fields.notice(state["queue"]["service"], now)
            elif status.call is not None:
                state["call"] = {
                    **self.fields.call(status.call, CITIZEN, now),
                    "chat": await self.fields.chat(status.call),
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
                    state["wrapup"] = await self.fields.wrapup(agent.contact_id)
            if call is not None and call.answered_at is None and call.ready:
                state["offer"] = await self.fields.offer(call, with_history=True)
            elif call is not None:
                state["call"] = {
                    **self.fields.call(call, EXECUTIVE, now),
                    "chat": await self.fields.chat(call),
                    # Shown at once, without waiting for the citizen's page to repeat it.
                    "audioOnly": call.audio_only,
                }
        settings = self.settings
        welcome = schema.message(
            "welcome",
            role=user.role,
            person={"run": user.person_id, "name": user.name},
            serviceName=settings.service_name,
            language=settings.language,
            iceServers=ice_servers(self.settings, user.key, now),
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
            await self.lines.send_summary([user.key])
        elif user.role == CITIZEN:
            self.board.welcomed(user.person_id, choosing=not state["queue"] and not state["call"])
        elif user.role in (SUPERVISOR, ADMIN):
            self.supervision.push_soon()  # this page's first board; nothing changed
        return welcome

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
            # Redis came back empty: the pages here know where their people were. They
            # are made reachable from other nodes first, since the floor they rebuild
            # sends to them from wherever its steps run.
            log.warning("live state lost; asking the pages for their tickets and states")
            await self.hub.recover()
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
            # against the call they name and passed on with nothing else to do
            # (the check without Contacts.partner's coroutine around it).
            partner = with_partner(user, await self.live.call(message.contact_id))[1]
            await self.hub.send_text(partner, message.partner_text())
            return
        now = self.clock()
        match message:
            case schema.Ping():
                await self.hub.send(user.key, schema.message("pong"))
            case schema.QueueJoin():
                await self.contacts.join(user, message, now)
            case schema.QueueReady():
                await self._apply(
                    await self.live.citizen_ready(user.person_id, message.contact_id, now)
                )
            case schema.QueueLeave():
                await self._apply(await self.live.leave(user.person_id, now))
            case schema.QueueResume():
                await self.contacts.resume(user, message.ticket, now)
            case schema.CallReclaim():
                await self.contacts.reclaim_call(user, message.ticket, now)
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
                await self.contacts.audio_only(user, message, now)
            case schema.CallCamera():
                partner = await self.contacts.partner(user, message.contact_id)
                camera = {"contactId": message.contact_id, "cameraOff": message.camera_off}
                await self.hub.send(partner, schema.message("call.camera", **camera))
            case schema.WrapupSubmit():
                await self.contacts.wrapup(user, message, now)
            case schema.CallTransfer():
                await self.contacts.transfer(user, message, now)
            case schema.ChatSend():
                await self.contacts.chat(user, message, now)
            case (
                schema.SupervisorNotReady()
                | schema.SupervisorPauseAfter()
                | schema.SupervisorLogOut()
                | schema.SupervisorBroadcast()
                | schema.SupervisorClearNotice()
            ):
                await self.supervision.handle(user.key, message)
            case schema.SurveySubmit():
                comment = message.comment.strip()
                if len(comment) > self.settings.limits_survey_comment:
                    raise BadMessage(
                        f"survey.submit: comment is longer than {self.settings.limits_survey_comment} characters"
                    )
                await self.records.contact_surveyed(
                    message.contact_id,
                    user.person_id,
                    message.score,
                    comment,
                    now,
                    entry=Entry("contact.surveyed", user.key, {"score": message.score}),
                )
                await self.hub.send(
                    user.key, schema.message("survey.saved", contactId=message.contact_id)
                )
                self.supervision.changed()

    async def close(self) -> None:
        """Stop what still runs in the background (the node is stopping)."""
        await self.positions.close()

    async def _apply(self, events: list[Event]) -> None:
        await self.outcomes.apply(events)
