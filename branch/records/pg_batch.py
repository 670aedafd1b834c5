"""A batch of PostgreSQL record writes in one transaction, in a few round trips.

Each write alone would be a round trip or more. A batch is cut into
segments in which no contact is touched twice; inside a segment the writes
of one kind (all the answers, all the ends…) are one statement over arrays,
which PostgreSQL runs as one. The order of writes to one contact is kept
(they fall in successive segments), so are the folio counter's order and the
audit chain's (see pg_trail): once a segment's writes are applied, the
entries its steps carry (of those not refused) and its audit writes are
chained in the order they came. Writes to different contacts in one
transaction commit together, so their order within it is not observable.
Two nodes' batches locking the same contacts in another order may deadlock;
PostgreSQL then refuses one of them, which is redone one write per
transaction like any batch the database refuses (see postgres.py).
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Awaitable, Callable, Iterator, Sequence
from typing import TYPE_CHECKING, Any

from branch.audit import new_entry
from branch.core.floor import EndReason
from branch.errors import BranchError
from branch.records.base import Entry, audit_args
from branch.records.journal import Operation
from branch.records.pg_trail import LOCK_TRAIL, Trail, with_head
from branch.records.pg_writes import JOIN_COLUMNS, TRAILED, WRITES, unknown
from branch.records.rows import folio_day

if TYPE_CHECKING:
    from branch.records.pg_writes import Connection

Many = Callable[["Connection", list[dict[str, Any]], Trail], Awaitable[list[Any]]]
# Every write but an audit entry records its id: a second flush from a journal is then
# skipped. An entry needs none: its event id is unique in the trail, so a second flush
# of it is already answered None, as a write applied before is.
RECORD = "INSERT INTO applied_operations (op_id) SELECT unnest($1::text[])"
FRESH = f"{RECORD} ON CONFLICT (op_id) DO NOTHING RETURNING op_id"
# The ids OperationIds makes: safe to write into the COMMIT's query as literals.
LITERAL_ID = re.compile(r"[0-9a-f]{1,64}")
FRESH_AND_HEAD = with_head(FRESH, "op_id")


async def commit_batch(
    db: Connection, operations: Sequence[Operation], *, checked: bool = False
) -> list[Any]:
    """The operations in one transaction of their own, committed; one outcome each.

    On a first attempt (not ``checked``) no write can have been applied
    before, so none is looked up: their ids are recorded with the COMMIT, in
    its round trip, and a batch that meets an id already there fails whole, to
    be redone ``checked``, one write at a time (see postgres.py).
    """
    # A batch with audit entries locks the trail in the same round trip as its BEGIN.
    trailed = _trailed(operations)
    await db.execute(f"BEGIN; {LOCK_TRAIL}" if trailed else "BEGIN")
    try:
        trail = Trail(db, alone=len(operations) == 1, locked=trailed)
        outcomes = await apply_batch(db, operations, trail, checked=checked)
        ids = [] if checked else _recorded(operations, outcomes)
        if ids and all(map(LITERAL_ID.fullmatch, ids)):
            values = ", ".join(f"('{op_id}')" for op_id in ids)
            await db.execute(f"INSERT INTO applied_operations (op_id) VALUES {values}; COMMIT")
        else:
            if ids:  # not ids this node made: as parameters, a round trip of their own
                await db.execute(RECORD, ids)
            await db.execute("COMMIT")
    except BaseException:
        if not db.is_closed():
            with contextlib.suppress(Exception):  # a broken connection rolls back by itself
                await db.execute("ROLLBACK")
        raise
    return outcomes


def _recorded(operations: Sequence[Operation], outcomes: list[Any]) -> list[str]:
    """The ids to record as applied: every write's but an audit entry's or a refused one's."""
    return [
        operation.op_id
        for operation, outcome in zip(operations, outcomes, strict=True)
        if operation.name != "audit" and not isinstance(outcome, BranchError)
    ]


