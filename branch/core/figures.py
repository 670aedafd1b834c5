"""Contact-centre figures from contact records: pure, no clock, no store.

Every contact record is classified once, by how its wait ended:

- **answered**: an executive accepted it (``answered_at`` set);
- **short abandon**: the citizen left before ``short_abandon`` seconds;
- **abandoned**: the citizen left (or dropped) later than that;
- **closed**: let go by the service while still waiting: at the cut-off after
  closing, or when the service's hard maximum wait ran out (not an abandon:
  the citizen did not choose to leave);
- **pending**: still waiting (the wait has not ended yet).

Offered is the sum of the five, so the figures always add up. Definitions
and the service-level variant are written out in ``docs/metrics.md``.
"""

from __future__ import annotations

import datetime
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict, dataclass
from enum import StrEnum
from statistics import fmean
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from branch.core.contact import ContactRecord
from branch.core.model import EndReason

__all__ = [
    "BREAKDOWNS",
    "WAIT_EDGES",
    "WAIT_KEYS",
    "Fate",
    "Group",
    "Report",
    "Summary",
    "Thresholds",
    "fate",
    "report",
    "summarize",
]

# Lower edges (seconds) of the wait distribution's buckets; the last one is open.
WAIT_EDGES = (0, 15, 30, 60, 120, 300, 600)
WAIT_KEYS = tuple(
    f"{low}-{high}" for low, high in zip(WAIT_EDGES, [*WAIT_EDGES[1:], ""], strict=True)
)
SCORES = (1, 2, 3, 4, 5)


class Fate(StrEnum):
    ANSWERED = "answered"
    SHORT_ABANDON = "short_abandon"
    ABANDONED = "abandoned"
    CLOSED = "closed"
    PENDING = "pending"


@dataclass(frozen=True)
class Thresholds:
    """The figures' parameters: service-level threshold T, short abandon N, local day."""

    service_level: float = 60.0
    short_abandon: float = 5.0
    timezone: str = "America/Santiago"

    def __post_init__(self) -> None:
        if self.service_level <= 0:
            raise ValueError(f"service level threshold {self.service_level!r} must be positive")
        if not 0 <= self.short_abandon <= self.service_level:
            raise ValueError(
                f"short abandon threshold {self.short_abandon!r} must be between 0 and the "
                f"service level threshold ({self.service_level!r})"
            )
        try:
            ZoneInfo(self.timezone)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"{self.timezone!r} is not a known time zone") from None


def fate(record: ContactRecord, thresholds: Thresholds) -> Fate:
    """How this contact's wait ended."""
    if record.answered_at is not None:
        return Fate.ANSWERED
    if record.ended_at is None:
        return Fate.PENDING
    if record.end_reason in (EndReason.CLOSED, EndReason.WAIT_LIMIT):
        return Fate.CLOSED
    if record.ended_at - record.joined_at < thresholds.short_abandon:
        return Fate.SHORT_ABANDON
    return Fate.ABANDONED


def _wait(record: ContactRecord) -> float:
    """Seconds from joining until answered or until the wait ended (0 while pending).

    Never negative: two nodes' clocks may disagree by a little about who came first.
    """
    return max(0.0, record.waited_seconds or 0.0)


def _ratio(part: float, whole: float) -> float | None:
    return None if whole == 0 else part / whole


def _mean(values: Sequence[float]) -> float | None:
    return fmean(values) if values else None


@dataclass(frozen=True)
class Summary:
    """The standard figures over a set of contacts (rates are fractions 0..1)."""

    offered: int
    answered: int
    abandoned: int  # short abandons not included
    short_abandoned: int
    closed: int
    pending: int
    answered_within: int  # answered within the service-level threshold
    service_level: float | None
    asa: float | None  # average speed of answer, seconds
    handled: int  # answered, ended and wrapped up: the contacts AHT is taken over
    aht: float | None  # average handle time (talk + wrap-up), seconds
    talk: float | None  # average talk time of the handled contacts
    wrapup: float | None  # average wrap-up time of the handled contacts
    abandonment_rate: float | None
    transferred: int
    transfer_rate: float | None
    estimates: int  # answered contacts that were given an estimate at join
    estimate_error: float | None  # mean absolute error of the estimate, seconds
    estimate_bias: float | None  # mean of actual minus estimated wait, seconds
    surveyed: int
    satisfaction: float | None  # average score, 1..5
    scores: tuple[int, ...]  # how many surveys gave 1, 2, 3, 4 and 5

    def to_dict(self) -> dict[str, Any]:
        document = asdict(self)
        document["scores"] = list(self.scores)
        return document


