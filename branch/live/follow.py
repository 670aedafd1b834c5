"""Following the other nodes' commits: the kept snapshot brought up to each one announced.

A commit that lands is announced on the live store's ``commits`` channel
(``lua/step.lua``) with the version it landed as and its change list, the very
one ``commit.lua`` applied. A node whose kept snapshot is the floor that commit
was made on (same epoch, the version it read) applies the changes to it, and
so holds the floor as it is after the commit without asking: its next step is
one round trip, as if it had made the commit itself.

The result must be exactly what a read with the kept wants would give then
(``lua/read.lua``), since a step trusts a snapshot whose version is current.
Executives, calls and the counters are read whole, so their changes apply as
they are. The citizens a snapshot names are followed through the ``citizens``
hash. The heads of a line are the first ``1 + executives not in a call`` of its
present citizens; the kept snapshot holds them, and a line shorter than that
whole, so the known part of each line is a true prefix of it. A change inside
that prefix is applied; one past its end stays unknown. When a line's known
prefix ends up shorter than the heads the new floor asks for (pairing took the
head of a long line, an executive's call ended), the snapshot cannot be
brought up to date: ``follow`` answers None and the node keeps the older one,
whose commit is then refused and runs again on the floor that comes back, as
before announcements. A lost announcement, one out of order or one of another
Redis life ends up there too: only a retry is lost, never a right answer.
"""

from __future__ import annotations

import bisect
import datetime
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import NamedTuple, TypeVar

import orjson

from branch.core.floor import Agent, Call, Waiting
from branch.live import codec
from branch.live.keys import Keys
from branch.live.snapshot import Snapshot, Wants, heads, order

# Operands of each change of commit.lua's list.
ARITY = {
    "hset": 2,
    "hdel": 1,
    "zadd": 2,
    "zrem": 1,
    "sadd": 1,
    "srem": 1,
    "set": 1,
    "del": 0,
    "tidy": 2,
}

V = TypeVar("V")


class Change(NamedTuple):
    op: str
    key: str
    operands: list[str]


@dataclass(frozen=True)
class Announcement:
    """One landed commit as ``lua/step.lua`` publishes it."""

    version: int  # the version it landed as
    read: int  # the version its step read: the floor the changes apply to
    epoch: str
    keys: list[str]  # commit.lua's KEYS, which the changes name by index
    argv: list[str]  # commit.lua's ARGV, the change list from its fourth on

    def services(self, keys: Keys) -> set[str]:
        """The lines the commit touched: a node names them in its next reads."""
        found = set()
        for key in self.keys:
            for family in (keys.present(""), keys.waiting("")):
                if key.startswith(family):
                    found.add(key.removeprefix(family))
        return found

    def changes(self) -> Iterator[Change]:
        """The changes in order; ValueError at one that is not one (the node was not told)."""
        argv, at = self.argv, 3
        while at < len(argv):
            op, slot = argv[at], argv[at + 1] if at + 1 < len(argv) else ""
            arity = ARITY.get(op, -1)
            if arity < 0 or at + 2 + arity > len(argv) or not slot.isdigit():
                raise ValueError(f"live store: announced change {op!r} at {at} is not one")
            index = int(slot)
            if not 1 <= index <= len(self.keys):
                raise ValueError(f"live store: announced change {op!r} at {at} names no key")
            yield Change(op, self.keys[index - 1], argv[at + 2 : at + 2 + arity])
            at += 2 + arity


def parse(text: str | bytes) -> Announcement:
    """The announcement in ``text``; ValueError naming what is wrong when it is none.

    Only what tells whether a snapshot can follow it is read here: its changes
    are read as they are applied (a node skips most announcements, its own).
    """
    try:
        version, commit_keys, argv = orjson.loads(text)
        read, epoch = int(argv[0]), argv[1]
        if not isinstance(version, int) or version != read + 1:
            raise ValueError(f"version {version!r} does not follow the one read, {read}")
        if not all(isinstance(value, str) for value in (epoch, *commit_keys, *argv)):
            raise ValueError("not every key and argument is a string")
    except (ValueError, TypeError, IndexError) as error:
        raise ValueError(f"live store: not an announced commit: {text[:80]!r}: {error}") from None
    return Announcement(version, read, epoch, commit_keys, argv)


class Unfollowable(Exception):
    """The kept snapshot does not hold enough to tell the floor after the commit."""


def follow(keys: Keys, kept: Snapshot, wants: Wants, told: Announcement) -> Snapshot | None:
    """What a read with ``wants`` gives right after the commit ``told``, from ``kept`` alone.

    None when ``kept`` is not the floor that commit was made on, or holds too
    little to tell (see the module's docstring). Tick's and closing's reads
    beyond the heads are not followed: the snapshot returned holds what
    ``Wants(wants.citizens, heads=wants.heads)`` reads.
    """
    if told.read != kept.version or told.epoch != kept.epoch:
        return None
    try:
        return _follow(keys, kept, wants, told)
    except Unfollowable:
        return None


