"""Live state in this process: the embedded default for a single node."""

from __future__ import annotations

from collections import defaultdict, deque

from branch.core.estimate import HISTORY
from branch.core.floor import Agent, AgentState, Call, Event, Floor, FloorRules, Waiting
from branch.live.base import AgentStatus, CitizenStatus, Line, Notice, Skills


class MemoryLiveStore:
    # Every method runs the core without awaiting, so each command is atomic
    # on the event loop without a lock.

    def __init__(self, rules: FloorRules) -> None:
        self.floor = Floor(rules)
        self._handle_times: defaultdict[str, deque[float]] = defaultdict(
            lambda: deque(maxlen=HISTORY)
        )
        self._notices: dict[str, Notice] = {}

    async def open(self) -> None:
        return None

    async def close(self) -> None:
        return None

    async def join(self, entry: Waiting, now: float) -> list[Event]:
        return self.floor.join(entry, now)

    async def leave(self, citizen_id: str, now: float) -> list[Event]:
        return self.floor.leave(citizen_id, now)

    async def citizen_gone(self, citizen_id: str, now: float) -> list[Event]:
        return self.floor.citizen_gone(citizen_id, now)

    async def citizen_away(self, citizen_id: str, now: float) -> list[Event]:
        return self.floor.citizen_away(citizen_id, now)

    async def citizen_back(self, citizen_id: str, now: float) -> list[Event]:
        return self.floor.citizen_back(citizen_id, now)

    async def citizen_ready(self, citizen_id: str, contact_id: str, now: float) -> list[Event]:
        return self.floor.citizen_ready(citizen_id, contact_id, now)

    async def tick(self, now: float) -> list[Event]:
        return self.floor.tick(now)

    async def agent_available(
        self, agent_id: str, name: str, now: float, skills: Skills | None = None
    ) -> list[Event]:
        return self.floor.agent_available(agent_id, name, now, skills)

    async def agent_not_ready(
        self,
        agent_id: str,
        name: str,
        now: float,
        reason: str | None = None,
        skills: Skills | None = None,
    ) -> list[Event]:
        return self.floor.agent_not_ready(agent_id, name, now, reason, skills)

    async def pause_after_call(
        self, agent_id: str, pending: bool, reason: str | None, now: float
    ) -> list[Event]:
        return self.floor.pause_after_call(agent_id, pending, reason, now)

    async def decline(self, agent_id: str, contact_id: str, reason: str, now: float) -> list[Event]:
        return self.floor.decline(agent_id, contact_id, reason, now)

    async def agent_gone(self, agent_id: str, now: float) -> list[Event]:
        return self.floor.agent_gone(agent_id, now)

    async def agent_away(self, agent_id: str, now: float) -> list[Event]:
        return self.floor.agent_away(agent_id, now)

    async def agent_back(self, agent_id: str, now: float) -> list[Event]:
        return self.floor.agent_back(agent_id, now)

    async def accept(self, agent_id: str, contact_id: str, now: float) -> list[Event]:
        return self.floor.accept(agent_id, contact_id, now)

    async def wrapup_done(
        self, agent_id: str, contact_id: str, then: AgentState, now: float
    ) -> list[Event]:
        return self.floor.wrapup_done(agent_id, contact_id, then, now)

    async def hangup(self, user_id: str, contact_id: str, now: float) -> list[Event]:
        return self.floor.hangup(user_id, contact_id, now)

    async def transfer(
        self, agent_id: str, contact_id: str, to: Waiting, now: float
    ) -> list[Event]:
        return self.floor.transfer(agent_id, contact_id, to, now)

    async def audio_only(self, citizen_id: str, contact_id: str, audio_only: bool) -> list[Event]:
        return self.floor.audio_only(citizen_id, contact_id, audio_only)

    async def close_queue(self, service: str, now: float) -> list[Event]:
        return self.floor.close_queue(service, now)

    async def restore_call(
        self, call: Call, side: str, skills: Skills | None, now: float
    ) -> list[Event]:
        return self.floor.restore_call(call, side, skills, now)

    async def restore_wrapup(
        self,
        agent_id: str,
        name: str,
        contact_id: str,
        ended_at: float,
        skills: Skills | None,
        now: float,
    ) -> list[Event]:
        return self.floor.restore_wrapup(agent_id, name, contact_id, ended_at, skills, now)

    async def waiting(self, service: str) -> list[Waiting]:
        return self.floor.waiting_in(service)

    async def line(self, service: str) -> Line:
        waiting = self.floor.waiting_in(service)
        return Line(len(waiting), waiting[0].joined_at if waiting else None)

    async def citizen_status(self, citizen_id: str) -> CitizenStatus:
        entry = self.floor.find_waiting(citizen_id)
        return CitizenStatus(
            waiting=entry,
            position=self.floor.position(citizen_id),
            waiting_count=len(self.floor.waiting_in(entry.service)) if entry else 0,
            call=self.floor.call_of_citizen(citizen_id),
        )

    async def call(self, contact_id: str) -> Call | None:
        return self.floor.calls.get(contact_id)

    async def agent_status(self, agent_id: str) -> AgentStatus:
        return AgentStatus(self.floor.agents.get(agent_id), self.floor.call_of_agent(agent_id))

    async def staffed(self, service: str | None = None) -> int:
        return self.floor.staffed(service)

    async def agents(self) -> list[Agent]:
        return list(self.floor.agents.values())

    async def calls(self) -> list[Call]:
        return list(self.floor.calls.values())

    async def engaged(self) -> set[str]:
        in_line = {entry.citizen_id for entry in self.floor.waiting}
        return in_line | {call.citizen_id for call in self.floor.calls.values()}

    async def restarted(self) -> bool:
        return False  # memory is lost only with the process, and with it every page

    async def ping(self) -> None:
        return None

    async def set_notice(self, notice: Notice) -> None:
        self._notices[notice.service] = notice

    async def notice(self, service: str, now: float) -> Notice | None:
        notice = self._notices.get(service)
        return notice if notice is not None and notice.current(now) else None

    async def clear_notice(self, service: str, now: float) -> Notice | None:
        notice = self._notices.pop(service, None)
        return notice if notice is not None and notice.current(now) else None

    async def add_handle_time(self, service: str, seconds: float) -> None:
        self._handle_times[service].append(seconds)

    async def handle_times(self, service: str) -> list[float]:
        return list(self._handle_times[service])