async def apply_batch(
    db: Connection, operations: Sequence[Operation], trail: Trail, *, checked: bool
) -> list[Any]:
    """Every operation in the caller's transaction: one outcome each, in order.

    ``checked``, an operation already applied (flushed twice from a journal)
    is skipped (None), and the others' ids are recorded as applied. One
    refused for what it is gets its BranchError as its outcome and leaves no
    trace, not even its id, nor the entry it carries (a step's outcome is its
    own, its entry chained after it). Any other error is raised: the
    transaction must be rolled back.
    """
    trailed = _trailed(operations)
    outcomes: list[Any] = [None] * len(operations)
    todo = list(enumerate(operations))
    if checked:
        ids = [operation.op_id for operation in operations if operation.name != "audit"]
        fresh = await _fresh(db, ids, trail if trailed else None)
        todo = [item for item in todo if item[1].name == "audit" or item[1].op_id in fresh]
        for operation in operations:
            if operation.name != "audit" and operation.op_id not in fresh:
                await _applied_before(db, operation)
    if trailed and not trail.locked:
        await trail.lock()  # before any other write (see Trail.lock)
    # Locked with BEGIN, the head is read by the first array update, in its round trip
    # (the trail holds still until the commit), or else just before it is needed.
    for segment in _segments(todo):
        for kind, group in _by_kind(segment).items():
            if kind == "audit":
                continue  # chained below, with the steps' entries
            many = MANY.get(kind)
            if many is not None and len(group) > 1:
                results = await many(db, [_step_args(operation) for _, operation in group], trail)
            else:
                results = [await _one(db, trail, operation) for _, operation in group]
            for (index, _), result in zip(group, results, strict=True):
                outcomes[index] = result
        for index, operation in segment:
            chained = _chained(operation, outcomes[index])
            if chained is None:
                continue
            if trail.alone:  # its event id looked up: one already there is None
                entry = await trail.append(**chained)
            else:  # one already there fails the insert, and the batch is redone alone
                await trail.lock()  # the head, unless a query read it already
                entry = trail.add(new_entry(**chained))
            if operation.name == "audit":
                outcomes[index] = entry
    await trail.flush()
    refused = [
        operation.op_id
        for operation, outcome in zip(operations, outcomes, strict=True)
        if isinstance(outcome, BranchError)
    ]
    if checked and refused:  # recorded by _fresh; unchecked, never recorded
        await db.execute("DELETE FROM applied_operations WHERE op_id = ANY($1::text[])", refused)
    return outcomes


def _trailed(operations: Sequence[Operation]) -> bool:
    """Whether the batch appends to the trail: an audit write, a purge or a step's entry."""
    return any(
        operation.name in TRAILED or operation.args.get("entry") is not None
        for operation in operations
    )


def _step_args(operation: Operation) -> dict[str, Any]:
    """A step's own arguments, without the entry it carries (chained apart, after it)."""
    if "entry" not in operation.args:
        return operation.args
    return {name: value for name, value in operation.args.items() if name != "entry"}


def _chained(operation: Operation, outcome: Any) -> dict[str, Any] | None:
    """The entry an applied write chains (``audit_args``), if any: none for a refused step."""
    if operation.name == "audit":
        return operation.args
    carried = operation.args.get("entry")
    if carried is None or isinstance(outcome, BranchError):
        return None
    args = operation.args
    if operation.name == "contact_joined":
        # The folio the row got: the counter's, or the offline one of a journaled join.
        return audit_args(Entry(**carried), args["contact_id"], args["joined_at"], folio=outcome)
    return audit_args(Entry(**carried), args["contact_id"], args["at"])


async def _fresh(db: Connection, op_ids: list[str], trail: Trail | None = None) -> set[str]:
    """The ids not applied before, now recorded as applied; with ``trail``, its head too.

    Reading the head in the same query saves a batch a round trip; the trail's
    lock, taken with BEGIN, already holds.
    """
    if trail is not None and trail.locked:
        return set(trail.take_head(await db.fetch(FRESH_AND_HEAD, op_ids), "op_id"))
    if not op_ids:
        return set()
    return {str(row["op_id"]) for row in await db.fetch(FRESH, op_ids)}


async def _one(db: Connection, trail: Trail, operation: Operation) -> Any:
    try:
        if operation.name in TRAILED:
            return await TRAILED[operation.name](trail, **operation.args)
        return await WRITES[operation.name](db, **_step_args(operation))
    except BranchError as error:
        return error


