"""The floor's value objects as JSON text for Redis, and back, losslessly.

Field names are the dataclass fields; floats keep every bit (JSON writes the
shortest repr that reads back the same); enums travel as their values. A
decoding error names the object and the bad text, since it means another
version of the branch wrote the key.

orjson, whose own dataclass serializer writes each object's fields in order
(a call's waiting entry nested, the state as its value, tuples as arrays) with
no dict built in Python: every step of the Redis live store writes and reads
these, and ``dataclasses.asdict`` (a deep copy of every field) with the
stdlib's JSON took most of a step's own time.
"""

from __future__ import annotations

import datetime
from collections.abc import Callable
from typing import Any, TypeVar

import orjson

from branch.core.floor import Agent, AgentState, Call, Waiting
from branch.live.base import Notice

T = TypeVar("T")


def _text(value: Any) -> str:
    return orjson.dumps(value).decode()


def dump_waiting(entry: Waiting) -> str:
    return _text(entry)


def load_waiting(text: str | bytes) -> Waiting:
    return _load("Waiting", text, _waiting)


def dump_agent(agent: Agent) -> str:
    return _text(agent)


def load_agent(text: str | bytes) -> Agent:
    return _load("Agent", text, _agent)


def dump_call(call: Call) -> str:
    return _text(call)


def load_call(text: str | bytes) -> Call:
    return _load("Call", text, _call)


def dump_answered(day: datetime.date, count: int) -> str:
    return _text([day.isoformat(), count])


def load_answered(text: str | bytes) -> tuple[datetime.date, int]:
    return _load("answered count", text, _answered)


def dump_notice(notice: Notice) -> str:
    return _text(notice)


def load_notice(text: str | bytes) -> Notice:
    return _load("Notice", text, lambda fields: Notice(**fields))


def _waiting(fields: Any) -> Waiting:
    return Waiting(**fields)


def _agent(fields: Any) -> Agent:
    fields["state"] = AgentState(fields["state"])
    fields["skills"] = tuple(tuple(tier) for tier in fields["skills"])
    return Agent(**fields)


def _call(fields: Any) -> Call:
    fields["waiting"] = _waiting(fields["waiting"])
    return Call(**fields)


def _answered(fields: Any) -> tuple[datetime.date, int]:
    day, count = fields
    if not isinstance(count, int):
        raise TypeError(f"count {count!r} is not a whole number")
    return datetime.date.fromisoformat(day), count


def _load(what: str, text: str | bytes, build: Callable[[Any], T]) -> T:
    try:
        return build(orjson.loads(text))
    except (ValueError, TypeError, KeyError) as error:
        raise ValueError(f"live store: cannot read {what} from {text[:80]!r}: {error}") from None
