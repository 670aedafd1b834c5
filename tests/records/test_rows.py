"""Folio days: looked up per UTC hour, always the Santiago day of the very moment."""

from __future__ import annotations

import datetime

import pytest

from branch.records.rows import FOLIO_ZONE, folio_day


def santiago_day(at: float) -> str:
    return datetime.datetime.fromtimestamp(at, FOLIO_ZONE).strftime("%Y%m%d")


@pytest.mark.parametrize(
    ("start", "expected"),
    [
        ("2026-04-04T22:00:00-03:00", ["20260404", "20260404", "20260404", "20260405"]),  # back
        ("2026-09-05T22:00:00-04:00", ["20260905", "20260905", "20260906", "20260906"]),  # ahead
        ("1905-03-10T22:00:00-04:42:45", ["19050310", "19050310", "19050311", "19050311"]),
    ],
)
def test_the_day_turns_when_santiago_s_clock_does(start: str, expected: list[str]) -> None:
    """Around a change of offset and under the old offset that was not whole hours."""
    first = datetime.datetime.fromisoformat(start).timestamp()
    moments = [first + 1800 * step for step in range(8)]
    days = [folio_day(at) for at in moments]
    assert days == [santiago_day(at) for at in moments]
    assert days[::2] == expected


def test_every_second_either_side_of_midnight_has_its_own_day() -> None:
    midnight = datetime.datetime(2026, 11, 24, tzinfo=FOLIO_ZONE).timestamp()
    for at in (midnight - 1.5, midnight - 0.25, midnight - 1e-6, midnight, midnight + 0.5):
        assert folio_day(at) == santiago_day(at) == ("20261124" if at >= midnight else "20261123")
