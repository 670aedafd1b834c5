"""Contacts as a plain-text table, for `branch records`."""

from __future__ import annotations

import datetime
import math
from collections.abc import Sequence
from zoneinfo import ZoneInfo

from branch.records.base import ContactRecord

LOCAL_ZONE = ZoneInfo("America/Santiago")
END_REASONS = {
    "completed": "completada",
    "citizen_left": "salió de la fila",
    "citizen_dropped": "ciudadano desconectado",
    "executive_dropped": "ejecutivo desconectado",
    "transferred": "transferida",
    "closed": "cierre del servicio",
    "wait_limit": "espera máxima superada",
}
HEADINGS = (
    "Folio",
    "Ingreso",
    "RUN",
    "Nombre",
    "Servicio",
    "Motivo",
    "Ejecutivo",
    "Espera",
    "Conversación",
    "Término",
    "Resultado",
)


def duration(seconds: float | None) -> str:
    """ "1:05" (minutes:seconds), "-" when unknown."""
    if seconds is None:
        return "-"
    whole = math.floor(seconds + 0.5)  # half up, as the pages round
    return f"{whole // 60}:{whole % 60:02d}"


def _row(record: ContactRecord) -> tuple[str, ...]:
    joined = datetime.datetime.fromtimestamp(record.joined_at, LOCAL_ZONE)
    return (
        record.folio,
        joined.strftime("%d-%m-%Y %H:%M"),
        record.citizen_run,
        record.citizen_name,
        record.service,
        record.reason_code,
        record.executive_name or "-",
        duration(record.waited_seconds),
        duration(record.talk_seconds),
        END_REASONS.get(record.end_reason or "", "en curso"),
        record.outcome_code or "-",
    )


def table(headings: Sequence[str], body: Sequence[Sequence[str]]) -> str:
    """Columns padded to their widest cell, a rule under the headings."""
    rows = [headings, *body]
    widths = [max(len(row[column]) for row in rows) for column in range(len(headings))]
    lines = [
        "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip()
        for row in rows
    ]
    lines.insert(1, "  ".join("-" * width for width in widths))
    return "\n".join(lines)


def format_contacts(records: Sequence[ContactRecord]) -> str:
    if not records:
        return "No hay atenciones registradas."
    return table(HEADINGS, [_row(record) for record in records])
