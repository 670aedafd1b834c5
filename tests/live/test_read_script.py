"""The read script on a real Redis: one round trip, heads of lines it learns, long lines whole."""

from __future__ import annotations

import pytest
from redis.asyncio import Redis
from redis.exceptions import ResponseError

from branch.core.floor import Agent, AgentState, Waiting
from branch.live import codec
from branch.live.keys import Keys
from branch.live.scripts import READ_SCRIPT
from branch.live.snapshot import Wants, load, read_request

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


async def test_a_count_of_heads_given_reads_that_many_and_not_what_the_caller_holds(
    client: Redis, redis_prefix: str
) -> None:
    keys = Keys(redis_prefix)
    await client.set(keys.epoch, "e1")
    general = await put_line(client, keys, "general", 5)
    free = Agent("e1", "Eva", AgentState.AVAILABLE, T0)
    await client.hset(keys.agents, free.agent_id, codec.dump_agent(free))
    await client.hset(keys.calls, "k1", "not read")
    await client.hset(keys.answered, "e1", "not read")
    read = client.register_script(READ_SCRIPT)
    script_keys, argv = read_request(keys, Wants(), {"general"})
    reply = await read(keys=script_keys, args=["=3", *argv[1:]])
    *held, missing, contacts, _texts = reply
    # Three heads although Redis has one free executive (which would make two).
    assert contacts == [entry.contact_id for entry in general[:3]]
    assert (held, missing) == (["", "", [], [], [], ""], []), "what the caller holds is not read"

    reply = await read(keys=script_keys, args=["=0", *argv[1:]])
    assert reply[7] == [], "no heads"


@pytest.mark.parametrize(
    ("position", "bad", "what"),
    [
        *((1, bad, "a count of heads") for bad in ("=x", "=-1", "=1.5", "=")),
        *((3, bad, "a count of citizens") for bad in ("x", "-1", "1.5", "")),
    ],
)
async def test_a_count_that_is_no_count_is_refused(
    client: Redis, redis_prefix: str, position: int, bad: str, what: str
) -> None:
    keys = Keys(redis_prefix)
    read = client.register_script(READ_SCRIPT)
    script_keys, argv = read_request(keys, Wants(citizens=("z1",)), set())
    argv[position - 1] = bad
    with pytest.raises(ResponseError) as raised:
        await read(keys=script_keys, args=argv)
    assert str(raised.value) == f"read: ARGV[{position}] is not {what}: {bad}"
