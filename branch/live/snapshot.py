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

The snapshot is read by one script (``lua/read.lua``), in one round trip and
so consistent, or comes back from the same script run right after the node's
last commit (``lua/step.lua``; when that commit is still the last one, only the
entries the node's floor does not hold come back, the rest being that floor);
the commit script then refuses the step if anyone committed since that read. ``Wants.covers`` says when a snapshot read
for one step holds what another wants.
"""

from __future__ import annotations

import datetime
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, TypeVar

from redis.commands.core import AsyncScript

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

    def covers(self, other: Wants) -> bool:
        """A snapshot read for these wants holds all that a step wanting ``other`` reads."""
        return (
            set(other.citizens) <= set(self.citizens)
            and (self.heads or not other.heads)
            and other.expired_before is None
            and not other.joined_before
            and other.whole_service is None
        )


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


def heads(agents: Mapping[str, Agent]) -> int:
    """How many citizens of each line a read takes from its head (``lua/read.lua`` counts the same)."""
    return 1 + sum(agent.state is not AgentState.IN_CALL for agent in agents.values())


def order(entry: Waiting) -> tuple[float, str]:
    # The core's order, which a sorted set reproduces: score, then member.
    return (entry.joined_at, entry.contact_id)


async def load(read: AsyncScript, keys: Keys, wants: Wants, services: set[str]) -> Snapshot:
    """One snapshot in one round trip (``lua/read.lua``).

    ``services`` are the lines the caller knows of, whose heads the script can
    read; a line it does not know yet is added and the snapshot read again.
    """
    for _attempt in range(READ_ATTEMPTS):
        script_keys, argv = read_request(keys, wants, services)
        snapshot = read_reply(await read(keys=script_keys, args=argv), services)
        if snapshot is not None:
            return snapshot
    raise LiveBusy()


def read_request(keys: Keys, wants: Wants, services: set[str]) -> tuple[list[str], list[str | int]]:
    """The KEYS and ARGV of ``lua/read.lua`` for ``wants``, naming the lines in ``services``."""
    ranges = [(service, repr(before + GRACE_MARGIN)) for service, before in wants.joined_before]
    if wants.whole_service is not None:
        ranges.append((wants.whole_service, "all"))
    expired = "" if wants.expired_before is None else repr(wants.expired_before + GRACE_MARGIN)
    named = sorted(services)
    script_keys = [
        keys.version,
        keys.epoch,
        keys.agents,
        keys.calls,
        keys.answered,
        keys.cursor,
        keys.services,
        keys.citizens,
        keys.entries,
        keys.absent,
        *(keys.present(service) for service in named),
        *(keys.waiting(service) for service, _limit in ranges),
    ]
    argv: list[str | int] = ["1" if wants.heads else "0", expired]
    argv += [len(wants.citizens), *wants.citizens, len(named), *named, len(ranges)]
    for service, limit in ranges:
        argv += [service, limit]
    return script_keys, argv


def read_reply(reply: list[Any], services: set[str]) -> Snapshot | None:
    """The snapshot ``lua/read.lua`` answered, or None when it must be read again.

    Again when a line was not named (it is added to ``services``), or when an
    entry named was gone (only a Redis that lost data mid-read).
    """
    version, epoch, agents_raw, calls_raw, answered_raw, cursor, missing, contacts, texts = reply
    if missing:
        services.update(missing)
        return None
    if any(text is None for text in texts):
        return None
    return Snapshot(
        version=int(version),
        epoch=epoch,
        entries={
            contact: codec.load_waiting(text) for contact, text in zip(contacts, texts, strict=True)
        },
        agents=_decode(_pairs(agents_raw), codec.load_agent),
        calls=_decode(_pairs(calls_raw), codec.load_call),
        answered=_decode(_pairs(answered_raw), codec.load_answered),
        cursor=cursor,
    )


def landed_reply(
    reply: list[Any], floor: Floor, version: int, epoch: str, services: set[str]
) -> Snapshot | None:
    """The snapshot ``lua/step.lua`` answered after a commit that is still the last one.

    ``floor`` is the step's floor, which is then the floor in Redis: the script
    sent back only which contacts it read and the entries ``floor`` does not
    hold. None when it must be read again, as for ``read_reply``. The snapshot
    takes over the floor's executives, calls and counters, not copied: the step
    is over, and nothing changes that floor again.
    """
    missing, contacts, texts = reply
    if missing:
        services.update(missing)
        return None
    held = {entry.contact_id: entry for entry in floor.waiting}
    fresh = iter(texts)
    entries: dict[str, Waiting] = {}
    for contact in contacts:
        entry = held.get(contact)
        if entry is None:
            text = next(fresh, None)
            if text is None:
                return None
            entry = codec.load_waiting(text)
        entries[contact] = entry
    return Snapshot(
        version=version,
        epoch=epoch,
        entries=entries,
        agents=floor.agents,
        calls=floor.calls,
        answered=floor.answered,
        cursor=floor.last_offered,
    )


def _pairs(flat: list[str]) -> dict[str, str]:
    """A hash as HGETALL answers inside a script: field, value, field, value…"""
    return dict(zip(flat[::2], flat[1::2], strict=True))


def _decode(raw: dict[str, str], load_one: Callable[[str], V]) -> dict[str, V]:
    return {name: load_one(text) for name, text in raw.items()}


class Changes:
    """The commit script's arguments: every key in KEYS, the changes in ARGV.

    Each change is written straight into ARGV, its key's slot given on first
    use: a step runs this for every object it changed, on the path of the
    people it pairs, so no helper call per change.
    """

    def __init__(self, keys: Keys, snapshot: Snapshot, token: str) -> None:
        self.keys = keys
        self.slots: dict[str, int] = {keys.version: 1, keys.epoch: 2, keys.commit(token): 3}
        self.argv: list[str | float] = [snapshot.version, snapshot.epoch, COMMIT_MEMORY]
        self._tidy: dict[str, None] = {}

    @property
    def empty(self) -> bool:
        return len(self.argv) == 3 and not self._tidy

    def add(self, op: str, key: str, *operands: str | float) -> None:
        slots = self.slots
        self.argv += (op, slots.setdefault(key, len(slots) + 1), *operands)

    def finish(self) -> tuple[list[str], list[str | float]]:
        keys, slots, argv = self.keys, self.slots, self.argv
        services = slots.setdefault(keys.services, len(slots) + 1) if self._tidy else 0
        for service in self._tidy:
            line = slots.setdefault(keys.waiting(service), len(slots) + 1)
            argv += ("tidy", services, service, line)
        self._tidy.clear()
        return list(slots), argv

    def remove_waiting(self, entry: Waiting) -> None:
        keys = self.keys
        self.add("zrem", keys.waiting(entry.service), entry.contact_id)
        self._unplace(entry)
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
            self._unplace(old)
            self._place(new)

    def _unplace(self, entry: Waiting) -> None:
        # An entry is in exactly one of the two sets (``_place``), as read: the commit
        # lands only on the version read, so the other needs no ZREM.
        if entry.absent_since is None:
            self.add("zrem", self.keys.present(entry.service), entry.contact_id)
        else:
            self.add("zrem", self.keys.absent, entry.contact_id)

    def _place(self, entry: Waiting) -> None:
        if entry.absent_since is None:
            self.add("zadd", self.keys.present(entry.service), entry.joined_at, entry.contact_id)
        else:
            self.add("zadd", self.keys.absent, entry.absent_since, entry.contact_id)

    def changed_hash(
        self,
        key: str,
        before: Mapping[str, V],
        after: Mapping[str, V],
        dump: Callable[[V], str],
    ) -> None:
        """The fields of one hash that a step took out, put in or replaced."""
        slot = 0
        argv = self.argv
        if not after.keys() >= before.keys():
            slot = self.slots.setdefault(key, len(self.slots) + 1)
            argv += (item for name in before if name not in after for item in ("hdel", slot, name))
        # What a step did not touch is the very object it read: no field-by-field comparison.
        for name, value in after.items():
            old = before.get(name)
            if old is not value and (old is None or old != value):
                if not slot:
                    slot = self.slots.setdefault(key, len(self.slots) + 1)
                argv += ("hset", slot, name, dump(value))


def changes(keys: Keys, snapshot: Snapshot, floor: Floor, token: str) -> Changes:
    """What the step changed, compared with what it read, as the commit named ``token``."""
    result = Changes(keys, snapshot, token)
    before = snapshot.entries
    waiting = floor.waiting
    # Most steps leave the line as read, holding the very entries: no dict of it then.
    if len(waiting) != len(before) or any(before.get(e.contact_id) is not e for e in waiting):
        after = {entry.contact_id: entry for entry in waiting}
        for contact_id, entry in before.items():
            if contact_id not in after:
                result.remove_waiting(entry)
        for contact_id, entry in after.items():
            old = before.get(contact_id)
            if old is None:
                result.add_waiting(entry)
            elif old is not entry and old != entry:
                result.change_waiting(old, entry)
    result.changed_hash(keys.agents, snapshot.agents, floor.agents, codec.dump_agent)
    result.changed_hash(keys.calls, snapshot.calls, floor.calls, codec.dump_call)
    result.changed_hash(keys.answered, snapshot.answered, floor.answered, _dump_answered)
    if floor.last_offered != snapshot.cursor:
        result.add("set", keys.cursor, floor.last_offered)
    return result


def _dump_answered(value: tuple[datetime.date, int]) -> str:
    return codec.dump_answered(*value)