def _touches(operation: Operation) -> set[str]:
    """The contacts a write depends on (an audit entry depends on none: it is chained)."""
    if operation.name == "audit":
        return set()
    args = operation.args
    return {str(args[key]) for key in ("contact_id", "transferred_from") if args.get(key)}


def _segments(todo: list[tuple[int, Operation]]) -> Iterator[list[tuple[int, Operation]]]:
    """Runs of writes in which no contact is touched twice; a purge stands alone."""
    segment: list[tuple[int, Operation]] = []
    touched: set[str] = set()
    for item in todo:
        operation = item[1]
        keys = _touches(operation)
        alone = operation.name == "purge" or (segment and segment[-1][1].name == "purge")
        if segment and (alone or keys & touched):
            yield segment
            segment, touched = [], set()
        segment.append(item)
        touched |= keys
    if segment:
        yield segment


def _by_kind(segment: list[tuple[int, Operation]]) -> dict[str, list[tuple[int, Operation]]]:
    groups: dict[str, list[tuple[int, Operation]]] = {}
    for item in segment:
        operation = item[1]
        kind = operation.name
        if kind == "contact_joined" and operation.args["folio"] is not None:
            kind = "contact_joined, folio given"  # from a journal: no counter, one by one
        groups.setdefault(kind, []).append(item)
    return groups


async def _applied_before(db: Connection, operation: Operation) -> None:
    if operation.name == "contact_joined" and operation.args["folio"] is not None:
        # Committed before the connection failed, then journaled: the citizen
        # was given the offline folio, so the row takes it (nobody read the other).
        await db.execute(
            "UPDATE contacts SET folio = $2 WHERE contact_id = $1",
            operation.args["contact_id"],
            operation.args["folio"],
        )


# Moves a day's folio counter by $2, returning its last number.
COUNT = (
    "INSERT INTO folio_days (day, last) VALUES ($1, $2) ON CONFLICT (day) "
    "DO UPDATE SET last = folio_days.last + $2 RETURNING last"
)
COUNT_WITH_HEAD = with_head(COUNT, "last")


async def joined_many(db: Connection, joins: list[dict[str, Any]], trail: Trail) -> list[Any]:
    """Joins numbered in order from each day's counter, moved once per day.

    The counter's move reads the trail's head too when the trail wants it.
    """
    days: dict[str, list[int]] = {}
    for index, join in enumerate(joins):
        days.setdefault(folio_day(join["joined_at"]), []).append(index)
    folios: list[Any] = [None] * len(joins)
    for day, indexes in days.items():
        if trail.wants_head:
            (last,) = trail.take_head(await db.fetch(COUNT_WITH_HEAD, day, len(indexes)), "last")
        else:
            last = int(await db.fetchval(COUNT, day, len(indexes)))
        for number, index in enumerate(indexes, start=last - len(indexes) + 1):
            folios[index] = f"{day}-{number:06d}"
    columns = [[join[name] for join in joins] for name in JOIN_COLUMNS.split(", ")[:-1]]
    columns[-1] = [note or None for note in columns[-1]]  # transfer_note: NULL for none
    await db.execute(
        f"INSERT INTO contacts ({JOIN_COLUMNS}) SELECT * FROM unnest($1::text[], $2::text[], "
        "$3::text[], $4::text[], $5::text[], $6::text[], $7::float8[], $8::float8[], "
        "$9::text[], $10::text[], $11::text[])",
        *columns,
        folios,
    )
    return folios


def _updates(
    assignments: str, values: str, condition: str = ""
) -> Callable[[Connection, list[str], list[list[Any]], Trail], Awaitable[set[str]]]:
    """One UPDATE over arrays, one row per contact; returns the contacts it changed.

    When the trail wants its head, the same statement reads it (one round trip
    less): the trail's lock was taken before, so the statement sees its last entry.
    """
    sql = (
        f"UPDATE contacts c SET {assignments} FROM unnest($1::text[], {values}) "
        f"WHERE c.contact_id = u.contact_id {condition} RETURNING c.contact_id"
    )
    sql_with_head = with_head(sql, "contact_id")

    async def update(
        db: Connection, contacts: list[str], columns: list[list[Any]], trail: Trail
    ) -> set[str]:
        if not trail.wants_head:
            return {str(row["contact_id"]) for row in await db.fetch(sql, contacts, *columns)}
        return set(trail.take_head(await db.fetch(sql_with_head, contacts, *columns), "contact_id"))

    return update


