"""Live service status for citizens who are logged in but not yet in line.

A page choosing a service was given every service's status in its welcome;
from then on it is sent ``service.status`` whenever a service opens or
closes, gains or loses its last executive, fills up, or its estimate moves.
Each node watches the shared live state on its own upkeep tick and right
after the events it applies, and tells only its own pages, so nothing here
needs to cross nodes. After its own events a node looks only at the citizens
they name (a long line is pushed at every take); a page whose call another
node ended is found, and given every status, on this node's next tick.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from branch import schema
from branch.config import Queue, Settings
from branch.core.estimate import estimate_wait
from branch.core.floor import ContactEnded, Event
from branch.core.status import ServiceStatus, changed, service_status
from branch.delivery.base import Delivery
from branch.live.base import LiveStore
from branch.people import CITIZEN, citizen_key


class ServiceBoard:
    def __init__(self, settings: Settings, live: LiveStore, hub: Delivery) -> None:
        self.settings = settings
        self.live = live
        self.hub = hub
        self.sent: dict[str, ServiceStatus] = {}  # what the choosing pages were last told
        # The person ids of the choosing pages that are up to date with ``sent``.
        self.told: set[str] = set()

    async def status(self, queue: Queue, now: float) -> ServiceStatus:
        waiting = (await self.live.line(queue.code)).waiting
        staffed = await self.live.staffed(queue.code)
        estimate = estimate_wait(waiting + 1, await self.live.handle_times(queue.code), staffed)
        return service_status(
            queue.code,
            queue.admission,
            now,
            waiting=waiting,
            staffed=staffed,
            estimate=estimate,
        )

    async def fields(self, queue: Queue, now: float) -> dict[str, Any]:
        """A service as the welcome describes it: catalog, hours and status now."""
        status = await self.status(queue, now)
        # Before any push, what the first page was welcomed with is what pages know.
        self.sent.setdefault(queue.code, status)
        return {
            **queue.to_wire(),
            **status.to_wire(),
            "allowUnstaffed": queue.admission.allow_unstaffed,
        }

    def welcomed(self, person_id: str, *, choosing: bool) -> None:
        """The citizen's page was just welcomed; choosing, it was given every status."""
        if choosing:
            self.told.add(person_id)
        else:
            self.told.discard(person_id)

    def engaging(self, person_id: str) -> None:
        """The citizen is about to join a line: from now on their page hears of its place."""
        self.told.discard(person_id)

    async def push(self, now: float, events: Sequence[Event] | None = None) -> None:
        """Tell the pages choosing a service what changed since they were last told.

        With ``events``, the step just applied here, only the citizens it names
        are looked at; without, every page of this node is (the upkeep tick).
        """
        statuses = [await self.status(queue, now) for queue in self.settings.queues]
        if events is None:
            choosing = await self._choosing()
        else:
            choosing = await self._choosing_after(events)
        news = changed(self.sent, statuses)
        self.sent = {status.code: status for status in statuses}
        # A page that just left the line (or was let go) has not heard for a while: all of it.
        for people, shown in ((choosing - self.told, statuses), (choosing & self.told, news)):
            if people and shown:
                payload = schema.message(
                    "service.status", services=[status.to_wire() for status in shown]
                )
                await self.hub.send_many(sorted(map(citizen_key, people)), payload)
        self.told = choosing

    async def _choosing(self) -> set[str]:
        """The person ids of this node's citizen pages neither waiting nor being served."""
        pages = self.hub.people(CITIZEN)
        if not pages:
            return set()  # a node of executives only need not read who is engaged
        engaged = await self.live.engaged()
        # Ten thousand pages in a long line: one difference in C, not a loop over page keys.
        choosing = set(pages)
        choosing -= engaged
        return choosing

    async def _choosing_after(self, events: Sequence[Event]) -> set[str]:
        """``_choosing`` as the step's events leave it, reading only the citizens they name.

        A push follows every take of a long line, and reading every page against
        every engaged citizen each time was a fifth of the node's time while it
        drained. Only a contact's end lets a person choose again, and only their
        own page takes them out of choosing (``engaging``, ``welcomed``): the
        pages told so far, plus those whose contact the step ended. What another
        node's steps did shows at the next upkeep tick, which reads every page.
        """
        pages = self.hub.people(CITIZEN)
        # The told still here: an intersection in C, over the smaller of the two.
        choosing = set(pages & self.told)
        for event in events:
            if isinstance(event, ContactEnded) and event.waiting.citizen_id in pages:
                person = event.waiting.citizen_id
                # Read back: a transfer, or their page joining again meanwhile, keeps them busy.
                if not (await self.live.citizen_status(person)).engaged:
                    choosing.add(person)
        return choosing
