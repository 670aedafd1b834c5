"""Redis and memory agree step by step on long random runs with many citizens.

Redis steps read only the heads of each line, so this drives lines far longer
than the number of executives and checks every answer, error and query
against the memory store, which holds the whole floor. The Redis commands go
to several store instances at random: separate connections, as separate nodes.
"""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Awaitable, Callable
from typing import Any

import pytest

from branch.core.floor import WITH_CONTACT, AgentState, FloorRules, Routing, Waiting
from branch.errors import BranchError
from branch.live.base import LiveStore
from branch.live.memory import MemoryLiveStore
from branch.live.redisstore import RedisLiveStore
from branch.live.snapshot import load
from tests.live.conftest import heard_up_to, hearing
from tests.servers.redis import RedisServer

T0 = 1795525200.0
SERVICES = ("general", "especial")
SKILLS = [None, (("general",),), (("especial",), ("general",)), ()]


async def outcome(call: Callable[[LiveStore], Awaitable[Any]], store: LiveStore) -> Any:
    try:
        result = await call(store)
    except (BranchError, ValueError) as error:
        return (type(error).__name__, str(error))
    # Events of one step may come in another order for executives or calls (dict order).
    return Counter(result)


def random_step(
    chance: random.Random, now: float, serial: int
) -> Callable[[LiveStore], Awaitable[Any]]:
    person = f"p{chance.randrange(40):02d}"
    agent = f"e{chance.randrange(6)}"
    contact = f"k-{person}-{chance.randrange(3)}"
    kind = chance.choice(
        ["join"] * 6
        + ["leave", "gone", "away", "back", "ready", "ready", "ready", "tick", "tick"]
        + ["available", "available", "not_ready", "decline", "agent_gone", "agent_away"]
        + ["agent_back", "accept", "accept", "accept", "accept", "hangup", "hangup", "wrapup"]
        + ["close", "transfer", "transfer"]
    )
    if kind == "join":
        joined = now - chance.choice([0.0, 0.0, 30.0, 5.0])  # some rejoin with an older time
        entry = Waiting(
            f"k-{person}-{serial}", person, person, chance.choice(SERVICES), "r", "", "F", joined
        )
        return lambda s: s.join(entry, now)
    if kind in ("leave", "gone", "away", "back"):
        method = {"leave": "leave", "gone": "citizen_gone", "away": "citizen_away"}.get(
            kind, "citizen_back"
        )
        return lambda s: getattr(s, method)(person, now)
    if kind == "ready":
        return lambda s: _ready(s, person, now)
    if kind == "tick":
        return lambda s: s.tick(now)
    if kind == "available":
        skills = chance.choice(SKILLS)
        return lambda s: s.agent_available(agent, agent.upper(), now, skills)
    if kind == "not_ready":
        return lambda s: _not_ready(s, agent, now)
    if kind in ("decline", "accept", "hangup", "wrapup"):
        return lambda s: _with_call(s, kind, agent, contact, now)
    if kind == "transfer":
        return lambda s: _transfer(s, agent, f"t{serial}", now)
    if kind == "close":
        service = chance.choice(SERVICES)
        return lambda s: s.close_queue(service, now)
    method = {"agent_gone": "agent_gone", "agent_away": "agent_away"}.get(kind, "agent_back")
    return lambda s: getattr(s, method)(agent, now)


async def _not_ready(store: LiveStore, agent: str, now: float) -> Any:
    # With a contact under way the pause waits for its end, as the pages ask for it then.
    status = await store.agent_status(agent)
    if status.agent is not None and status.agent.state in WITH_CONTACT:
        return await store.pause_after_call(agent, True, "lunch", now)
    return await store.agent_not_ready(agent, agent.upper(), now, "lunch")


async def _ready(store: LiveStore, person: str, now: float) -> Any:
    # Mostly the citizen a readiness check waits for, sometimes anyone.
    checks = sorted((c for c in await store.calls() if not c.ready), key=lambda c: c.contact_id)
    if checks and int(person[1:]) % 3:
        person = checks[0].citizen_id
    status = await store.citizen_status(person)
    contact = status.call.contact_id if status.call else "none"
    return await store.citizen_ready(person, contact, now)


async def _transfer(store: LiveStore, agent: str, contact: str, now: float) -> Any:
    call = (await store.agent_status(agent)).call
    if call is None:
        return await store.transfer(
            agent, "none", Waiting(contact, "x", "X", "s", "r", "", "F", 1), now
        )
    first = call.waiting
    other = SERVICES[1 - SERVICES.index(first.service)]
    to = Waiting(
        contact, first.citizen_id, first.citizen_name, other, first.reason_code, "", "F2",
        first.joined_at, transferred_from=first.contact_id, transfer_note="nota",
    )  # fmt: skip
    return await store.transfer(agent, first.contact_id, to, now)


