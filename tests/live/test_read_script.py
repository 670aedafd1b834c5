"""The read script on a real Redis: one round trip, heads of lines it learns, long lines whole."""

from __future__ import annotations

from redis.asyncio import Redis

from branch.core.floor import Agent, AgentState, Waiting
from branch.live import codec
from branch.live.keys import Keys
from branch.live.redisstore import READ_SCRIPT
from branch.live.snapshot import Wants, load

T0 = 1795525200.0


async def put_line(client: Redis, keys: Keys, service: str, count: int) -> list[Waiting]:
    """``count`` present citizens in one line, written as the commit script leaves them."""
    entries = [
        Waiting(
            f"{service}-{index:05}",
            f"run-{service}-{index}",
            "Ana",
            service,
            "otro",
            "",
            "F",
            T0 + index,
        )
        for index in range(count)
    ]
    async with client.pipeline(transaction=False) as pipe:
        for entry in entries:
            pipe.hset(keys.entries, entry.contact_id, codec.dump_waiting(entry))
            pipe.hset(keys.citizens, entry.citizen_id, entry.contact_id)
            pipe.zadd(keys.waiting(service), {entry.contact_id: entry.joined_at})
            pipe.zadd(keys.present(service), {entry.contact_id: entry.joined_at})
        pipe.sadd(keys.services, service)
        await pipe.execute()
    return entries


async def test_heads_named_citizens_and_lines_learned_on_the_way(
    client: Redis, redis_prefix: str
) -> None:
    keys = Keys(redis_prefix)
    await client.set(keys.epoch, "e1")
    await client.set(keys.version, "7")
    general = await put_line(client, keys, "general", 5)
    other = await put_line(client, keys, "otro", 2)
    free = Agent("e1", "Eva", AgentState.AVAILABLE, T0)
    busy = Agent("e2", "Leo", AgentState.IN_CALL, T0)
    for agent in (free, busy):
        await client.hset(keys.agents, agent.agent_id, codec.dump_agent(agent))
    services: set[str] = {"general"}  # "otro" is new to this reader
    read = client.register_script(READ_SCRIPT)
    snapshot = await load(read, keys, Wants(citizens=(general[4].citizen_id,)), services)
    assert services == {"general", "otro"}
    assert (snapshot.version, snapshot.epoch) == (7, "e1")
    assert snapshot.agents == {"e1": free, "e2": busy}
    # Heads: one more than the executives not in a call (two), and the citizen named.
    assert sorted(snapshot.entries) == sorted(
        e.contact_id for e in (general[0], general[1], general[4], other[0], other[1])
    )
    assert snapshot.entries[general[4].contact_id] == general[4]


async def test_a_whole_line_longer_than_lua_can_unpack_at_once(
    client: Redis, redis_prefix: str
) -> None:
    keys = Keys(redis_prefix)
    await client.set(keys.epoch, "e1")
    line = await put_line(client, keys, "general", 9_000)
    read = client.register_script(READ_SCRIPT)
    wants = Wants(whole_service="general", heads=False)
    snapshot = await load(read, keys, wants, set())
    assert len(snapshot.entries) == 9_000
    assert snapshot.entries[line[-1].contact_id] == line[-1]
