"""Reports over a period: the query, the figures with their labels, JSON, CSV and text.

Shared by ``branch report`` and the supervisors' reports page, so both show the
same numbers. The figures themselves are computed by ``branch.core.figures``.
"""

from __future__ import annotations

import csv
import datetime
import io
import re
import uuid
from dataclasses import dataclass, fields
from typing import Any
from zoneinfo import ZoneInfo

from branch.auth.run import Run
from branch.config import Settings
from branch.core.figures import BREAKDOWNS, WAIT_KEYS, Group, Report, Summary, report
from branch.errors import BadReportQuery, InvalidRun
from branch.records.base import RecordStore
from branch.records.text import duration, table

MAX_DAYS = 366
DATE_TEXT = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
# Contact records begin long after 1970; the end keeps a day's arithmetic in range.
FIRST_YEAR, LAST_YEAR = 1970, 9998
FORMATS = ("json", "csv")
SUMMARY_FIELDS = tuple(item.name for item in fields(Summary) if item.name != "scores")
CSV_HEADINGS = (
    "section",
    "key",
    "name",
    *SUMMARY_FIELDS,
    *(f"score_{score}" for score in range(1, 6)),
)


def _date(name: str, text: str) -> datetime.date:
    try:
        if not DATE_TEXT.fullmatch(text):
            raise ValueError(text)
        day = datetime.date.fromisoformat(text)
    except ValueError:
        raise BadReportQuery(
            f"{name}: {text[:40]!r} no es una fecha (AAAA-MM-DD)", problem=f"{name}_not_a_date"
        ) from None
    if not FIRST_YEAR <= day.year <= LAST_YEAR:
        raise BadReportQuery(
            f"{name}: {text} está fuera de los años {FIRST_YEAR} a {LAST_YEAR}",
            problem=f"{name}_out_of_range",
            # As text: a year is not a number to group in thousands ("1.970").
            values={"firstYear": str(FIRST_YEAR), "lastYear": str(LAST_YEAR)},
        )
    return day


@dataclass(frozen=True)
class ReportQuery:
    """A period of whole local days, first to last inclusive, and optional filters."""

    first: datetime.date
    last: datetime.date
    service: str | None = None
    executive: str | None = None  # a RUN as the records spell it, 11.111.111-1

    @classmethod
    def parse(
        cls,
        settings: Settings,
        today: datetime.date,
        first: str | None = None,
        last: str | None = None,
        service: str | None = None,
        executive: str | None = None,
    ) -> ReportQuery:
        """From text as a form or a command line gives it; a missing end is today."""
        end = _date("to", last) if last else today
        start = _date("from", first) if first else end
        if end < start:
            raise BadReportQuery(
                f"to: {end} es anterior a from ({start})", problem="to_before_from"
            )
        if (end - start).days + 1 > MAX_DAYS:
            raise BadReportQuery(
                f"el período tiene más de {MAX_DAYS} días",
                problem="period_too_long",
                values={"maxDays": MAX_DAYS},
            )
        if service and settings.queue(service) is None:
            codes = ", ".join(queue.code for queue in settings.queues)
            raise BadReportQuery(
                f"service: {service[:40]!r} no es un servicio ({codes})", problem="unknown_service"
            )
        run = None
        if executive:
            try:
                run = Run.parse(executive).format()
            except InvalidRun as error:
                raise BadReportQuery(
                    f"executive: {error.message}", problem="bad_executive"
                ) from None
        return cls(start, end, service or None, run)

    def bounds(self, timezone: str) -> tuple[float, float]:
        """[start, end) as epoch seconds: local midnight of the first day to after the last."""
        zone = ZoneInfo(timezone)
        start = datetime.datetime.combine(self.first, datetime.time(), zone)
        end = datetime.datetime.combine(
            self.last + datetime.timedelta(days=1), datetime.time(), zone
        )
        return start.timestamp(), end.timestamp()

    def to_dict(self) -> dict[str, Any]:
        return {
            "from": self.first.isoformat(),
            "to": self.last.isoformat(),
            "service": self.service,
            "executive": self.executive,
        }


async def build_report(records: RecordStore, settings: Settings, query: ReportQuery) -> Report:
    start, end = query.bounds(settings.service_timezone)
    contacts = await records.joined_between(
        start, end, service=query.service, executive=query.executive
    )
    return report(contacts, settings.thresholds)


async def audit_report(
    records: RecordStore, kind: str, actor: str, query: ReportQuery, form: str, at: float
) -> None:
    """Who looked at or took away which report: every one is its own audit entry."""
    data = {**query.to_dict(), "format": form}
    await records.audit(kind, actor, None, f"{kind}:{uuid.uuid4().hex}", data, at)


def labels(settings: Settings) -> dict[str, dict[str, dict[str, str]]]:
    """Spanish and English names of the codes a report shows, by breakdown."""

    def pair(label: str, label_en: str) -> dict[str, str]:
        return {"es": label, "en": label_en or label}

    reasons: dict[str, dict[str, str]] = {}
    for queue in settings.queues:
        for entry in queue.reasons:
            reasons.setdefault(entry.code, pair(entry.label, entry.label_en))
    return {
        "service": {queue.code: pair(queue.name, queue.name_en) for queue in settings.queues},
        "reason": reasons,
        "outcome": {
            entry.code: pair(entry.label, entry.label_en) for entry in settings.service_outcomes
        },
        "wait": {key: _wait_names(key) for key in WAIT_KEYS},
    }


