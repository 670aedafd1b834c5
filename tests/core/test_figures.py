"""Figures over the scripted day (tests/scripted_day.py) whose values were worked out by hand."""

from __future__ import annotations

from dataclasses import replace

import pytest

from branch.core.figures import WAIT_KEYS, Fate, Group, Thresholds, fate, report, summarize
from branch.records.base import EndReason
from tests.scripted_day import DAY, T60, TEN, TOTAL, A, contact


def test_the_scripted_day_in_total() -> None:
    assert summarize(DAY, T60) == TOTAL


def test_offered_is_the_sum_of_every_fate() -> None:
    total = summarize(DAY, T60)
    assert total.offered == sum(
        (total.answered, total.abandoned, total.short_abandoned, total.closed, total.pending)
    )


@pytest.mark.parametrize(
    ("service_level", "short_abandon", "within", "level", "abandoned", "short", "rate"),
    [
        # T 30: within c1 20, c7 30, c12 10; late unanswered c5 45, c6 120, c10 400.
        (30, 5, 3, 3 / 10, 2, 1, 2 / 10),
        (60, 5, 5, 5 / 9, 2, 1, 2 / 10),
        # T 120: c6 left at exactly 120 s, which is not after the threshold.
        (120, 5, 6, 6 / 8, 2, 1, 2 / 10),
        # N 0: c4's 3 s is a real abandon; N 50: c5's 45 s is a short one too.
        (60, 0, 5, 5 / 9, 3, 0, 3 / 11),
        (60, 50, 5, 5 / 9, 1, 2, 1 / 9),
    ],
)
def test_thresholds_move_the_figures(
    service_level: float,
    short_abandon: float,
    within: int,
    level: float,
    abandoned: int,
    short: int,
    rate: float,
) -> None:
    total = summarize(DAY, Thresholds(service_level, short_abandon))
    assert (
        total.answered_within,
        total.service_level,
        total.abandoned,
        total.short_abandoned,
        total.abandonment_rate,
    ) == (within, level, abandoned, short, rate)


@pytest.mark.parametrize(
    ("contact_id", "expected"),
    [
        ("c1", Fate.ANSWERED),
        ("c4", Fate.SHORT_ABANDON),
        ("c5", Fate.ABANDONED),
        ("c6", Fate.ABANDONED),
        ("c9", Fate.ANSWERED),
        ("c10", Fate.CLOSED),
        ("c11", Fate.PENDING),
        ("c12", Fate.ANSWERED),
    ],
)
def test_fate_of_each_contact(contact_id: str, expected: Fate) -> None:
    record = next(record for record in DAY if record.contact_id == contact_id)
    assert fate(record, T60) is expected


@pytest.mark.parametrize(
    ("end", "expected"),
    [
        (EndReason.CITIZEN_LEFT, Fate.ABANDONED),
        (EndReason.CITIZEN_DROPPED, Fate.ABANDONED),
        # Let go by the service, not by the citizen: neither is an abandon.
        (EndReason.CLOSED, Fate.CLOSED),
        (EndReason.WAIT_LIMIT, Fate.CLOSED),
    ],
)
def test_a_wait_ended_by_the_service_is_not_an_abandon(end: EndReason, expected: Fate) -> None:
    assert fate(contact("x", 0, wait=600, end=end, answered=False), T60) is expected


def test_an_abandon_of_exactly_n_seconds_is_not_short() -> None:
    record = contact("x", 0, wait=5, end=EndReason.CITIZEN_LEFT, answered=False)
    assert fate(record, T60) is Fate.ABANDONED
    assert fate(replace(record, ended_at=record.joined_at + 4.999), T60) is Fate.SHORT_ABANDON


def test_a_clock_skew_between_nodes_counts_as_no_wait() -> None:
    # Answered on a node whose clock is 2 s behind the one the citizen joined on.
    skewed = replace(contact("x", 0, wait=10, executive=A), answered_at=TEN - 2)
    day = report([skewed], T60)
    assert (day.total.asa, day.total.answered_within) == (0.0, 1)
    assert day.by_wait[0].summary.answered == 1


def test_no_contacts_gives_counts_of_zero_and_no_averages() -> None:
    empty = summarize([], T60)
    assert (empty.offered, empty.service_level, empty.asa, empty.aht, empty.satisfaction) == (
        0,
        None,
        None,
        None,
        None,
    )
    assert empty.scores == (0, 0, 0, 0, 0)


def keys(groups: tuple[Group, ...]) -> list[tuple[str, str, int]]:
    return [(group.key, group.name, group.summary.offered) for group in groups]


def test_breakdowns_of_the_scripted_day() -> None:
    day = report(DAY, T60)
    assert day.total == TOTAL
    assert keys(day.by_service) == [("especialista", "especialista", 2), ("general", "general", 10)]
    assert keys(day.by_reason) == [
        ("bonos", "bonos", 3),  # c2, c4, c12
        ("ges", "ges", 3),  # c3 confirmed as ges, c7, c8
        ("licencias", "licencias", 3),  # c1, c5, c10
        ("otro", "otro", 2),
        ("reclamos", "reclamos", 1),
    ]
    assert keys(day.by_outcome) == [
        ("derivado", "derivado", 1),
        ("informado", "informado", 1),
        ("interrumpido", "interrumpido", 1),
        ("resuelto", "resuelto", 3),
    ]
    assert keys(day.by_executive) == [
        ("11.111.111-1", "Eva Díaz", 4),
        ("12.345.678-5", "Juan Pérez", 3),
    ]
    assert keys(day.by_day) == [("2026-11-24", "2026-11-24", 12)]
    assert keys(day.by_hour) == [("09", "09", 2), ("10", "10", 4), ("11", "11", 6)]


