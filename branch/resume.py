"""Putting a citizen back in line from their queue ticket, after the live state was lost.

The ticket proves the place (service, first join time, contact); the contact
record, which outlives any Redis, says whether that place still exists: a
contact that was answered or is over gives no place, so an old ticket cannot
queue anyone twice.
"""

from __future__ import annotations

from typing import Any

from branch import schema, tickets
from branch.core.floor import Waiting
from branch.errors import AlreadyQueued, BadTicket, TicketUsed
from branch.live.base import LiveStore
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
        return Waiting(
            ticket.contact_id,
            citizen_id,
            citizen_name,
            record.service,
            record.reason_code,
            record.reason_text,
            record.folio,
            ticket.joined_at,
            transferred_from=record.transferred_from,
            transfer_note=record.transfer_note or "",
            # A transferred contact entered this line at its record's join time.
            queued_at=None if record.joined_at == ticket.joined_at else record.joined_at,
        )
