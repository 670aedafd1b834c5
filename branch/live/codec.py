"""The floor's value objects as JSON text for Redis, and back, losslessly.

Field names are the dataclass fields; floats keep every bit (JSON writes the
shortest repr that reads back the same); enums travel as their values. A
decoding error names the object and the bad text, since it means another
version of the branch wrote the key.
"""

from __future__ import annotations

import datetime
import json
from collections.abc import Callable
from dataclasses import asdict
from typing import Any, TypeVar

from branch.core.floor import Agent, AgentState, Call, Waiting
from branch.live.base import Notice

T = TypeVar("T")


def dump_waiting(entry: Waiting) -> str:
    return json.dumps(asdict(entry), ensure_ascii=False, separators=(",", ":"))


def load_waiting(text: str | bytes) -> Waiting:
    return _load("Waiting", text, _waiting)


def dump_agent(agent: Agent) -> str:
    fields = asdict(agent)
    fields["state"] = agent.state.value
    return json.dumps(fields, ensure_ascii=False, separators=(",", ":"))


def load_agent(text: str | bytes) -> Agent:
    return _load("Agent", text, _agent)


def dump_call(call: Call) -> str:
    fields = asdict(call)
    return json.dumps(fields, ensure_ascii=False, separators=(",", ":"))


def load_call(text: str | bytes) -> Call:
    return _load("Call", text, _call)


def dump_answered(day: datetime.date, count: int) -> str:
    return json.dumps([day.isoformat(), count])


def load_answered(text: str | bytes) -> tuple[datetime.date, int]:
    return _load("answered count", text, _answered)


def dump_notice(notice: Notice) -> str:
    return json.dumps(asdict(notice), ensure_ascii=False, separators=(",", ":"))


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
        return build(json.loads(text))
    except (ValueError, TypeError, KeyError) as error:
        raise ValueError(f"live store: cannot read {what} from {text[:80]!r}: {error}") from None
