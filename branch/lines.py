"""What the people in a line, and the executives serving it, are told of it.

A citizen who joins hears their folio, ticket and the supervisor's notice; on
every change of a line (paced by ``branch.positions.PositionPusher``) each
person in it hears their place and estimate, and each executive a summary of
the lines they serve.
"""

from __future__ import annotations

from branch import schema
from branch.config import Settings
from branch.core.estimate import average_handle_time
from branch.core.floor import Waiting
from branch.delivery.base import Delivery
from branch.fields import MessageFields, position_fields
from branch.live.base import LiveStore
from branch.people import EXECUTIVE, citizen_key
from branch.resume import TicketDesk


class LineNews:
    def __init__(
        self,
        settings: Settings,
        live: LiveStore,
        hub: Delivery,
        tickets: TicketDesk,
        fields: MessageFields,
    ) -> None:
        self.settings = settings
        self.live = live
        self.hub = hub
        self.tickets = tickets
        self.fields = fields

    async def send_joined(self, entry: Waiting, now: float) -> None:
        key = citizen_key(entry.citizen_id)
        fields = {"folio": entry.folio, "joinedAt": entry.joined_at, "service": entry.service}
        await self.hub.send(
            key, schema.message("queue.joined", contactId=entry.contact_id, **fields)
        )
        await self.hub.send(key, self.tickets.message(entry, now))
        notice = await self.fields.notice(entry.service, now)
        if notice is not None:
            await self.hub.send(key, schema.message("queue.notice", **notice))

    async def send_positions(self, service: str) -> int:
        """Every person in the line is told the place; returns how many wait in it."""
        waiting = await self.live.waiting(service)
        # Read once per line, not once per person: a long line is thousands of pages.
        staffed = await self.live.staffed(service) if waiting else 0
        average = average_handle_time(await self.live.handle_times(service)) if waiting else None
        for place, entry in enumerate(waiting, start=1):
            fields = position_fields(entry, place, len(waiting), staffed, average)
            await self.hub.send(
                citizen_key(entry.citizen_id), schema.message("queue.position", **fields)
            )
        await self.send_summary(await self.hub.everywhere(f"{EXECUTIVE}:"))
        return len(waiting)

    async def send_summary(self, keys: list[str]) -> None:
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