def test_each_executive_has_their_own_figures() -> None:
    eva, juan = report(DAY, T60).by_executive
    # Eva: c1 (20 s, 300+60, 5), c2 (40 s, 200+40, 4), c8 (60 s, 240+60, 5), c12 (10 s, talking).
    assert (eva.summary.asa, eva.summary.handled, eva.summary.aht) == (32.5, 3, 300.0)
    assert (eva.summary.satisfaction, eva.summary.transfer_rate) == (14 / 3, 0.0)
    # Juan: c3 (90 s, 400+20, 3), c7 (30 s, 600+100, transferred), c9 (205 s, 120+20, 1).
    assert (juan.summary.asa, juan.summary.aht, juan.summary.satisfaction) == (325 / 3, 420.0, 2.0)
    assert (juan.summary.transferred, juan.summary.transfer_rate) == (1, 1 / 3)
    assert (juan.summary.answered_within, juan.summary.service_level) == (1, 1 / 3)


def test_an_hour_with_only_late_answers_has_a_service_level_of_zero() -> None:
    ten = report(DAY, T60).by_hour[1].summary
    # c3 answered after 90 s; c4 short; c5 left at 45 s (not late); c6 left at 120 s.
    assert (ten.answered, ten.short_abandoned, ten.abandoned, ten.service_level) == (1, 1, 2, 0.0)
    assert ten.abandonment_rate == 2 / 3


def test_wait_distribution_of_the_scripted_day() -> None:
    waits = report(DAY, T60).by_wait
    assert [
        (group.key, group.summary.answered, group.summary.short_abandoned, group.summary.abandoned,
         group.summary.closed)
        for group in waits
    ] == [
        ("0-15", 1, 1, 0, 0),  # c12 10 s; c4 3 s
        ("15-30", 1, 0, 0, 0),  # c1 20 s
        ("30-60", 2, 0, 1, 0),  # c2 40, c7 30; c5 45
        ("60-120", 2, 0, 0, 0),  # c3 90, c8 60
        ("120-300", 1, 0, 1, 0),  # c9 205; c6 120
        ("300-600", 0, 0, 0, 1),  # c10 400
        ("600-", 0, 0, 0, 0),
    ]  # fmt: skip
    # c11 is still waiting: in no bucket.
    assert sum(group.summary.offered for group in waits) == TOTAL.offered - 1


def test_days_and_hours_are_local_to_the_configured_zone() -> None:
    # 23:30 on the 24th in Santiago is 02:30 on the 25th in UTC.
    late = contact("late", 13 * 3600 + 1800, wait=10, executive=A)
    assert keys(report([late], T60).by_day) == [("2026-11-24", "2026-11-24", 1)]
    assert keys(report([late], T60).by_hour) == [("23", "23", 1)]
    utc = Thresholds(timezone="UTC")
    assert keys(report([late], utc).by_day) == [("2026-11-25", "2026-11-25", 1)]
    assert keys(report([late], utc).by_hour) == [("02", "02", 1)]


def test_the_report_is_json_ready() -> None:
    document = report(DAY[:1], T60).to_dict()
    assert document["total"]["scores"] == [0, 0, 0, 0, 1]
    assert document["by_executive"] == [
        {"key": "11.111.111-1", "name": "Eva Díaz", **summarize(DAY[:1], T60).to_dict()}
    ]
    assert [group["key"] for group in document["by_wait"]] == list(WAIT_KEYS)
    assert document["by_wait"][1]["answered"] == 1


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        ({"service_level": 0}, "service level threshold 0 must be positive"),
        (
            {"service_level": 20, "short_abandon": 30},
            "short abandon threshold 30 must be between 0 and the service level threshold (20)",
        ),
        (
            {"short_abandon": -1},
            "short abandon threshold -1 must be between 0 and the service level threshold (60.0)",
        ),
        ({"timezone": "Mars/Olympus"}, "'Mars/Olympus' is not a known time zone"),
    ],
)
def test_thresholds_validate_themselves(arguments: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError) as caught:
        Thresholds(**arguments)  # type: ignore[arg-type]
    assert str(caught.value) == message


def test_a_transferred_leg_is_judged_against_the_estimate_told_at_the_transfer() -> None:
    # The first leg waited 40 s against 30 told at join; the leg in the new line joined at
    # the transfer (its wait counts from there), waited 150 s against 200 told then.
    first = contact("t1", 0, wait=40, end=EndReason.TRANSFERRED, talk=100, estimate=30)
    second = contact(
        "t2", 140, service="especialista", wait=150, estimate=200, transferred_from="t1"
    )
    total = summarize([first, second], T60)
    assert (total.estimates, total.estimate_error, total.estimate_bias) == (2, 30.0, -20.0)
    legs = {group.key: group.summary for group in report([first, second], T60).by_service}
    assert (legs["general"].estimate_error, legs["general"].estimate_bias) == (10.0, 10.0)
    assert (legs["especialista"].estimate_error, legs["especialista"].estimate_bias) == (
        50.0,
        -50.0,
    )
