"""The supervisor's wallboard: the floor right now and today's figures, per service and in total.

Pure: ``snapshot`` turns the live state (who waits, executives, calls), the
records of contacts that joined today and ``now`` into the one document every
supervisor page shows. Today's figures are ``branch.core.figures``' own; the
colours come from the targets here, so the page only paints them.
"""

from __future__ import annotations

import datetime
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any
from zoneinfo import ZoneInfo

from branch.core import figures
from branch.core.contact import ContactRecord
from branch.core.estimate import estimate_wait
from branch.core.model import Agent, AgentState, Call, Notice, Waiting

# The states a logged-in executive can be in; offline ones are not on the floor.
ON_FLOOR = tuple(state for state in AgentState if state is not AgentState.OFFLINE)


class Level(StrEnum):
    OK = "ok"
    WARN = "warn"
    ALERT = "alert"


@dataclass(frozen=True)
class Targets:
    """When a figure turns amber (warn) or red (alert); from config."""

    service_level_seconds: int = 60  # answered within this counts towards the service level
    service_level_target: int = 80  # percent; warn below it, alert 10 points further down
    wait_warn_seconds: int = 120  # longest current wait and estimated wait
    wait_alert_seconds: int = 300
    abandon_warn_percent: int = 5
    abandon_alert_percent: int = 10
    satisfaction_warn: float = 4.0  # average score (1-5) below this
    satisfaction_alert: float = 3.0

    def __post_init__(self) -> None:
        if self.service_level_seconds <= 0:
            raise ValueError(
                f"service level seconds must be positive, not {self.service_level_seconds}"
            )
        if not 0 < self.service_level_target <= 100:
            raise ValueError(
                f"service level target must be a percentage from 1 to 100, not {self.service_level_target}"
            )
        for name, warn, alert in (
            ("wait", self.wait_warn_seconds, self.wait_alert_seconds),
            ("abandon", self.abandon_warn_percent, self.abandon_alert_percent),
        ):
            if not 0 <= warn <= alert:
                raise ValueError(
                    f"{name} thresholds must satisfy 0 <= warn <= alert, not {warn} and {alert}"
                )
        if not 1 <= self.satisfaction_alert <= self.satisfaction_warn <= 5:
            raise ValueError(
                "satisfaction thresholds must satisfy 1 <= alert <= warn <= 5, "
                f"not {self.satisfaction_alert} and {self.satisfaction_warn}"
            )

    def wait(self, seconds: float | None) -> Level | None:
        return _rising(seconds, self.wait_warn_seconds, self.wait_alert_seconds)

    def abandonment(self, percent: float | None) -> Level | None:
        return _rising(percent, self.abandon_warn_percent, self.abandon_alert_percent)

    def service_level(self, percent: float | None) -> Level | None:
        target = self.service_level_target
        return _falling(percent, target, target - 10)

    def speed_of_answer(self, seconds: float | None) -> Level | None:
        """ASA against the service-level time: past it amber, past twice it red."""
        limit = self.service_level_seconds
        return _rising(seconds, limit, 2 * limit)

    def satisfaction(self, average: float | None) -> Level | None:
        return _falling(average, self.satisfaction_warn, self.satisfaction_alert)

    def to_wire(self) -> dict[str, Any]:
        return {
            "serviceLevelSeconds": self.service_level_seconds,
            "serviceLevelTarget": self.service_level_target,
            "waitWarnSeconds": self.wait_warn_seconds,
            "waitAlertSeconds": self.wait_alert_seconds,
            "abandonWarnPercent": self.abandon_warn_percent,
            "abandonAlertPercent": self.abandon_alert_percent,
            "satisfactionWarn": self.satisfaction_warn,
            "satisfactionAlert": self.satisfaction_alert,
        }


def _rising(value: float | None, warn: float, alert: float) -> Level | None:
    """Bigger is worse (waits, abandonment); None: nothing to judge yet."""
    if value is None:
        return None
    if value > alert:
        return Level.ALERT
    return Level.WARN if value > warn else Level.OK


def _falling(value: float | None, warn: float, alert: float) -> Level | None:
    """Smaller is worse (service level, satisfaction)."""
    if value is None:
        return None
    if value < alert:
        return Level.ALERT
    return Level.WARN if value < warn else Level.OK


@dataclass(frozen=True)
class Line:
    """One service as the wallboard needs it: its line and its recent handle times."""

    code: str
    name: str
    name_en: str
    waiting: Sequence[Waiting]
    handle_times: Sequence[float] = field(default_factory=tuple)
    notice: Notice | None = None  # the supervisor's message to those waiting, if any


def day_bounds(now: float, timezone: str) -> tuple[float, float]:
    """[start, end) of the local day ``now`` falls in, as epoch seconds."""
    zone = ZoneInfo(timezone)
    day = datetime.datetime.fromtimestamp(now, zone).date()
    start = datetime.datetime.combine(day, datetime.time(), zone)
    end = datetime.datetime.combine(day + datetime.timedelta(days=1), datetime.time(), zone)
    return start.timestamp(), end.timestamp()


