"""The wallboard snapshot from a known floor, and the colours of its thresholds."""

from __future__ import annotations

import datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from branch.core import figures
from branch.core.model import Agent, AgentState, Call, EndReason, Notice, Waiting
from branch.core.wallboard import Level, Line, Targets, day_bounds, snapshot
from branch.records.base import ContactRecord

NOW = 1_800_000_000.0


def waiting(contact: str, service: str, waited: float) -> Waiting:
    return Waiting(
        contact, f"run-{contact}", "Ana", service, "otro", "", f"F-{contact}", NOW - waited
    )


def floor() -> dict[str, Any]:
    """Two services: three wait in general (one being offered), one in triage."""
    lines = [
        Line(
            "general",
            "Atención general",
            "General service",
            [waiting("a", "general", 200), waiting("b", "general", 30)],
            [200.0, 400.0],
        ),
        Line("triage", "Triage", "", [waiting("c", "triage", 400)], []),
    ]
    agents = [
        Agent("11.111.111-1", "Eva", AgentState.IN_CALL, NOW - 95, "d", pause_after_call=True),
        Agent("12.345.678-5", "Leo", AgentState.NOT_READY, NOW - 600, pause_reason="colacion"),
        Agent("13.131.313-6", "Ada", AgentState.OFFERED, NOW - 5, "e", skills=(("general",),)),
        Agent("14.141.414-k", "Off", AgentState.OFFLINE, NOW - 9000),
    ]
    calls = [
        Call(waiting("d", "triage", 500), "11.111.111-1", "Eva", NOW - 100, answered_at=NOW - 95),
        Call(waiting("e", "general", 900), "13.131.313-6", "Ada", NOW - 5),
    ]
    return snapshot(lines, agents, calls, [], figures.Thresholds(), Targets(), NOW)


def test_each_service_counts_its_line_executives_and_calls() -> None:
    board = floor()
    general, triage = board["services"]
    assert general == {
        "code": "general",
        "name": "Atención general",
        "nameEn": "General service",
        "waiting": 2,
        "offered": 1,
        # The citizen being offered has waited 900 s and is not answered yet.
        "longestWaitSeconds": 900,
        "longestWaitLevel": "alert",
        # Third in line, average handle time 300 s, three executives serve general.
        "estimatedWaitSeconds": round(2.5 * 300 / 3),
        "estimatedWaitLevel": "warn",
        "staffed": 3,
        "executives": {"not_ready": 1, "available": 0, "offered": 1, "in_call": 1, "wrap_up": 0},
        "callsInProgress": 0,
        "today": general["today"],
        "notice": None,
    }
    assert triage["nameEn"] == "Triage"  # no English name: the Spanish one
    assert (triage["waiting"], triage["offered"], triage["callsInProgress"]) == (1, 0, 1)
    assert (triage["longestWaitSeconds"], triage["longestWaitLevel"]) == (400, "alert")
    assert triage["staffed"] == 2  # Ada serves general only
    assert triage["estimatedWaitSeconds"] is None  # no handle times yet: no guess
    assert triage["estimatedWaitLevel"] is None


def test_the_total_adds_every_service_and_counts_each_executive_once() -> None:
    total = floor()["total"]
    assert (total["code"], total["name"]) == ("", "Total")
    assert (total["waiting"], total["offered"], total["callsInProgress"]) == (3, 1, 1)
    assert total["longestWaitSeconds"] == 900
    assert total["staffed"] == 3
    assert total["executives"] == {
        "not_ready": 1,
        "available": 0,
        "offered": 1,
        "in_call": 1,
        "wrap_up": 0,
    }
    # Fourth in the whole branch, average of every recent handle time, three executives.
    assert total["estimatedWaitSeconds"] == round(3.5 * 300 / 3)


