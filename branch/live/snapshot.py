"""Reading the floor from Redis as one consistent snapshot, and writing back what a step changed.

A step never needs the whole line. Pairing takes citizens from the head of
each service's line of present citizens, and one step makes at most one offer
per executive who is not in a call (only they can become available in it), so
``1 + that many`` heads per service is always enough: a step removes at most one
citizen it names, and ``tick`` reads past those a wait limit ends. Besides the
heads a step reads only what it names: the citizens it acts on; for ``tick`` the
absent citizens whose grace may have run out and those who may have waited past
their service's wait limit (joined long enough ago: nobody is in a line before
joining); or one whole line (``close_queue``).
Executives, calls and the small counters are read whole: there is one call at
most per executive.

A snapshot is consistent when the version read first equals the version read
last; the commit script then refuses it if anyone committed in between.
"""

from __future__ import annotations

import datetime
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, TypeVar

from redis.asyncio import Redis

from branch.core.floor import Agent, AgentState, Call, Floor, FloorRules, Waiting
from branch.errors import LiveBusy
from branch.live import codec
from branch.live.keys import Keys

READ_ATTEMPTS = 20
# Citizens read for the grace and wait-limit checks a little early: the core
# decides, and floating-point subtraction must not make one slip to the next tick.
GRACE_MARGIN = 1.0
# Seconds a landed commit's token is kept: far longer than a client's retries take.
COMMIT_MEMORY = 60

V = TypeVar("V")


@dataclass(frozen=True)
class Wants:
    """What a step reads besides executives, calls and counters."""

    citizens: tuple[str, ...] = ()
    expired_before: float | None = None  # absent citizens since at most this time
    # (service, time): everybody in that line who joined at most then, for its hard
    # maximum wait. Join time is never later than entering the line, so this holds
    # everyone past the limit (the core decides), and it is a head of the line.
    joined_before: tuple[tuple[str, float], ...] = ()
    whole_service: str | None = None
    heads: bool = True


@dataclass(frozen=True)
class Snapshot:
    version: int
    epoch: str  # "" while no node has set one since Redis started empty
    entries: Mapping[str, Waiting]  # the waiting entries read, by contact id
    agents: Mapping[str, Agent]
    calls: Mapping[str, Call]
    answered: Mapping[str, tuple[datetime.date, int]]
    cursor: str

    def floor(self, rules: FloorRules) -> Floor:
        """A core floor over copies, so the snapshot stays what was read."""
        return Floor(
            rules,
            waiting=sorted(self.entries.values(), key=order),
            agents=dict(sorted(self.agents.items())),
            calls=dict(sorted(self.calls.items())),
            answered=dict(self.answered),
            last_offered=self.cursor,
        )


def order(entry: Waiting) -> tuple[float, str]:
    # The core's order, which a sorted set reproduces: score, then member.
    return (entry.joined_at, entry.contact_id)


async def load(redis: Redis, keys: Keys, wants: Wants) -> Snapshot:
    for _attempt in range(READ_ATTEMPTS):
        async with redis.pipeline(transaction=True) as pipe:
            pipe.get(keys.version)
            pipe.get(keys.epoch)
            pipe.hgetall(keys.agents)
            pipe.hgetall(keys.calls)
            pipe.hgetall(keys.answered)
            pipe.get(keys.cursor)
            pipe.smembers(keys.services)
            # A leading empty field: HMGET needs one, and no citizen id is empty.
            pipe.hmget(keys.citizens, ["", *wants.citizens])
            if wants.expired_before is not None:
                pipe.zrangebyscore(keys.absent, "-inf", wants.expired_before + GRACE_MARGIN)
            for service, before in wants.joined_before:
                pipe.zrangebyscore(keys.waiting(service), "-inf", before + GRACE_MARGIN)
            if wants.whole_service is not None:
                pipe.zrange(keys.waiting(wants.whole_service), 0, -1)
            first = await pipe.execute()
        version, epoch, agents_raw, calls_raw, answered_raw, cursor, services, named, *more = first
        agents = _decode(agents_raw, codec.load_agent)
        wanted = {contact for contact in named if contact}
        for contact_ids in more:
            wanted.update(contact_ids)
        # Those maybe past a wait limit are a prefix of their line: the heads reach past them.
        limited = more[1:] if wants.expired_before is not None else more
        ending = {
            service: len(contact_ids)
            for (service, _before), contact_ids in zip(
                wants.joined_before, limited[: len(wants.joined_before)], strict=True
            )
        }
        if wants.heads:
            heads = 1 + sum(1 for agent in agents.values() if agent.state is not AgentState.IN_CALL)
            async with redis.pipeline(transaction=True) as pipe:
                for service in sorted(services):
                    pipe.zrange(keys.present(service), 0, heads + ending.get(service, 0) - 1)
                for contact_ids in await pipe.execute():
                    wanted.update(contact_ids)
        ordered = sorted(wanted)
        async with redis.pipeline(transaction=True) as pipe:
            pipe.get(keys.version)
            pipe.hmget(keys.entries, ["", *ordered])  # "" as above
            last_version, texts = await pipe.execute()
        if last_version != version or any(text is None for text in texts[1:]):
            continue
        return Snapshot(
            version=int(version or 0),
            epoch=epoch or "",
            entries={
                contact: codec.load_waiting(text)
                for contact, text in zip(ordered, texts[1:], strict=True)
            },
            agents=agents,
            calls=_decode(calls_raw, codec.load_call),
            answered=_decode(answered_raw, codec.load_answered),
            cursor=cursor or "",
        )
    raise LiveBusy()


