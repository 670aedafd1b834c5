"""What every record store shares: column lists, folio days and row conversions."""

from __future__ import annotations

import datetime
import functools
import json
import math
from collections.abc import Iterable
from zoneinfo import ZoneInfo

from branch.audit import AuditEntry
from branch.core.floor import EndReason
from branch.records.base import ContactRecord

FOLIO_ZONE = ZoneInfo("America/Santiago")

COLUMNS = (
    "contact_id, folio, service, citizen_run, citizen_name, reason_code, reason_text, joined_at, "
    "offered_at, answered_at, ended_at, wrapped_up_at, executive_run, executive_name, end_reason, "
    "outcome_code, confirmed_reason_code, notes, survey_score, survey_comment, surveyed_at, "
    "estimated_wait, transferred_from, transfer_note, purged_at"
)
END_REASON_COLUMN = COLUMNS.split(", ").index("end_reason")
AUDIT_COLUMNS = "seq, at, kind, actor, contact_id, event_id, data, prev_hash, hash, salt, seal"


def folio_day(joined_at: float) -> str:
    """The Santiago calendar day a contact belongs to, as the folio prefix."""
    # Every join asks; the answer changes once a day, so it is looked up per UTC hour.
    day = _day_of_hour(math.floor(joined_at / 3600))
    return _day(joined_at) if day is None else day


def _day(at: float) -> str:
    return datetime.datetime.fromtimestamp(at, FOLIO_ZONE).strftime("%Y%m%d")


@functools.lru_cache(maxsize=64)
def _day_of_hour(hour: int) -> str | None:
    """The day of every moment of a UTC hour; None when the hour is not all one day.

    With one whole-hour offset from the hour's first second to its last
    (tzdata changes offsets on whole seconds), local hours line up with UTC
    hours, so the whole hour falls on one day. Santiago's offsets are whole
    hours since 1927; an hour under its older offsets is answered second by second.
    """
    start, end = (
        datetime.datetime.fromtimestamp(hour * 3600 + second, FOLIO_ZONE) for second in (0, 3599)
    )
    offset = start.utcoffset()
    if offset is None or offset != end.utcoffset() or offset.total_seconds() % 3600:
        return None
    return start.strftime("%Y%m%d")


def contact_record(row: Iterable[object]) -> ContactRecord:
    values = list(row)
    if values[END_REASON_COLUMN] is not None:
        values[END_REASON_COLUMN] = EndReason(str(values[END_REASON_COLUMN]))
    return ContactRecord(*values)  # type: ignore[arg-type]


def audit_entry_of(row: Iterable[object]) -> AuditEntry:
    seq, at, kind, actor, contact_id, event_id, data, prev_hash, digest, salt, seal = row
    return AuditEntry(
        int(str(seq)),
        float(str(at)),
        str(kind),
        str(actor),
        None if contact_id is None else str(contact_id),
        str(event_id),
        json.loads(str(data)),
        str(prev_hash),
        str(digest),
        str(salt),
        str(seal),
    )


def audit_values(entry: AuditEntry) -> tuple[object, ...]:
    """An entry as the row values in AUDIT_COLUMNS order (data as canonical JSON text)."""
    return (
        entry.seq,
        entry.at,
        entry.kind,
        entry.actor,
        entry.contact_id,
        entry.event_id,
        # json.dumps of {} without the call: most entries carry no data.
        "{}"
        if type(entry.data) is dict and not entry.data
        else json.dumps(entry.data, sort_keys=True, ensure_ascii=False),
        entry.prev_hash,
        entry.hash,
        entry.salt,
        entry.seal,
    )