async def _with_call(store: LiveStore, kind: str, agent: str, contact: str, now: float) -> Any:
    # Mostly act on the executive's real contact, sometimes on a wrong one.
    status = await store.agent_status(agent)
    if status.call is not None and contact[-1] != "2":
        contact = status.call.contact_id
    elif status.agent is not None and status.agent.contact_id and contact[-1] != "2":
        contact = status.agent.contact_id
    if kind == "decline":
        return await store.decline(agent, contact, "busy", now)
    if kind == "accept":
        return await store.accept(agent, contact, now)
    if kind == "hangup":
        return await store.hangup(agent, contact, now)
    return await store.wrapup_done(agent, contact, AgentState.AVAILABLE, now)


async def snapshot(store: LiveStore) -> Any:
    return (
        {service: await store.waiting(service) for service in SERVICES},
        [await store.line(service) for service in SERVICES],
        [await store.citizen_status(f"p{i:02d}") for i in range(40)],
        [await store.agent_status(f"e{i}") for i in range(6)],
        sorted(await store.agents(), key=lambda agent: agent.agent_id),
        sorted(await store.calls(), key=lambda call: call.contact_id),
        [await store.staffed(service) for service in (*SERVICES, None)],
    )


async def kept_is_the_floor(node: RedisLiveStore) -> bool:
    """The snapshot the node keeps is what a read would give now, unless a commit followed it."""
    if node._kept is None:
        return False
    kept, wants = node._kept
    fresh = await load(node._read, node.keys, wants, set(node._services))
    if fresh.version != kept.version:
        return False
    assert kept == fresh, f"kept at version {kept.version}"
    return True


@pytest.mark.parametrize(
    ("seed", "rules", "long_line"),
    [
        (1, FloorRules(grace=40, offer_timeout=12, wrapup=30, missed_cooldown=8), 8),
        (
            2,
            FloorRules(
                grace=40,
                readiness=5,
                routing=Routing.ROUND_ROBIN,
                wait_limits=(("especial", 120.0),),
            ),
            8,
        ),
        (3, FloorRules(grace=25, offer_timeout=10, routing=Routing.FEWEST_CONTACTS), 8),
        (4, FloorRules(grace=60, offer_timeout=12, wait_limits=(("general", 90.0),)), 7),
        (
            36,
            FloorRules(
                grace=50,
                readiness=4,
                offer_timeout=12,
                wait_limits=(("general", 80.0), ("especial", 120.0)),
            ),
            7,  # the limits keep the lines shorter
        ),
    ],
)
async def test_redis_answers_as_memory_does(
    redis_server: RedisServer,
    redis_prefix: str,
    monkeypatch: pytest.MonkeyPatch,
    seed: int,
    rules: FloorRules,
    long_line: int,
) -> None:
    chance = random.Random(seed)
    memory = MemoryLiveStore(rules)
    nodes = [RedisLiveStore(redis_server.url, rules, redis_prefix) for _ in range(3)]
    for node in nodes:
        await node.open()
    heard = [hearing(node, monkeypatch) for node in nodes]
    try:
        now, longest, checked, elsewhere = T0, 0, 0, 0
        for serial in range(400):
            now += chance.choice([0.0, 0.5, 1.0, 3.0, 9.0])
            step = random_step(chance, now, serial)
            expected = await outcome(step, memory)
            node = chance.choice(nodes)
            got = await outcome(step, node)
            assert got == expected, f"step {serial} at {now - T0}"
            checked += await kept_is_the_floor(node)
            # Every node brought its snapshot up to this step's commit if it could, and
            # what it keeps then is what a read gives.
            await heard_up_to(int(await node.redis.get(node.keys.version) or 0), *heard)
            for other in nodes:
                if other is not node:
                    elsewhere += await kept_is_the_floor(other)
            longest = max([longest, *[len(await memory.waiting(s)) for s in SERVICES]])
            if serial % 25 == 0:
                assert await snapshot(chance.choice(nodes)) == await snapshot(memory), serial
        assert await snapshot(nodes[0]) == await snapshot(memory)
        assert longest >= long_line, "the lines grew longer than the heads a step reads"
        assert checked >= 200, "most steps leave their node the floor as it is"
        assert elsewhere >= 400, "most steps leave the other nodes the floor as it is too"
        # Of some 150 commits, each told to two other nodes: a long line's heads past what
        # a node knew, and the commits after it, are not followed.
        assert sum(node.followed for node in nodes) >= 150, "most commits are followed"
    finally:
        for node in nodes:
            await node.close()
