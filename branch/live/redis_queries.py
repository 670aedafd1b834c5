"""Read-only queries of the Redis live store: the lines, a person's status, the agents and calls.

They read Redis directly rather than through a core step: nothing is committed,
and a read that spans more than one round trip checks the floor's version did
not move in between (or reads again).
"""

from __future__ import annotations

from branch.core.floor import Agent, Call, Floor, FloorRules, Waiting
from branch.errors import LiveBusy
from branch.live import codec
from branch.live.base import AgentStatus, CitizenStatus, Line
from branch.live.redis_part import RedisPart
from branch.live.snapshot import READ_ATTEMPTS


class FloorQueries(RedisPart):
    rules: FloorRules

    async def waiting(self, service: str) -> list[Waiting]:
        for _attempt in range(READ_ATTEMPTS):
            async with self.redis.pipeline(transaction=True) as pipe:
                pipe.get(self.keys.version)
                pipe.zrange(self.keys.waiting(service), 0, -1)
                version, contact_ids = await pipe.execute()
            if not contact_ids:
                return []
            async with self.redis.pipeline(transaction=True) as pipe:
                pipe.get(self.keys.version)
                pipe.hmget(self.keys.entries, contact_ids)
                again, texts = await pipe.execute()
            if again == version and None not in texts:
                return [codec.load_waiting(text) for text in texts]
        raise LiveBusy()

    async def line(self, service: str) -> Line:
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.zcard(self.keys.waiting(service))
            pipe.zrange(self.keys.waiting(service), 0, 0, withscores=True)
            count, head = await pipe.execute()
        return Line(count, head[0][1] if head else None)

    async def citizen_status(self, citizen_id: str) -> CitizenStatus:
        keys = self.keys
        for _attempt in range(READ_ATTEMPTS):
            async with self.redis.pipeline(transaction=True) as pipe:
                pipe.get(keys.version)
                pipe.hget(keys.citizens, citizen_id)
                pipe.hvals(keys.calls)
                version, contact_id, calls = await pipe.execute()
            call = next(
                (c for c in map(codec.load_call, calls) if c.citizen_id == citizen_id), None
            )
            if contact_id is None:
                return CitizenStatus(call=call)
            async with self.redis.pipeline(transaction=True) as pipe:
                pipe.get(keys.version)
                pipe.hget(keys.entries, contact_id)
                again, text = await pipe.execute()
            if again != version or text is None:
                continue
            entry = codec.load_waiting(text)
            async with self.redis.pipeline(transaction=True) as pipe:
                pipe.get(keys.version)
                pipe.zrank(keys.waiting(entry.service), contact_id)
                pipe.zcard(keys.waiting(entry.service))
                last, rank, count = await pipe.execute()
            if last == version and rank is not None:
                return CitizenStatus(entry, rank + 1, count, call)
        raise LiveBusy()

    async def call(self, contact_id: str) -> Call | None:
        text = await self.redis.hget(self.keys.calls, contact_id)
        return None if text is None else codec.load_call(text)

    async def agent_status(self, agent_id: str) -> AgentStatus:
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.hget(self.keys.agents, agent_id)
            pipe.hvals(self.keys.calls)
            text, calls = await pipe.execute()
        call = next((c for c in map(codec.load_call, calls) if c.agent_id == agent_id), None)
        return AgentStatus(None if text is None else codec.load_agent(text), call)

    async def staffed(self, service: str | None = None) -> int:
        agents = {agent.agent_id: agent for agent in await self.agents()}
        return Floor(self.rules, agents=agents).staffed(service)

    async def agents(self) -> list[Agent]:
        texts = await self.redis.hvals(self.keys.agents)
        return sorted(map(codec.load_agent, texts), key=lambda agent: agent.agent_id)

    async def calls(self) -> list[Call]:
        texts = await self.redis.hvals(self.keys.calls)
        return sorted(map(codec.load_call, texts), key=lambda call: call.contact_id)

    async def engaged(self) -> set[str]:
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.hkeys(self.keys.citizens)
            pipe.hvals(self.keys.calls)
            in_line, calls = await pipe.execute()
        return set(in_line) | {codec.load_call(text).citizen_id for text in calls}