async def _unchanged(
    contacts: list[str], changed: set[str], refusal: Callable[[str], Awaitable[Any]]
) -> list[Any]:
    """None for each changed contact, else what ``refusal`` says of it."""
    return [None if contact in changed else await refusal(contact) for contact in contacts]


def _known(db: Connection) -> Callable[[str], Awaitable[Any]]:
    async def check(contact: str) -> Any:
        found = await db.fetchval("SELECT 1 FROM contacts WHERE contact_id = $1", contact)
        return None if found is not None else unknown(contact)

    return check


OFFER = _updates(
    "offered_at = u.at, executive_run = u.run, executive_name = u.name",
    "$2::float8[], $3::text[], $4::text[]) AS u(contact_id, at, run, name",
)
ANSWER = _updates(
    "answered_at = u.at", "$2::float8[]) AS u(contact_id, at", "AND c.answered_at IS NULL"
)
END = _updates(
    "ended_at = u.at, end_reason = u.reason",
    "$2::float8[], $3::text[]) AS u(contact_id, at, reason",
    "AND c.ended_at IS NULL",
)
WRAP_UP = _updates(
    "outcome_code = u.outcome, confirmed_reason_code = u.reason, notes = u.notes, "
    "wrapped_up_at = u.at",
    "$2::text[], $3::text[], $4::text[], $5::text[], $6::float8[]) "
    "AS u(contact_id, run, outcome, reason, notes, at",
    "AND c.executive_run = u.run AND c.answered_at IS NOT NULL AND c.ended_at IS NOT NULL "
    "AND c.wrapped_up_at IS NULL",
)


async def offered_many(db: Connection, offers: list[dict[str, Any]], trail: Trail) -> list[Any]:
    contacts = [offer["contact_id"] for offer in offers]
    columns = [
        [offer[name] for offer in offers] for name in ("at", "executive_run", "executive_name")
    ]
    return await _unchanged(contacts, await OFFER(db, contacts, columns, trail), _known(db))


async def answered_many(db: Connection, answers: list[dict[str, Any]], trail: Trail) -> list[Any]:
    contacts = [answer["contact_id"] for answer in answers]
    changed = await ANSWER(db, contacts, [[answer["at"] for answer in answers]], trail)
    return await _unchanged(contacts, changed, _known(db))


async def ended_many(db: Connection, ends: list[dict[str, Any]], trail: Trail) -> list[Any]:
    contacts = [end["contact_id"] for end in ends]
    reasons = [EndReason(end["end_reason"]).value for end in ends]
    changed = await END(db, contacts, [[end["at"] for end in ends], reasons], trail)
    return await _unchanged(contacts, changed, _known(db))


async def wrapped_up_many(db: Connection, wraps: list[dict[str, Any]], trail: Trail) -> list[Any]:
    contacts = [wrap["contact_id"] for wrap in wraps]
    names = ("executive_run", "outcome_code", "confirmed_reason_code", "notes", "at")
    columns = [[wrap[name] for wrap in wraps] for name in names]
    changed = await WRAP_UP(db, contacts, columns, trail)
    by_contact = {wrap["contact_id"]: wrap for wrap in wraps}

    async def why(contact: str) -> Any:
        # The one-write path says which check failed (it changes nothing, as here).
        try:
            await WRITES["contact_wrapped_up"](db, **by_contact[contact])
        except BranchError as error:
            return error
        return None

    return await _unchanged(contacts, changed, why)


MANY: dict[str, Many] = {
    "contact_joined": joined_many,
    "contact_offered": offered_many,
    "contact_answered": answered_many,
    "contact_ended": ended_many,
    "contact_wrapped_up": wrapped_up_many,
}