def _follow(keys: Keys, kept: Snapshot, wants: Wants, told: Announcement) -> Snapshot:
    # What the commit wrote in each hash, by field; None where it removed the field.
    agents: dict[str, Agent | None] = {}
    calls: dict[str, Call | None] = {}
    answered: dict[str, tuple[datetime.date, int] | None] = {}
    written: dict[str, Waiting | None] = {}
    moved: dict[str, str | None] = {}  # citizen -> their contact now
    cursor = kept.cursor
    lines = _known_lines(kept) if wants.heads else None
    present = keys.present("")
    # Each key's name made once, not once per change.
    agents_key, calls_key, answered_key = keys.agents, keys.calls, keys.answered
    entries_key, citizens_key, cursor_key = keys.entries, keys.citizens, keys.cursor
    for change in told.changes():
        key = change.key
        if key == agents_key:
            _note(agents, change, codec.load_agent)
        elif key == calls_key:
            _note(calls, change, codec.load_call)
        elif key == answered_key:
            _note(answered, change, codec.load_answered)
        elif key == entries_key:
            _note(written, change, codec.load_waiting)
        elif key == citizens_key:
            _note(moved, change, str)
        elif key == cursor_key:
            if change.op != "set":
                raise Unfollowable(f"{change.op} on the cursor")
            cursor = change.operands[0]
        elif key.startswith(present) and lines is not None:
            line = lines.setdefault(key.removeprefix(present), _Line([], whole=True))
            line.change(change)
        # The other keys (whole lines, absences, the set of lines, the commit's own)
        # only serve reads a kept snapshot never stands for.

    def entry(contact: str) -> Waiting:
        found = written[contact] if contact in written else kept.entries.get(contact)
        if found is None:
            raise Unfollowable(f"contact {contact} is not known")
        return found

    entries: dict[str, Waiting] = {}
    for citizen in wants.citizens:
        contact = moved[citizen] if citizen in moved else _contact_of(kept, citizen)
        if contact is not None:
            entries[contact] = entry(contact)
            if entries[contact].citizen_id != citizen:
                raise Unfollowable(f"contact {contact} is not citizen {citizen}'s")
    now_agents = _merged(kept.agents, agents)
    count = heads(now_agents)
    for service, line in (lines or {}).items():
        for contact in line.first(count):
            entries[contact] = entry(contact)
            if entries[contact].service != service or entries[contact].absent_since is not None:
                raise Unfollowable(f"contact {contact} is not present in line {service}")
    return Snapshot(
        version=told.version,
        epoch=kept.epoch,
        entries=entries,
        agents=now_agents,
        calls=_merged(kept.calls, calls),
        answered=_merged(kept.answered, answered),
        cursor=cursor,
    )


class _Line:
    """The start of one line of present citizens, in the line's order, as far as it is known."""

    def __init__(self, known: list[tuple[float, str]], whole: bool) -> None:
        self.known = known
        self.whole = whole  # nobody is in the line past ``known``

    def change(self, change: Change) -> None:
        if change.op == "zadd":
            self.add(float(change.operands[0]), change.operands[1])
        elif change.op == "zrem":
            self.remove(change.operands[0])
        else:
            raise Unfollowable(f"{change.op} on a line")

    def remove(self, contact: str) -> None:
        self.known = [place for place in self.known if place[1] != contact]

    def add(self, score: float, contact: str) -> None:
        self.remove(contact)
        place = (score, contact)
        # Past the last one known, someone not known may come first.
        if self.whole or (self.known and place < self.known[-1]):
            bisect.insort(self.known, place)

    def first(self, count: int) -> list[str]:
        if len(self.known) < count and not self.whole:
            raise Unfollowable("a line's heads are past what is known of it")
        return [contact for _score, contact in self.known[:count]]


def _known_lines(kept: Snapshot) -> dict[str, _Line]:
    """What a snapshot read with the heads knows of each line.

    Every line with somebody present gave its first ``heads`` at least, so a
    line the snapshot holds nobody present of is known to be empty. Of the
    present citizens it holds in a line, the first ``heads`` are the line's
    first (the others it holds are named ones, further on), and fewer than that
    are the whole line.
    """
    count = heads(kept.agents)
    held: dict[str, list[tuple[float, str]]] = {}
    for entry in kept.entries.values():
        if entry.absent_since is None:
            held.setdefault(entry.service, []).append(order(entry))
    return {
        service: _Line(sorted(places)[:count], whole=len(places) < count)
        for service, places in held.items()
    }


def _contact_of(kept: Snapshot, citizen: str) -> str | None:
    found = [contact for contact, entry in kept.entries.items() if entry.citizen_id == citizen]
    if len(found) > 1:
        raise Unfollowable(f"citizen {citizen} has {len(found)} entries")
    return found[0] if found else None


def _note(values: dict[str, V | None], change: Change, load: Callable[[str], V]) -> None:
    if change.op == "hset":
        values[change.operands[0]] = load(change.operands[1])
    elif change.op == "hdel":
        values[change.operands[0]] = None
    else:
        raise Unfollowable(f"{change.op} on {change.key}")


def _merged(before: Mapping[str, V], written: Mapping[str, V | None]) -> dict[str, V]:
    after = {name: value for name, value in before.items() if name not in written}
    after.update((name, value) for name, value in written.items() if value is not None)
    return after