def test_executives_with_time_in_state_and_pause_reason_offline_left_out() -> None:
    board = floor()
    assert board["executives"] == [
        {
            "run": "13.131.313-6",
            "name": "Ada",
            "state": "offered",
            "since": NOW - 5,
            "secondsInState": 5,
            "reason": None,
            "pauseAfterCall": False,
            "services": ["general"],
            "contactService": "general",
        },
        {
            "run": "11.111.111-1",
            "name": "Eva",
            "state": "in_call",
            "since": NOW - 95,
            "secondsInState": 95,
            "reason": None,
            "pauseAfterCall": True,  # to be paused once the call and its wrap-up end
            "services": ["general", "triage"],
            "contactService": "triage",
        },
        {
            "run": "12.345.678-5",
            "name": "Leo",
            "state": "not_ready",
            "since": NOW - 600,
            "secondsInState": 600,
            "reason": "colacion",
            "pauseAfterCall": False,
            "services": ["general", "triage"],
            "contactService": None,
        },
    ]


def test_calls_in_progress_are_the_answered_ones_with_their_duration() -> None:
    board = floor()
    assert board["calls"] == [
        {
            "contactId": "d",
            "folio": "F-d",
            "service": "triage",
            "executive": {"run": "11.111.111-1", "name": "Eva"},
            "answeredAt": NOW - 95,
            "durationSeconds": 95,
            "interrupted": False,
        }
    ]
    assert board["at"] == NOW
    assert board["targets"]["serviceLevelSeconds"] == 60


def test_an_empty_floor_has_nothing_to_judge() -> None:
    board = snapshot(
        [Line("general", "General", "", [])], [], [], [], figures.Thresholds(), Targets(), NOW
    )
    total = board["total"]
    assert (total["waiting"], total["longestWaitSeconds"], total["longestWaitLevel"]) == (
        0,
        None,
        None,
    )
    assert board["executives"] == board["calls"] == []


@pytest.mark.parametrize(
    ("until", "shown"),
    [(NOW + 1, {"text": "Alta demanda", "at": NOW - 60, "until": NOW + 1}), (NOW, None)],
    ids=["current", "ran-out"],
)
def test_a_service_shows_its_current_notice_until_it_runs_out(
    until: float, shown: dict[str, Any] | None
) -> None:
    notice = Notice("general", "Alta demanda", NOW - 60, until)
    lines = [Line("general", "General", "", [], notice=notice), Line("triage", "Triage", "", [])]
    board = snapshot(lines, [], [], [], figures.Thresholds(), Targets(), NOW)
    assert [line["notice"] for line in board["services"]] == [shown, None]
    assert board["total"]["notice"] is None  # a notice is one service's


def contact(contact_id: str, service: str, joined: float, **fields: Any) -> ContactRecord:
    """A contact that joined ``joined`` seconds before now; other times likewise relative."""
    relative = {
        name: NOW - value if name.endswith("_at") else value for name, value in fields.items()
    }
    return ContactRecord(
        contact_id, f"F-{contact_id}", service, "run", "Ana", "otro", "", NOW - joined, **relative
    )


# A scripted morning: in general two answered (30 s and 90 s), one abandon after
# 100 s, one short abandon after 2 s; in triage one still waiting.
TODAY = [
    contact(
        "r1", "general", 1000, answered_at=970, ended_at=670, wrapped_up_at=640, survey_score=5
    ),
    contact("r2", "general", 900, answered_at=810, ended_at=510, wrapped_up_at=480, survey_score=3),
    contact("r3", "general", 800, ended_at=700, end_reason=EndReason.CITIZEN_LEFT),
    contact("r4", "general", 600, ended_at=598, end_reason=EndReason.CITIZEN_LEFT),
    contact("r5", "triage", 400),
]