def _decode(raw: dict[str, str], load_one: Callable[[str], V]) -> dict[str, V]:
    return {name: load_one(text) for name, text in raw.items()}


class Changes:
    """The commit script's arguments: every key in KEYS, the changes in ARGV."""

    def __init__(self, keys: Keys, snapshot: Snapshot, token: str) -> None:
        self.keys = keys
        self.slots: dict[str, int] = {keys.version: 1, keys.epoch: 2, keys.commit(token): 3}
        self.argv: list[str | float] = [snapshot.version, snapshot.epoch, COMMIT_MEMORY]
        self._tidy: dict[str, None] = {}

    @property
    def empty(self) -> bool:
        return len(self.argv) == 3 and not self._tidy

    def add(self, op: str, key: str, *operands: str | float) -> None:
        self.argv += [op, self._slot(key), *operands]

    def _slot(self, key: str) -> int:
        return self.slots.setdefault(key, len(self.slots) + 1)

    def finish(self) -> tuple[list[str], list[str | float]]:
        for service in self._tidy:
            self.argv += ["tidy", self._slot(self.keys.services), service]
            self.argv.append(self._slot(self.keys.waiting(service)))
        self._tidy.clear()
        return list(self.slots), self.argv

    def remove_waiting(self, entry: Waiting) -> None:
        keys = self.keys
        self.add("zrem", keys.waiting(entry.service), entry.contact_id)
        self.add("zrem", keys.present(entry.service), entry.contact_id)
        self.add("zrem", keys.absent, entry.contact_id)
        self.add("hdel", keys.entries, entry.contact_id)
        self.add("hdel", keys.citizens, entry.citizen_id)
        self._tidy[entry.service] = None

    def add_waiting(self, entry: Waiting) -> None:
        keys = self.keys
        self.add("hset", keys.entries, entry.contact_id, codec.dump_waiting(entry))
        self.add("hset", keys.citizens, entry.citizen_id, entry.contact_id)
        self.add("zadd", keys.waiting(entry.service), entry.joined_at, entry.contact_id)
        self.add("sadd", keys.services, entry.service)
        self._place(entry)

    def change_waiting(self, old: Waiting, new: Waiting) -> None:
        self.add("hset", self.keys.entries, new.contact_id, codec.dump_waiting(new))
        if old.absent_since != new.absent_since:
            self.add("zrem", self.keys.present(old.service), old.contact_id)
            self.add("zrem", self.keys.absent, old.contact_id)
            self._place(new)

    def _place(self, entry: Waiting) -> None:
        if entry.absent_since is None:
            self.add("zadd", self.keys.present(entry.service), entry.joined_at, entry.contact_id)
        else:
            self.add("zadd", self.keys.absent, entry.absent_since, entry.contact_id)


def changes(keys: Keys, snapshot: Snapshot, floor: Floor, token: str) -> Changes:
    """What the step changed, compared with what it read, as the commit named ``token``."""
    result = Changes(keys, snapshot, token)
    after = {entry.contact_id: entry for entry in floor.waiting}
    for contact_id, entry in snapshot.entries.items():
        if contact_id not in after:
            result.remove_waiting(entry)
    for contact_id, entry in after.items():
        old = snapshot.entries.get(contact_id)
        if old is None:
            result.add_waiting(entry)
        elif old != entry:
            result.change_waiting(old, entry)
    _hash(result, keys.agents, snapshot.agents, floor.agents, codec.dump_agent)
    _hash(result, keys.calls, snapshot.calls, floor.calls, codec.dump_call)
    _hash(
        result,
        keys.answered,
        snapshot.answered,
        floor.answered,
        lambda value: codec.dump_answered(*value),
    )
    if floor.last_offered != snapshot.cursor:
        result.add("set", keys.cursor, floor.last_offered)
    return result


def _hash(
    result: Changes,
    key: str,
    before: Mapping[str, Any],
    after: Mapping[str, Any],
    dump: Callable[[Any], str],
) -> None:
    for name in before:
        if name not in after:
            result.add("hdel", key, name)
    for name, value in after.items():
        if before.get(name) != value:
            result.add("hset", key, name, dump(value))
