"""Staff reading the records: contacts, the audit trail and its verification.

For auditors and admins (``READERS``). Nothing here changes a record; every
read of personal data is itself appended to the audit trail, naming who read
which contact or which range.
"""

from __future__ import annotations

import datetime
import time
import uuid
from collections.abc import Callable, Mapping
from typing import Any
from zoneinfo import ZoneInfo

from branch.audit import AuditEntry, parse_head, verify
from branch.config import Settings
from branch.errors import BadQuery, UnknownContact
from branch.records.base import ContactRecord, RecordStore
from branch.reports import ReportQuery

READERS = frozenset({"auditor", "admin"})
MAX_CONTACTS = 2000  # per answer; a longer list says it was cut
MAX_ENTRIES = 500
DEFAULT_ENTRIES = 100


def _iso(at: float) -> str:
    return datetime.datetime.fromtimestamp(at, datetime.UTC).isoformat()


def entry_to_wire(entry: AuditEntry) -> dict[str, Any]:
    """An audit entry as the API shows it; the salt stays in the store."""
    return {
        "seq": entry.seq,
        "at": _iso(entry.at),
        "kind": entry.kind,
        "actor": entry.actor,
        "contactId": entry.contact_id,
        "eventId": entry.event_id,
        "data": entry.data,
        "prevHash": entry.prev_hash,
        "hash": entry.hash,
        "sealed": bool(entry.seal),
        "erased": entry.erased,
    }


def _whole(name: str, text: str, low: int, high: int) -> int:
    # str.isdigit() alone also accepts "²" and other digits int() refuses.
    if not (text.isascii() and text.isdigit()) or not low <= int(text) <= high:
        raise BadQuery(f"{name}: {text[:20]!r} is not a whole number from {low} to {high}")
    return int(text)


class Inspection:
    def __init__(
        self, records: RecordStore, settings: Settings, clock: Callable[[], float] = time.time
    ) -> None:
        self.records = records
        self.settings = settings
        self.zone = ZoneInfo(settings.service_timezone)
        self.clock = clock

    def today(self) -> datetime.date:
        return datetime.datetime.fromtimestamp(self.clock(), self.zone).date()

    async def _read(
        self, kind: str, reader: str, contact_id: str | None, data: dict[str, Any]
    ) -> None:
        # Every read is its own event: the id only has to be unique.
        await self.records.audit(
            kind, reader, contact_id, f"{kind}:{uuid.uuid4().hex}", data, self.clock()
        )

    async def contacts(self, reader: str, query: Mapping[str, str]) -> dict[str, Any]:
        """Contacts that joined in a period (``from``, ``to``, optional ``service``), oldest first.

        The period is a report's (whole local days), so both read the same contacts.
        """
        period = ReportQuery.parse(
            self.settings,
            self.today(),
            query.get("from"),
            query.get("to"),
            query.get("service"),
        )
        start, end = period.bounds(self.settings.service_timezone)
        found = await self.records.joined_between(start, end, service=period.service)
        shown: list[ContactRecord] = found[:MAX_CONTACTS]
        await self._read(
            "records.read",
            reader,
            None,
            {
                "from": period.first.isoformat(),
                "to": period.last.isoformat(),
                "service": period.service,
                "count": len(shown),
            },
        )
        return {
            "from": period.first.isoformat(),
            "to": period.last.isoformat(),
            "service": period.service,
            "contacts": [record.to_dict() for record in shown],
            "truncated": len(found) > len(shown),
        }

    async def contact(self, reader: str, contact_id: str) -> dict[str, Any]:
        """One contact with its kept chat and its story in the audit trail."""
        record = await self.records.get(contact_id)
        if record is None:
            raise UnknownContact(f"contact {contact_id[:64]!r} does not exist")
        await self._read("records.read", reader, contact_id, {})
        return {
            "contact": record.to_dict(),
            "chat": [
                {"at": _iso(line.at), "sender": line.sender, "text": line.text}
                for line in await self.records.chat(contact_id)
            ],
            "trail": [
                entry_to_wire(entry) for entry in await self.records.audit_entries(contact_id)
            ],
        }

    async def entries(self, reader: str, query: Mapping[str, str]) -> dict[str, Any]:
        """A page of the audit trail after sequence ``after``."""
        after = _whole("after", query.get("after", "0"), 0, 2**62)
        limit = _whole("limit", query.get("limit", str(DEFAULT_ENTRIES)), 1, MAX_ENTRIES)
        page = await self.records.audit_entries(after=after, limit=limit)
        await self._read("audit.read", reader, None, {"after": after, "count": len(page)})
        return {
            "entries": [entry_to_wire(entry) for entry in page],
            "next": page[-1].seq if len(page) == limit else None,
        }

    async def verification(self, query: Mapping[str, str]) -> dict[str, Any]:
        """The whole chain walked now, optionally against a head kept elsewhere (``head``)."""
        anchor = None
        if head := query.get("head", ""):
            try:
                anchor = parse_head(head)
            except ValueError as error:
                raise BadQuery(f"head: {error}") from None
        entries = await self.records.audit_entries()
        broken = verify(entries, anchor)
        last = entries[-1] if entries else None
        return {
            "ok": broken is None,
            "entries": len(entries),
            "erased": sum(1 for entry in entries if entry.erased),
            "head": {"seq": last.seq, "hash": last.hash} if last else None,
            "broken": {"seq": broken.seq, "reason": broken.reason} if broken else None,
        }
