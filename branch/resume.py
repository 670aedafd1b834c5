"""Putting citizens back in line, and calls back on the floor, from tickets after the live state was lost.

The ticket proves the place (service, first join time, contact); the contact
record, which outlives any Redis, says whether that place still exists: a
contact that was answered or is over gives no place, so an old ticket cannot
queue anyone twice.
"""

from __future__ import annotations

from typing import Any

from branch import schema, tickets
from branch.core.contact import ContactRecord
from branch.core.floor import Call, Event, Waiting
from branch.errors import AlreadyQueued, BadTicket, TicketUsed
from branch.live.base import LiveStore, Skills
from branch.records.base import RecordStore


class TicketDesk:
    def __init__(self, key: bytes, ttl: float) -> None:
        self.key = key
        self.ttl = ttl

    def message(self, entry: Waiting, now: float) -> dict[str, Any]:
        """The ``queue.ticket`` a page keeps while its citizen waits in ``entry``."""
        return schema.message(
            "queue.ticket",
            contactId=entry.contact_id,
            ticket=tickets.issue(self.key, entry, now, self.ttl),
            expiresAt=now + self.ttl,
        )

    async def entry_for(
        self,
        token: str,
        citizen_id: str,
        citizen_name: str,
        records: RecordStore,
        live: LiveStore,
        now: float,
    ) -> Waiting | None:
        """The waiting entry the ticket gives back; None when the citizen already holds it."""
        ticket = tickets.read(self.key, token, citizen_id, now)
        status = await live.citizen_status(citizen_id)
        held = status.waiting or (status.call.waiting if status.call else None)
        if held is not None and held.contact_id == ticket.contact_id:
            return None
        if held is not None:
            raise AlreadyQueued("Ya estás en la fila o en una atención")
        record = await records.get(ticket.contact_id)
        if (
            record is None
            or record.citizen_run != citizen_id
            or record.service != ticket.service
            or record.folio != ticket.folio
        ):
            raise BadTicket("El comprobante de fila no es válido")
        if record.answered_at is not None or record.ended_at is not None:
            raise TicketUsed("Esa atención ya fue atendida o terminó; puedes volver a la fila")
        return _waiting(ticket.contact_id, citizen_id, citizen_name, record, ticket.joined_at)


class CallDesk:
    """Call tickets: each page in a call keeps one, to put the call back if the floor loses it.

    A ticket lasts ``ttl`` from the call's start (the same span as a queue
    ticket, far beyond any call and its wrap-up), whenever it is issued, so a
    page given it again on reconnecting holds no longer proof than the first.
    """

    def __init__(self, key: bytes, ttl: float) -> None:
        self.key = key
        self.ttl = ttl

    def issue(self, call: Call, holder: str, now: float) -> str:
        """The ticket the page of ``holder`` keeps while ``call`` (answered) and its wrap-up last."""
        if call.answered_at is None:
            raise ValueError(f"call {call.contact_id!r} is not answered: it has no call ticket")
        ticket = tickets.CallTicket(
            call.contact_id,
            call.citizen_id,
            call.agent_id,
            call.waiting.service,
            call.waiting.joined_at,
            call.answered_at,
            call.answered_at + self.ttl,
        )
        return tickets.issue_call(self.key, ticket, holder, now)

    async def restore(
        self,
        token: str,
        holder: str,
        side: str,
        skills: Skills | None,
        records: RecordStore,
        live: LiveStore,
        now: float,
    ) -> list[Event]:
        """Put the ticket's call back on the floor, or its executive back in its wrap-up.

        The record must agree with the ticket on every name and time, and says
        whether the call is still on: one that ended gives the citizen nothing,
        and the executive only the wrap-up not yet saved.
        """
        ticket = tickets.read_call(self.key, token, holder, side, now)
        record = await records.get(ticket.contact_id)
        if (
            record is None
            or record.citizen_run != ticket.citizen_id
            or record.executive_run != ticket.executive_id
            or record.service != ticket.service
            or record.answered_at != ticket.answered_at
        ):
            raise BadTicket("El comprobante de la atención no es válido")
        executive_name = record.executive_name or ticket.executive_id
        if record.ended_at is not None:
            if side == "executive" and record.wrapped_up_at is None:
                return await live.restore_wrapup(
                    holder, executive_name, record.contact_id, record.ended_at, skills, now
                )
            raise TicketUsed("Esa atención ya terminó")
        entry = _waiting(
            record.contact_id, record.citizen_run, record.citizen_name, record, ticket.joined_at
        )
        offered_at = record.offered_at if record.offered_at is not None else ticket.answered_at
        call = Call(
            entry, ticket.executive_id, executive_name, offered_at, answered_at=ticket.answered_at
        )
        return await live.restore_call(call, side, skills, now)


def _waiting(
    contact_id: str, citizen_id: str, citizen_name: str, record: ContactRecord, joined_at: float
) -> Waiting:
    """The waiting entry a ticket's contact stands on, from its record."""
    return Waiting(
        contact_id,
        citizen_id,
        citizen_name,
        record.service,
        record.reason_code,
        record.reason_text,
        record.folio,
        joined_at,
        transferred_from=record.transferred_from,
        transfer_note=record.transfer_note or "",
        # A transferred contact entered this line at its record's join time.
        queued_at=None if record.joined_at == joined_at else record.joined_at,
    )
