"""The audit trail's chain: each entry carries the hash of the one before it.

Pure functions over entries, so the same verification runs on SQLite,
PostgreSQL or an exported file. Editing, deleting, inserting or reordering
an entry breaks a link; removing entries at the end is caught against a
head (sequence number and hash) recorded elsewhere, e.g. printed daily by
``branch audit head`` into the institution's own log.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from typing import Any

GENESIS = "0" * 64


@dataclass(frozen=True)
class AuditEntry:
    seq: int
    at: float
    kind: str  # e.g. contact.joined, contact.offered, login, logout
    actor: str  # "citizen:<RUN>", "executive:<RUN>", … or "system"
    contact_id: str | None
    event_id: str  # the same event written twice has the same id: appended once
    data: dict[str, Any] = field(default_factory=dict)
    prev_hash: str = GENESIS
    hash: str = ""


def entry_hash(entry: AuditEntry) -> str:
    """The hash an entry must carry: over its link, place and content, canonically."""
    canonical = json.dumps(
        [
            entry.prev_hash,
            entry.seq,
            repr(float(entry.at)),
            entry.kind,
            entry.actor,
            entry.contact_id,
            entry.event_id,
            entry.data,
        ],
        sort_keys=True,
        ensure_ascii=False,
        separators=(",", ":"),
    )
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def chained(previous: AuditEntry | None, entry: AuditEntry) -> AuditEntry:
    """``entry`` given its place after ``previous``: sequence number, link and hash."""
    placed = replace(
        entry,
        seq=previous.seq + 1 if previous else 1,
        prev_hash=previous.hash if previous else GENESIS,
    )
    return replace(placed, hash=entry_hash(placed))


@dataclass(frozen=True)
class Broken:
    seq: int  # the first entry that does not verify (or the anchor's, when entries are missing)
    reason: str


def verify(entries: Iterable[AuditEntry], anchor: tuple[int, str] | None = None) -> Broken | None:
    """The first broken link, or None when every entry verifies (and reaches the anchor)."""
    previous: AuditEntry | None = None
    for entry in entries:
        expected_seq = previous.seq + 1 if previous else 1
        if entry.seq != expected_seq:
            return Broken(entry.seq, f"expected entry {expected_seq}, found {entry.seq}")
        expected_prev = previous.hash if previous else GENESIS
        if entry.prev_hash != expected_prev:
            return Broken(entry.seq, "does not link to the entry before it")
        if entry_hash(entry) != entry.hash:
            return Broken(entry.seq, "its content does not match its hash (edited)")
        if anchor is not None and entry.seq == anchor[0] and entry.hash != anchor[1]:
            return Broken(entry.seq, "differs from the recorded head")
        previous = entry
    if anchor is not None and (previous is None or previous.seq < anchor[0]):
        last = previous.seq if previous else 0
        return Broken(anchor[0], f"the trail ends at {last}, before the recorded head {anchor[0]}")
    return None
