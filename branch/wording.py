"""Spanish (Chile) wording the server itself writes: error messages about time.

These travel as the ``message`` of an ``error`` for logs and non-browser
clients; the pages word every error from its code in their own catalogs
(``static/i18n/``), in the language the person reads.
"""

from __future__ import annotations

import datetime
from zoneinfo import ZoneInfo

WEEKDAYS = ("lunes", "martes", "miércoles", "jueves", "viernes", "sábado", "domingo")
MONTHS = (
    "enero",
    "febrero",
    "marzo",
    "abril",
    "mayo",
    "junio",
    "julio",
    "agosto",
    "septiembre",
    "octubre",
    "noviembre",
    "diciembre",
)


def clock_time(epoch: float, timezone: str) -> str:
    """ "13:30"."""
    return datetime.datetime.fromtimestamp(epoch, ZoneInfo(timezone)).strftime("%H:%M")


def when(epoch: float, now: float, timezone: str) -> str:
    """ "hoy a las 08:30", "mañana a las 08:30" or "el lunes 30 de noviembre a las 08:30"."""
    zone = ZoneInfo(timezone)
    moment = datetime.datetime.fromtimestamp(epoch, zone)
    days = (moment.date() - datetime.datetime.fromtimestamp(now, zone).date()).days
    at = f"a las {moment:%H:%M}"
    if days == 0:
        return f"hoy {at}"
    if days == 1:
        return f"mañana {at}"
    day = f"{WEEKDAYS[moment.weekday()]} {moment.day} de {MONTHS[moment.month - 1]}"
    return f"el {day} {at}"


def minutes(seconds: float) -> str:
    """ "1 minuto", "25 minutos"."""
    count = max(1, round(seconds / 60))
    return "1 minuto" if count == 1 else f"{count} minutos"