def summarize(records: Iterable[ContactRecord], thresholds: Thresholds) -> Summary:
    """The figures over these contacts."""
    fates: dict[Fate, list[ContactRecord]] = {kind: [] for kind in Fate}
    for record in records:
        fates[fate(record, thresholds)].append(record)
    answered = fates[Fate.ANSWERED]
    waits = [_wait(record) for record in answered]
    within = sum(1 for wait in waits if wait <= thresholds.service_level)
    unanswered_late = sum(
        1
        for record in fates[Fate.ABANDONED] + fates[Fate.CLOSED]
        if _wait(record) > thresholds.service_level
    )
    # (talk, wrap-up) of every contact answered, ended and wrapped up.
    handled = [
        (record.ended_at - record.answered_at, record.wrapped_up_at - record.ended_at)
        for record in answered
        if record.answered_at is not None
        and record.ended_at is not None
        and record.wrapped_up_at is not None
    ]
    transferred = sum(1 for record in answered if record.end_reason is EndReason.TRANSFERRED)
    errors = [
        _wait(record) - record.estimated_wait
        for record in answered
        if record.estimated_wait is not None
    ]
    scores = [record.survey_score for record in answered if record.survey_score is not None]
    resolved = len(answered) + len(fates[Fate.ABANDONED]) + len(fates[Fate.CLOSED])
    talk = _mean([talked for talked, _ in handled])
    wrapup = _mean([wrapped for _, wrapped in handled])
    return Summary(
        offered=sum(len(group) for group in fates.values()),
        answered=len(answered),
        abandoned=len(fates[Fate.ABANDONED]),
        short_abandoned=len(fates[Fate.SHORT_ABANDON]),
        closed=len(fates[Fate.CLOSED]),
        pending=len(fates[Fate.PENDING]),
        answered_within=within,
        service_level=_ratio(within, len(answered) + unanswered_late),
        asa=_mean(waits),
        handled=len(handled),
        aht=None if talk is None or wrapup is None else talk + wrapup,
        talk=talk,
        wrapup=wrapup,
        abandonment_rate=_ratio(len(fates[Fate.ABANDONED]), resolved),
        transferred=transferred,
        transfer_rate=_ratio(transferred, len(answered)),
        estimates=len(errors),
        estimate_error=_mean([abs(error) for error in errors]),
        estimate_bias=_mean(errors),
        surveyed=len(scores),
        satisfaction=_mean([float(score) for score in scores]),
        scores=tuple(scores.count(score) for score in SCORES),
    )


@dataclass(frozen=True)
class Group:
    """One row of a breakdown: the figures of the contacts sharing ``key``."""

    key: str
    name: str  # what to show: the executive's name, else the key itself
    summary: Summary

    def to_dict(self) -> dict[str, Any]:
        return {"key": self.key, "name": self.name, **self.summary.to_dict()}


BREAKDOWNS = ("service", "reason", "outcome", "executive", "day", "hour", "wait")


@dataclass(frozen=True)
class Report:
    """The figures over a period, in total and broken down."""

    total: Summary
    by_service: tuple[Group, ...]
    by_reason: tuple[Group, ...]  # the reason confirmed at wrap-up, else the one given
    by_outcome: tuple[Group, ...]  # wrapped-up contacts only
    by_executive: tuple[Group, ...]  # answered contacts only, by who answered
    by_day: tuple[Group, ...]  # local calendar day of joining, YYYY-MM-DD
    by_hour: tuple[Group, ...]  # local hour of joining, 00..23
    # Every wait bucket, in order, keyed "low-high" seconds ("600-": no upper end);
    # a contact falls where its wait ended (answered, abandoned or closed).
    by_wait: tuple[Group, ...]

    def breakdown(self, name: str) -> tuple[Group, ...]:
        groups: tuple[Group, ...] = getattr(self, f"by_{name}")
        return groups

    def to_dict(self) -> dict[str, Any]:
        document: dict[str, Any] = {"total": self.total.to_dict()}
        for name in BREAKDOWNS:
            document[f"by_{name}"] = [group.to_dict() for group in self.breakdown(name)]
        return document


def _groups(
    records: Sequence[ContactRecord],
    thresholds: Thresholds,
    key: Callable[[ContactRecord], str | None],
    name: Callable[[ContactRecord], str | None] = lambda record: None,
    order: Sequence[str] = (),
) -> tuple[Group, ...]:
    """One group per key, sorted; with ``order``, exactly those keys in that order."""
    members: dict[str, list[ContactRecord]] = defaultdict(list)
    names: dict[str, str] = {}
    for record in records:
        value = key(record)
        if value is not None:
            members[value].append(record)
            names[value] = name(record) or names.get(value) or value
    return tuple(
        Group(value, names.get(value, value), summarize(members[value], thresholds))
        for value in (order or sorted(members))
    )


def _wait_bucket(record: ContactRecord, thresholds: Thresholds) -> str | None:
    if fate(record, thresholds) is Fate.PENDING:
        return None
    wait = _wait(record)
    return next(
        key for low, key in zip(WAIT_EDGES[::-1], WAIT_KEYS[::-1], strict=True) if wait >= low
    )


def report(records: Iterable[ContactRecord], thresholds: Thresholds) -> Report:
    """The whole report over these contacts."""
    contacts = list(records)
    zone = ZoneInfo(thresholds.timezone)

    def local(record: ContactRecord) -> datetime.datetime:
        return datetime.datetime.fromtimestamp(record.joined_at, zone)

    return Report(
        total=summarize(contacts, thresholds),
        by_service=_groups(contacts, thresholds, lambda r: r.service),
        by_reason=_groups(contacts, thresholds, lambda r: r.confirmed_reason_code or r.reason_code),
        by_outcome=_groups(
            contacts, thresholds, lambda r: r.outcome_code if r.wrapped_up_at else None
        ),
        by_executive=_groups(
            contacts,
            thresholds,
            lambda r: r.executive_run if r.answered_at is not None else None,
            lambda r: r.executive_name,
        ),
        by_day=_groups(contacts, thresholds, lambda r: local(r).date().isoformat()),
        by_hour=_groups(contacts, thresholds, lambda r: f"{local(r).hour:02d}"),
        by_wait=_groups(
            contacts, thresholds, lambda r: _wait_bucket(r, thresholds), order=WAIT_KEYS
        ),
    )
