"""What the outgoing messages say: the fields of offers, calls, wrap-ups, receipts and the like.

The pure builders take the floor's values; ``MessageFields`` reads what else a
message needs from the live and record stores, so the service and the events
pipeline describe a contact the same way wherever they send it. A builder whose
record is out of reach leaves its part out (None or empty) rather than hold up
the message.
"""

from __future__ import annotations

from typing import Any

from branch.config import Settings
from branch.core.estimate import average_handle_time, estimate_from_average
from branch.core.floor import Agent, Call, Waiting
from branch.errors import RecordsUnavailable
from branch.live.base import LiveStore
from branch.people import CITIZEN, EXECUTIVE, executive_key
from branch.records.base import RecordStore, audit_event
from branch.resume import CallDesk

# Previous contacts an executive sees with an offer.
HISTORY_SHOWN = 5


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
    entry: Waiting, position: int, waiting_count: int, staffed: int, average: float | None
) -> dict[str, Any]:
    """The fields of a `queue.position` for one person in a line (``average``: handle time)."""
    estimate = estimate_from_average(position, average, staffed)
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


def call_fields(call: Call, role: str) -> dict[str, Any]:
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


class MessageFields:
    def __init__(
        self, settings: Settings, live: LiveStore, records: RecordStore, call_tickets: CallDesk
    ) -> None:
        self.settings = settings
        self.live = live
        self.records = records
        self.call_tickets = call_tickets

    def call(self, call: Call, role: str, now: float) -> dict[str, Any]:
        """A call's fields for one side, with that side's call ticket once it is answered."""
        holder = call.agent_id if role == EXECUTIVE else call.citizen_id
        # The page's proof of this call, presented if the floor ever loses it.
        ticket = None if call.answered_at is None else self.call_tickets.issue(call, holder, now)
        return {**call_fields(call, role), "ticket": ticket}

    async def notice(self, service: str, now: float) -> dict[str, Any] | None:
        """The supervisor's current message to those waiting in ``service``, as the wire has it."""
        notice = await self.live.notice(service, now)
        if notice is None:
            return None
        return {"service": notice.service, "text": notice.text, "at": notice.at}

    def keeps_chat(self, call: Call) -> bool:
        queue = self.settings.queue(call.waiting.service)
        return queue is None or queue.keep_chat

    async def chat(self, call: Call) -> list[dict[str, Any]]:
        """The chat so far, for a page that comes back mid-call (only when it is kept)."""
        if not self.keeps_chat(call):
            return []
        try:
            lines = await self.records.chat(call.contact_id)
        except RecordsUnavailable:
            return []  # the call goes on; the earlier lines are in the journal, not yet readable
        return [{"sender": line.sender, "text": line.text, "at": line.at} for line in lines]

    # ------------------------------------------------------------ events → records and notices

    async def receipt(self, contact_id: str) -> dict[str, Any] | None:
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

    async def position(self, entry: Waiting, position: int, waiting_count: int) -> dict[str, Any]:
        staffed = await self.live.staffed(entry.service)
        average = average_handle_time(await self.live.handle_times(entry.service))
        return position_fields(entry, position, waiting_count, staffed, average)

    async def offer(self, call: Call, *, with_history: bool = False) -> dict[str, Any]:
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
            fields["history"] = await self.history(entry, call)
        return fields

    async def history(self, entry: Waiting, call: Call) -> list[dict[str, Any]] | None:
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
                await audit_event(
                    self.records,
                    "records.read",
                    executive_key(call.agent_id),
                    entry.contact_id,
                    call.offered_at,
                    folios=[item["folio"] for item in shown],
                )
            except RecordsUnavailable:
                return None  # a read that cannot be recorded is not shown
        return shown

    async def wrapup(self, contact_id: str) -> dict[str, Any] | None:
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