def _wait_names(key: str) -> dict[str, str]:
    low, _, high = key.partition("-")
    if not high:
        return {"es": f"{low} s o más", "en": f"{low} s or more"}
    return {"es": f"{low} a {high} s", "en": f"{low} to {high} s"}


def _name(names: dict[str, dict[str, dict[str, str]]], breakdown: str, group: Group) -> str:
    return names.get(breakdown, {}).get(group.key, {}).get("es", group.name)


def report_document(report: Report, query: ReportQuery, settings: Settings) -> dict[str, Any]:
    """The report as JSON: period, thresholds, labels and every figure."""
    return {
        "period": query.to_dict(),
        "thresholds": {
            "service_level_seconds": settings.figures_service_level_seconds,
            "short_abandon_seconds": settings.figures_short_abandon_seconds,
            "timezone": settings.service_timezone,
        },
        "labels": labels(settings),
        **report.to_dict(),
    }


def _cell(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        return f"{value:.4f}".rstrip("0").rstrip(".")
    return str(value)


def _csv_row(section: str, key: str, name: str, summary: Summary) -> list[str]:
    return [
        section,
        key,
        name,
        *(_cell(getattr(summary, field)) for field in SUMMARY_FIELDS),
        *(str(count) for count in summary.scores),
    ]


def report_csv(report: Report, settings: Settings) -> str:
    """One row for the total and one per group of every breakdown, the same columns each."""
    names = labels(settings)
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(CSV_HEADINGS)
    writer.writerow(_csv_row("total", "", "Total", report.total))
    for breakdown in BREAKDOWNS:
        for group in report.breakdown(breakdown):
            writer.writerow(
                _csv_row(breakdown, group.key, _name(names, breakdown, group), group.summary)
            )
    return out.getvalue()


def _percent(value: float | None) -> str:
    return "-" if value is None else f"{value * 100:.1f} %"


def _seconds(value: float | None, *, sign: bool = False) -> str:
    return "-" if value is None else f"{value:{'+' if sign else ''}.0f} s"


def _score(value: float | None) -> str:
    return "-" if value is None else f"{value:.2f}"


HEADINGS = {
    "service": "Servicio",
    "reason": "Motivo",
    "outcome": "Resultado",
    "executive": "Ejecutivo",
    "day": "Día",
    "hour": "Hora",
    "wait": "Espera",
}
COLUMNS = (
    "Ofrecidas",
    "Atendidas",
    "Abandonos",
    "Cortos",
    "Nivel de servicio",
    "TME",
    "TMO",
    "Transferidas",
    "Satisfacción",
)


def _columns(summary: Summary) -> list[str]:
    return [
        str(summary.offered),
        str(summary.answered),
        str(summary.abandoned),
        str(summary.short_abandoned),
        _percent(summary.service_level),
        duration(summary.asa),
        duration(summary.aht),
        _percent(summary.transfer_rate),
        _score(summary.satisfaction),
    ]


def report_text(report: Report, query: ReportQuery, settings: Settings) -> str:
    """The report for a terminal, in Spanish."""
    total = report.total
    names = labels(settings)
    period = f"{query.first}" if query.first == query.last else f"{query.first} a {query.last}"
    filters = "".join(
        f", {label} {value}"
        for label, value in (("servicio", query.service), ("ejecutivo", query.executive))
        if value
    )
    threshold = settings.figures_service_level_seconds
    lines = [
        f"Reporte {period}{filters} (hora de {settings.service_timezone})",
        "",
        f"Ofrecidas {total.offered}, atendidas {total.answered}, abandonos {total.abandoned} "
        f"(y {total.short_abandoned} cortos de menos de {settings.figures_short_abandon_seconds} s), "
        f"cerradas sin atender {total.closed}, en espera {total.pending}",
        f"Nivel de servicio ({threshold} s): {_percent(total.service_level)}   "
        f"TME: {duration(total.asa)}   TMO: {duration(total.aht)} "
        f"(conversación {duration(total.talk)}, cierre {duration(total.wrapup)})",
        f"Tasa de abandono: {_percent(total.abandonment_rate)}   "
        f"Transferencias: {_percent(total.transfer_rate)}",
        f"Estimación de espera: error medio {_seconds(total.estimate_error)}, "
        f"sesgo {_seconds(total.estimate_bias, sign=True)} en {total.estimates} atenciones",
        f"Satisfacción: {_score(total.satisfaction)} en {total.surveyed} encuestas "
        f"(1 a 5: {' '.join(str(count) for count in total.scores)})",
    ]
    for breakdown in BREAKDOWNS:
        groups = report.breakdown(breakdown)
        if not groups or (breakdown == "wait" and not any(g.summary.offered for g in groups)):
            continue
        body = [[_name(names, breakdown, group), *_columns(group.summary)] for group in groups]
        lines += ["", table((HEADINGS[breakdown], *COLUMNS), body)]
    return "\n".join(lines)
