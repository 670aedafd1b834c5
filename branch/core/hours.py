"""Opening hours, holidays and who may join: pure functions of ``now``.

A schedule is a set of weekly intervals in the service's own time zone plus
a list of holidays. Times are computed in local time and turned into epoch
seconds, so daylight-saving changes in Chile move the instants, not the
opening hours people read on the door.
"""

from __future__ import annotations

import datetime
import itertools
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_RULE = re.compile(
    r"^\s*(?P<first>[a-z]{3})(?:\s*-\s*(?P<last>[a-z]{3}))?\s+"
    r"(?P<opens>\d{1,2}:\d{2})\s*-\s*(?P<closes>\d{1,2}:\d{2})\s*$"
)
# Far enough to skip the longest run of holidays plus weekends anyone configures.
_LOOKAHEAD_DAYS = 400

Interval = tuple[datetime.time, datetime.time]


@dataclass(frozen=True)
class Schedule:
    """Weekly opening intervals (Monday first) and holidays; no intervals means always open."""

    timezone: str = "America/Santiago"
    weekly: tuple[tuple[Interval, ...], ...] = ((),) * 7
    holidays: frozenset[datetime.date] = field(default_factory=frozenset)

    @classmethod
    def parse(
        cls, rules: Sequence[str], holidays: Sequence[str], timezone: str = "America/Santiago"
    ) -> Schedule:
        """From ``["mon-fri 08:30-13:30", "sat 09:00-12:00"]`` and ISO dates; ValueError names the fault."""
        try:
            ZoneInfo(timezone)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"{timezone!r} is not a known time zone") from None
        weekly: list[list[Interval]] = [[] for _ in DAYS]
        for rule in rules:
            match = _RULE.match(rule.lower())
            if match is None:
                raise ValueError(f"{rule!r} is not like 'mon-fri 08:30-13:30'")
            first, last = match["first"], match["last"] or match["first"]
            if first not in DAYS or last not in DAYS:
                raise ValueError(f"{rule!r}: days are {', '.join(DAYS)}")
            opens, closes = _time(match["opens"], rule), _time(match["closes"], rule)
            if closes <= opens:
                raise ValueError(f"{rule!r}: closing must come after opening on the same day")
            day = DAYS.index(first)
            while True:
                weekly[day].append((opens, closes))
                if day == DAYS.index(last):
                    break
                day = (day + 1) % 7
        for intervals in weekly:
            intervals.sort()
            for (_, closes), (opens, _) in itertools.pairwise(intervals):
                if opens < closes:
                    raise ValueError(f"opening hours overlap: {', '.join(rules)}")
        dates = set()
        for holiday in holidays:
            try:
                dates.add(datetime.date.fromisoformat(holiday))
            except ValueError:
                raise ValueError(f"holiday {holiday!r} is not a date like 2026-12-25") from None
        return cls(timezone, tuple(tuple(day) for day in weekly), frozenset(dates))

    @property
    def always_open(self) -> bool:
        return not any(self.weekly)

    def is_open(self, now: float) -> bool:
        return self.always_open or any(start <= now < end for start, end in self._around(now))

    def closes_at(self, now: float) -> float | None:
        """When the interval open at ``now`` ends; None when closed now or always open."""
        return next((end for start, end in self._around(now) if start <= now < end), None)

    def last_closing(self, now: float) -> float | None:
        """The most recent closing at or before ``now``; None when always open or never closed."""
        ends = [end for _, end in self._around(now, back=8) if end <= now]
        return max(ends, default=None)

    def next_opening(self, now: float) -> float | None:
        """The next opening after ``now``; None when always open or no opening within a year."""
        return next((start for start, _ in self._intervals(now) if start > now), None)

    def _around(self, now: float, back: int = 1) -> Iterator[tuple[float, float]]:
        zone = ZoneInfo(self.timezone)
        today = datetime.datetime.fromtimestamp(now, zone).date()
        for offset in range(-back, 2):
            yield from self._day(today + datetime.timedelta(days=offset), zone)

    def _intervals(self, now: float) -> Iterator[tuple[float, float]]:
        zone = ZoneInfo(self.timezone)
        today = datetime.datetime.fromtimestamp(now, zone).date()
        if self.always_open:
            return
        for offset in range(_LOOKAHEAD_DAYS):
            yield from self._day(today + datetime.timedelta(days=offset), zone)

    def _day(self, day: datetime.date, zone: ZoneInfo) -> Iterator[tuple[float, float]]:
        if day in self.holidays:
            return
        for opens, closes in self.weekly[day.weekday()]:
            start = datetime.datetime.combine(day, opens, zone).timestamp()
            end = datetime.datetime.combine(day, closes, zone).timestamp()
            yield start, end


def _time(text: str, rule: str) -> datetime.time:
    hours, minutes = (int(part) for part in text.split(":"))
    if hours == 24 and minutes == 0:
        return datetime.time.max
    if not (0 <= hours < 24 and 0 <= minutes < 60):
        raise ValueError(f"{rule!r}: {text} is not a time of day")
    return datetime.time(hours, minutes)


class Refusal(StrEnum):
    """Why a citizen may not join now; each has its own message on the page."""

    CLOSED = "closed"
    NO_EXECUTIVES = "no_executives"
    QUEUE_FULL = "queue_full"
    WAIT_TOO_LONG = "wait_too_long"
    AFTER_CLOSING = "after_closing"


@dataclass(frozen=True)
class Admission:
    """A service's admission rules, from config."""

    schedule: Schedule = field(default_factory=Schedule)
    serve_after_close: float = 0.0  # seconds the line is still served after closing
    allow_unstaffed: bool = True  # may people wait while no executive is logged in?
    max_waiting: int = 0  # 0: no limit
    max_wait: float = 0.0  # seconds; 0: no limit

    def last_service(self, now: float) -> float | None:
        """The latest instant someone joining now could still be served; None: no limit."""
        closes = self.schedule.closes_at(now)
        return None if closes is None else closes + self.serve_after_close

    def cut_off(self, now: float) -> bool:
        """True once the line of a closed service should be let go."""
        if self.schedule.is_open(now):
            return False
        closed = self.schedule.last_closing(now)
        return closed is not None and now - closed >= self.serve_after_close

    def refusal(
        self, now: float, waiting: int, staffed: int, estimate: float | None
    ) -> Refusal | None:
        """Whether a new citizen may join a line of ``waiting`` people, and if not, why.

        ``estimate`` is the predicted wait of the newcomer (None: no history);
        without history nobody is turned away on a guess.
        """
        if not self.schedule.is_open(now):
            return Refusal.CLOSED
        if staffed == 0 and not self.allow_unstaffed:
            return Refusal.NO_EXECUTIVES
        if self.max_waiting and waiting >= self.max_waiting:
            return Refusal.QUEUE_FULL
        if estimate is not None and self.max_wait and estimate > self.max_wait:
            return Refusal.WAIT_TOO_LONG
        last = self.last_service(now)
        if estimate is not None and last is not None and now + estimate > last:
            return Refusal.AFTER_CLOSING
        return None
