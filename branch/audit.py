"""The audit trail's chain: each entry carries the hash of the one before it.

Pure functions over entries, so the same verification runs on SQLite,
PostgreSQL or an exported file. Editing, deleting, inserting or reordering
an entry breaks a link; removing entries at the end is caught against a
head (sequence number and hash) recorded elsewhere, e.g. printed daily by
``branch audit head`` into the institution's own log.

A citizen's identity in an entry is *sealed*: the hash covers the actor's role
and a seal, SHA-256 over a random salt and the full actor, instead of the
person's RUN. The retention purge erases the RUN and the salt together; the
seal stays, so the chain verifies without keeping the personal data, and the
seal alone (salted) cannot be matched against a list of RUNs. Entries carry
no other personal data: ``data`` and ``event_id`` hold codes and ids only.
"""

from __future__ import annotations

import hashlib
import json
import math
import secrets
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from typing import Any

import orjson

GENESIS = "0" * 64
# Roles whose identity is personal data, erased at the end of the retention period.
# Staff identities stay: who did what to a contact is what the trail is for.
PERSONAL_ROLES = frozenset({"citizen"})
PURGE_KIND = "retention.purged"


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
    salt: str = ""  # kept with the personal actor, erased with it
    seal: str = ""  # SHA-256 of salt and actor; "" when the actor is not personal

    @property
    def role(self) -> str:
        return self.actor.partition(":")[0]

    @property
    def erased(self) -> bool:
        """The personal part was erased by a retention purge."""
        return bool(self.seal) and not self.salt


def seal_of(salt: str, actor: str) -> str:
    if type(salt) is str and type(actor) is str:
        # json.dumps([salt, actor], ensure_ascii=False), spaced as json spaces a list;
        # orjson escapes a string exactly as json does (tests/records/test_canonical.py).
        try:
            text = b"[" + orjson.dumps(salt) + b", " + orjson.dumps(actor) + b"]"
            return hashlib.sha256(text).hexdigest()
        except orjson.JSONEncodeError:
            pass  # a lone surrogate: json raises as it always did
    return hashlib.sha256(json.dumps([salt, actor], ensure_ascii=False).encode()).hexdigest()


def canonical_json(value: Any) -> bytes:
    """``value`` as the trail hashes it: sorted keys, no spaces, UTF-8, unescaped.

    Byte for byte ``json.dumps(value, sort_keys=True, ensure_ascii=False,
    separators=(",", ":")).encode()``, the form every hash of a trail was made
    over. orjson writes those same bytes several times faster for the values
    entries hold; what it would write otherwise (floats below 1e-4 in exponent
    form, NaN, integers past 64 bits, tuples, subclasses) goes through json.
    """
    if _plain(value):
        try:
            return orjson.dumps(value, option=orjson.OPT_SORT_KEYS)
        except orjson.JSONEncodeError:
            pass  # a lone surrogate or deep nesting: json's answer, as always
    return json.dumps(value, sort_keys=True, ensure_ascii=False, separators=(",", ":")).encode()


def _plain(value: Any) -> bool:
    """Whether orjson writes ``value`` as json does (exact types only, no subclasses)."""
    kind = type(value)
    if kind is list:
        items: Iterable[Any] = value
    elif kind is dict:
        for key in value:
            if type(key) is not str:
                return False
        items = value.values()
    else:
        return _plain_scalar(value)
    for item in items:  # the common scalars inline: this runs for every entry appended
        kind = type(item)
        if kind is str or item is None:
            continue
        if not (_plain(item) if kind is list or kind is dict else _plain_scalar(item)):
            return False
    return True


def _plain_scalar(value: Any) -> bool:
    kind = type(value)
    if kind is str or kind is bool or value is None:
        return True
    if kind is int:
        return bool(-(2**63) <= value < 2**64)
    if kind is float:
        # json writes repr(): exponent form below 1e-4, where orjson writes decimals.
        return bool(value == 0.0 or 1e-4 <= abs(value) < math.inf)
    return False


def new_entry(
    at: float,
    kind: str,
    actor: str,
    contact_id: str | None,
    event_id: str,
    data: dict[str, Any],
    salt: str | None = None,
) -> AuditEntry:
    """An entry to append: a citizen's identity is sealed so it can be erased later."""
    role, _, person = actor.partition(":")
    if role in PERSONAL_ROLES and person:
        salt = salt or secrets.token_hex(16)
        return AuditEntry(
            0, at, kind, actor, contact_id, event_id, data, salt=salt, seal=seal_of(salt, actor)
        )
    return AuditEntry(0, at, kind, actor, contact_id, event_id, data)