def snapshot(
    lines: Sequence[Line],
    agents: Iterable[Agent],
    calls: Iterable[Call],
    today: Sequence[ContactRecord],
    parameters: figures.Thresholds,
    targets: Targets,
    now: float,
) -> dict[str, Any]:
    """The wallboard document (wire-ready): services, total, executives and calls.

    ``today`` are the contacts that joined today (``day_bounds``), summarized with
    ``parameters`` per service and in total.
    """
    on_floor = sorted(
        (agent for agent in agents if agent.state is not AgentState.OFFLINE),
        key=lambda agent: (agent.name, agent.agent_id),
    )
    every_call = list(calls)
    answered = sorted(
        (call for call in every_call if call.answered_at is not None),
        key=lambda call: (call.answered_at or 0.0, call.contact_id),
    )
    ringing = [call for call in every_call if call.answered_at is None]
    services = [
        _figures(
            line.code,
            line.name,
            line.name_en,
            line.waiting,
            [call for call in ringing if call.waiting.service == line.code],
            [call for call in answered if call.waiting.service == line.code],
            [agent for agent in on_floor if agent.serves(line.code)],
            line.handle_times,
            targets,
            now,
            _today(
                figures.summarize((r for r in today if r.service == line.code), parameters),
                targets,
            ),
            line.notice,
        )
        for line in lines
    ]
    total = _figures(
        "",
        "Total",
        "Total",
        [entry for line in lines for entry in line.waiting],
        ringing,
        answered,
        on_floor,
        [seconds for line in lines for seconds in line.handle_times],
        targets,
        now,
        _today(figures.summarize(today, parameters), targets),
    )
    calls_by_agent = {call.agent_id: call for call in every_call}
    return {
        "at": now,
        "targets": targets.to_wire(),
        "services": services,
        "total": total,
        "executives": [
            _executive(agent, calls_by_agent.get(agent.agent_id), lines, now) for agent in on_floor
        ],
        "calls": [_call(call, now) for call in answered],
    }


def _figures(
    code: str,
    name: str,
    name_en: str,
    waiting: Sequence[Waiting],
    ringing: Sequence[Call],
    answered: Sequence[Call],
    agents: Sequence[Agent],
    handle_times: Sequence[float],
    targets: Targets,
    now: float,
    today: dict[str, Any],
    notice: Notice | None = None,
) -> dict[str, Any]:
    # A citizen being offered has not been answered yet: their wait is still running.
    joined = [entry.joined_at for entry in waiting] + [call.waiting.joined_at for call in ringing]
    longest = max((now - at for at in joined), default=None)
    estimate = estimate_wait(len(waiting) + 1, handle_times, len(agents))
    rounded = None if estimate is None else round(estimate)
    by_state = {state.value: 0 for state in ON_FLOOR}
    for agent in agents:
        by_state[agent.state.value] += 1
    return {
        "code": code,
        "name": name,
        "nameEn": name_en or name,
        "waiting": len(waiting),
        "offered": len(ringing),
        "longestWaitSeconds": None if longest is None else round(max(0.0, longest)),
        "longestWaitLevel": targets.wait(longest),
        "estimatedWaitSeconds": rounded,
        "estimatedWaitLevel": targets.wait(rounded),
        "staffed": len(agents),
        "executives": by_state,
        "callsInProgress": len(answered),
        "today": today,
        "notice": _notice(notice, now),
    }


def _notice(notice: Notice | None, now: float) -> dict[str, Any] | None:
    """What the citizens waiting in the line are being shown now, as ``queue.notice`` says it."""
    if notice is None or not notice.current(now):
        return None
    return {"text": notice.text, "at": notice.at, "until": notice.until}


def _today(summary: figures.Summary, targets: Targets) -> dict[str, Any]:
    """Today's figures as the page shows them: rates in percent, times in whole seconds."""
    service_level = _percent(summary.service_level)
    abandonment = _percent(summary.abandonment_rate)
    asa = None if summary.asa is None else round(summary.asa)
    satisfaction = None if summary.satisfaction is None else round(summary.satisfaction, 2)
    return {
        "offered": summary.offered,
        "answered": summary.answered,
        "abandoned": summary.abandoned,
        "shortAbandoned": summary.short_abandoned,
        "serviceLevelPercent": service_level,
        "serviceLevelLevel": targets.service_level(service_level),
        "asaSeconds": asa,
        "asaLevel": targets.speed_of_answer(asa),
        "ahtSeconds": None if summary.aht is None else round(summary.aht),
        "abandonmentPercent": abandonment,
        "abandonmentLevel": targets.abandonment(abandonment),
        "satisfaction": satisfaction,
        "satisfactionLevel": targets.satisfaction(satisfaction),
        "surveyed": summary.surveyed,
    }


def _percent(fraction: float | None) -> float | None:
    return None if fraction is None else round(100 * fraction, 1)


def _executive(
    agent: Agent, call: Call | None, lines: Sequence[Line], now: float
) -> dict[str, Any]:
    served = [line.code for line in lines if agent.serves(line.code)]
    return {
        "run": agent.agent_id,
        "name": agent.name,
        "state": agent.state.value,
        "since": agent.since,
        "secondsInState": round(max(0.0, now - agent.since)),
        "reason": agent.pause_reason,
        "pauseAfterCall": agent.pause_after_call,
        "services": served,
        "contactService": call.waiting.service if call is not None else None,
    }


def _call(call: Call, now: float) -> dict[str, Any]:
    started = call.answered_at if call.answered_at is not None else now
    return {
        "contactId": call.contact_id,
        "folio": call.waiting.folio,
        "service": call.waiting.service,
        "executive": {"run": call.agent_id, "name": call.agent_name},
        "answeredAt": call.answered_at,
        "durationSeconds": round(max(0.0, now - started)),
        "interrupted": call.citizen_absent_since is not None or call.agent_absent_since is not None,
    }