def test_todays_figures_per_service_and_in_total_with_their_colours() -> None:
    lines = [Line("general", "General", "", []), Line("triage", "Triage", "", [])]
    board = snapshot(lines, [], [], TODAY, figures.Thresholds(), Targets(), NOW)
    general, triage = (line["today"] for line in board["services"])
    assert general == {
        "offered": 4,
        "answered": 2,
        "abandoned": 1,
        "shortAbandoned": 1,
        # One answered within 60 s, over the two answered and the one abandoned after 60 s.
        "serviceLevelPercent": 33.3,
        "serviceLevelLevel": "alert",
        "asaSeconds": 60,
        "asaLevel": "ok",
        "ahtSeconds": 330,  # 300 s talk + 30 s wrap-up each
        "abandonmentPercent": 33.3,  # the short abandon is left out
        "abandonmentLevel": "alert",
        "satisfaction": 4.0,
        "satisfactionLevel": "ok",
        "surveyed": 2,
    }
    assert triage["offered"] == 1
    assert (triage["serviceLevelPercent"], triage["serviceLevelLevel"]) == (None, None)
    assert (triage["satisfaction"], triage["asaSeconds"], triage["ahtSeconds"]) == (None,) * 3
    total = board["total"]["today"]
    assert (total["offered"], total["answered"], total["serviceLevelPercent"]) == (5, 2, 33.3)


def test_today_is_the_local_day_even_when_the_clocks_change() -> None:
    zone = ZoneInfo("America/Santiago")
    start, end = day_bounds(NOW, "America/Santiago")
    assert start <= NOW < end and end - start == 24 * 3600
    assert datetime.datetime.fromtimestamp(start, zone).time() == datetime.time(0, 0)
    # Chile leaves summer time at the end of Saturday 3 April 2027: that day has 25 hours.
    noon = datetime.datetime(2027, 4, 3, 12, 0, tzinfo=zone).timestamp()
    start, end = day_bounds(noon, "America/Santiago")
    assert end - start == 25 * 3600


@pytest.mark.parametrize(
    ("seconds", "level"),
    [
        (None, None),
        (0, Level.OK),
        (120, Level.OK),
        (121, Level.WARN),
        (300, Level.WARN),
        (301, Level.ALERT),
    ],
)
def test_wait_colours(seconds: float | None, level: Level | None) -> None:
    assert Targets().wait(seconds) == level


@pytest.mark.parametrize(
    ("percent", "level"),
    [
        (None, None),
        (100, Level.OK),
        (80, Level.OK),
        (79.9, Level.WARN),
        (70, Level.WARN),
        (69, Level.ALERT),
    ],
)
def test_service_level_colours(percent: float | None, level: Level | None) -> None:
    assert Targets().service_level(percent) == level


@pytest.mark.parametrize(
    ("targets", "check", "value", "level"),
    [
        (Targets(), "abandonment", 5, Level.OK),
        (Targets(), "abandonment", 5.1, Level.WARN),
        (Targets(), "abandonment", 10.1, Level.ALERT),
        (Targets(), "speed_of_answer", 60, Level.OK),
        (Targets(), "speed_of_answer", 61, Level.WARN),
        (Targets(), "speed_of_answer", 121, Level.ALERT),
        (Targets(), "satisfaction", 4.0, Level.OK),
        (Targets(), "satisfaction", 3.9, Level.WARN),
        (Targets(), "satisfaction", 2.9, Level.ALERT),
        (Targets(service_level_seconds=20), "speed_of_answer", 41, Level.ALERT),
    ],
)
def test_other_colours(targets: Targets, check: str, value: float, level: Level) -> None:
    assert getattr(targets, check)(value) == level


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"service_level_seconds": 0}, "service level seconds must be positive, not 0"),
        (
            {"service_level_target": 101},
            "service level target must be a percentage from 1 to 100, not 101",
        ),
        (
            {"wait_warn_seconds": 400},
            "wait thresholds must satisfy 0 <= warn <= alert, not 400 and 300",
        ),
        (
            {"abandon_alert_percent": 1},
            "abandon thresholds must satisfy 0 <= warn <= alert, not 5 and 1",
        ),
        (
            {"satisfaction_alert": 4.5},
            "satisfaction thresholds must satisfy 1 <= alert <= warn <= 5, not 4.5 and 4.0",
        ),
    ],
)
def test_bad_thresholds_are_refused(fields: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError) as caught:
        Targets(**fields)
    assert str(caught.value) == message