def erased(entry: AuditEntry) -> AuditEntry:
    """The entry without its personal part: only the actor's role and the seal remain."""
    if not entry.seal:
        return entry
    return replace(entry, actor=entry.role, salt="")


def entry_hash(entry: AuditEntry) -> str:
    """The hash an entry must carry: over its link, place and content, canonically.

    A sealed entry is hashed over its actor's role and seal, not the person, so
    erasing the person keeps the hash; an entry without a seal hashes as
    entries always have.
    """
    return _hash(entry.prev_hash, entry.seq, entry)


def _hash(prev_hash: str, seq: int, entry: AuditEntry) -> str:
    fields: list[Any] = [
        prev_hash,
        seq,
        repr(float(entry.at)),
        entry.kind,
        entry.role if entry.seal else entry.actor,
        entry.contact_id,
        entry.event_id,
        entry.data,
    ]
    if entry.seal:
        fields.append(entry.seal)
    return hashlib.sha256(canonical_json(fields)).hexdigest()


def chained(previous: AuditEntry | None, entry: AuditEntry) -> AuditEntry:
    """``entry`` given its place after ``previous``: sequence number, link and hash."""
    return chained_after(
        previous.seq if previous else 0, previous.hash if previous else GENESIS, entry
    )


def chained_after(seq: int, digest: str, entry: AuditEntry) -> AuditEntry:
    """``entry`` given its place after the head ``seq``/``digest`` (0/GENESIS: first)."""
    # Built once: appends are the hot path of every contact step.
    return AuditEntry(
        seq + 1,
        entry.at,
        entry.kind,
        entry.actor,
        entry.contact_id,
        entry.event_id,
        entry.data,
        digest,
        _hash(digest, seq + 1, entry),
        entry.salt,
        entry.seal,
    )


def parse_head(text: str) -> tuple[int, str]:
    """A head as `branch audit head` prints it, SEQ:HASH, as a verification anchor."""
    seq, _, digest = text.partition(":")
    if not (seq.isascii() and seq.isdigit()) or len(digest) != 64:
        raise ValueError(f"{text[:80]!r} is not SEQ:HASH as `branch audit head` prints")
    return int(seq), digest


@dataclass(frozen=True)
class Broken:
    seq: int  # the first entry that does not verify (or the anchor's, when entries are missing)
    reason: str


def verify(entries: Iterable[AuditEntry], anchor: tuple[int, str] | None = None) -> Broken | None:
    """The first broken link, or None when every entry verifies (and reaches the anchor).

    Erased personal parts must be accounted for by the purges that follow them:
    personal data erased without a purge entry recording it is a break too.
    """
    previous: AuditEntry | None = None
    unaccounted: list[int] = []  # erased entries not yet covered by a purge
    for entry in entries:
        expected_seq = previous.seq + 1 if previous else 1
        if entry.seq != expected_seq:
            return Broken(entry.seq, f"expected entry {expected_seq}, found {entry.seq}")
        expected_prev = previous.hash if previous else GENESIS
        if entry.prev_hash != expected_prev:
            return Broken(entry.seq, "does not link to the entry before it")
        if entry_hash(entry) != entry.hash:
            return Broken(entry.seq, "its content does not match its hash (edited)")
        if entry.seal and entry.salt and seal_of(entry.salt, entry.actor) != entry.seal:
            return Broken(entry.seq, "its person does not match its seal (edited)")
        if entry.erased:
            unaccounted.append(entry.seq)
        if entry.kind == PURGE_KIND:
            count = entry.data.get("entries")
            if not isinstance(count, int) or count > len(unaccounted):
                return Broken(entry.seq, "the purge records more erasures than the trail shows")
            # A purge erases entries before it; which ones does not matter, only how many.
            del unaccounted[:count]
        if anchor is not None and entry.seq == anchor[0] and entry.hash != anchor[1]:
            return Broken(entry.seq, "differs from the recorded head")
        previous = entry
    if unaccounted:
        return Broken(
            unaccounted[-1], "personal data erased without a purge recording it in the trail"
        )
    if anchor is not None and (previous is None or previous.seq < anchor[0]):
        last = previous.seq if previous else 0
        return Broken(anchor[0], f"the trail ends at {last}, before the recorded head {anchor[0]}")
    return None
