"""Opening hours in Santiago's time zone, holidays, cut-off and admission."""

from __future__ import annotations

import datetime

import pytest

from branch.core.hours import Admission, Refusal, Schedule

UTC = datetime.UTC
OFFICE = Schedule.parse(["mon-fri 08:30-13:30"], ["2026-12-25"])


def at(text: str) -> float:
    """An instant given in UTC, so the test pins down what Santiago time it is."""
    return datetime.datetime.fromisoformat(text).replace(tzinfo=UTC).timestamp()


@pytest.mark.parametrize(
    ("utc", "is_open"),
    [
        # November: Chile on summer time, UTC-3. 08:30 local is 11:30 UTC.
        ("2026-11-24T11:29:59", False),
        ("2026-11-24T11:30:00", True),
        ("2026-11-24T16:29:59", True),
        ("2026-11-24T16:30:00", False),
        # June: winter time, UTC-4. 08:30 local is 12:30 UTC.
        ("2026-06-16T11:30:00", False),
        ("2026-06-16T12:30:00", True),
        # Saturday, and Christmas (a Friday) are closed.
        ("2026-11-28T13:00:00", False),
        ("2026-12-25T13:00:00", False),
        ("2026-12-24T13:00:00", True),
    ],
)
def test_open_in_local_time(utc: str, is_open: bool) -> None:
    assert OFFICE.is_open(at(utc)) is is_open


@pytest.mark.parametrize(
    ("utc", "next_opening"),
    [
        ("2026-11-24T05:00:00", "2026-11-24T11:30:00"),  # before opening: today
        ("2026-11-24T17:00:00", "2026-11-25T11:30:00"),  # after closing: tomorrow
        ("2026-11-27T17:00:00", "2026-11-30T11:30:00"),  # Friday evening: Monday
        ("2026-12-24T17:00:00", "2026-12-28T11:30:00"),  # Christmas Friday skipped
        # Saturday 4 April 2026 evening; Chile leaves summer time that night: Monday opens at UTC-4.
        ("2026-04-04T20:00:00", "2026-04-06T12:30:00"),
    ],
)
def test_next_opening_skips_nights_weekends_holidays_and_follows_the_clock_change(
    utc: str, next_opening: str
) -> None:
    assert OFFICE.next_opening(at(utc)) == at(next_opening)


def test_closing_and_last_closing() -> None:
    assert OFFICE.closes_at(at("2026-11-24T12:00:00")) == at("2026-11-24T16:30:00")
    assert OFFICE.closes_at(at("2026-11-24T17:00:00")) is None
    assert OFFICE.last_closing(at("2026-11-24T17:00:00")) == at("2026-11-24T16:30:00")
    assert OFFICE.last_closing(at("2026-11-30T11:00:00")) == at("2026-11-27T16:30:00")


def test_several_intervals_and_days() -> None:
    schedule = Schedule.parse(["mon-thu 08:30-13:30", "mon-thu 14:30-17:00", "fri 08:30-12:00"], [])
    assert schedule.is_open(at("2026-11-24T18:00:00"))  # Tuesday 15:00 local
    assert not schedule.is_open(at("2026-11-24T17:00:00"))  # Tuesday 14:00 local: lunch
    assert not schedule.is_open(at("2026-11-27T15:30:00"))  # Friday 12:30 local
    assert schedule.next_opening(at("2026-11-24T17:00:00")) == at("2026-11-24T17:30:00")


def test_a_schedule_without_hours_is_always_open() -> None:
    schedule = Schedule.parse([], [])
    assert schedule.always_open
    assert schedule.is_open(at("2026-11-28T03:00:00"))
    assert schedule.next_opening(at("2026-11-28T03:00:00")) is None
    assert schedule.closes_at(at("2026-11-28T03:00:00")) is None


@pytest.mark.parametrize(
    ("rules", "holidays", "timezone", "message"),
    [
        (["weekdays 08:30-13:30"], [], "America/Santiago", "is not like 'mon-fri 08:30-13:30'"),
        (["mon-fre 08:30-13:30"], [], "America/Santiago", "days are mon, tue"),
        (["mon 13:30-08:30"], [], "America/Santiago", "closing must come after opening"),
        (["mon 08:30-25:00"], [], "America/Santiago", "25:00 is not a time of day"),
        (["mon 08:00-12:00", "mon 11:00-14:00"], [], "America/Santiago", "overlap"),
        ([], ["25/12/2026"], "America/Santiago", "is not a date like 2026-12-25"),
        ([], [], "America/Nowhere", "is not a known time zone"),
    ],
)
def test_bad_hours_are_named(
    rules: list[str], holidays: list[str], timezone: str, message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        Schedule.parse(rules, holidays, timezone)


def test_weekday_ranges_wrap_around_the_week() -> None:
    schedule = Schedule.parse(["sat-mon 10:00-11:00"], [])
    assert [bool(day) for day in schedule.weekly] == [True, False, False, False, False, True, True]


# Tuesday 24 November 2026: 12:00 local is 15:00 UTC; the office closes at 16:30 UTC.
NOON = at("2026-11-24T15:00:00")


@pytest.mark.parametrize(
    ("admission", "now", "waiting", "staffed", "estimate", "refusal"),
    [
        (Admission(OFFICE), NOON, 3, 2, 600.0, None),
        (Admission(OFFICE), at("2026-11-24T17:00:00"), 0, 2, None, Refusal.CLOSED),
        (Admission(OFFICE, allow_unstaffed=False), NOON, 0, 0, None, Refusal.NO_EXECUTIVES),
        (Admission(OFFICE, allow_unstaffed=True), NOON, 0, 0, None, None),
        (Admission(OFFICE, max_waiting=3), NOON, 3, 2, None, Refusal.QUEUE_FULL),
        (Admission(OFFICE, max_waiting=3), NOON, 2, 2, None, None),
        (Admission(OFFICE, max_wait=1800), NOON, 9, 1, 1801.0, Refusal.WAIT_TOO_LONG),
        (Admission(OFFICE, max_wait=1800), NOON, 9, 1, None, None),  # no history: no guess
        # 90 minutes left until closing: an estimate of 95 minutes would be cut off ...
        (Admission(OFFICE), NOON, 9, 1, 95 * 60.0, Refusal.AFTER_CLOSING),
        # ... unless the line is served 10 minutes past closing.
        (Admission(OFFICE, serve_after_close=600), NOON, 9, 1, 95 * 60.0, None),
        (Admission(), at("2026-11-28T03:00:00"), 50, 1, 10**6, None),  # always open, no limits
    ],
)
def test_admission(
    admission: Admission,
    now: float,
    waiting: int,
    staffed: int,
    estimate: float | None,
    refusal: Refusal | None,
) -> None:
    assert admission.refusal(now, waiting, staffed, estimate) == refusal


@pytest.mark.parametrize(
    ("utc", "serve_after_close", "cut_off"),
    [
        ("2026-11-24T16:00:00", 0, False),  # open
        ("2026-11-24T16:30:00", 0, True),  # closed, no time after closing
        ("2026-11-24T16:40:00", 900, False),  # 10 of 15 minutes after closing
        ("2026-11-24T16:45:00", 900, True),
        ("2026-11-25T05:00:00", 900, True),  # the night after
    ],
)
def test_cut_off_after_closing(utc: str, serve_after_close: float, cut_off: bool) -> None:
    admission = Admission(OFFICE, serve_after_close=serve_after_close)
    assert admission.cut_off(at(utc)) is cut_off


def test_an_always_open_service_is_never_cut_off() -> None:
    assert Admission().cut_off(at("2026-11-28T03:00:00")) is False
