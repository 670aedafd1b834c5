"""The retention period: when a closed contact's personal data is due for erasure.

The erasing itself is the record store's ``purge`` (one transaction with its
audit entry); this module only says up to when, for the node's upkeep and for
``branch purge``.
"""

from __future__ import annotations

import logging

from branch.records.base import Purge, RecordStore

log = logging.getLogger(__name__)

DAY_SECONDS = 86400.0


def purge_before(now: float, days: int) -> float:
    """Contacts closed before this moment are past a retention period of ``days``."""
    if days <= 0:
        raise ValueError(f"a retention period must be at least one day, not {days}")
    return now - days * DAY_SECONDS


async def purge_expired(records: RecordStore, days: int, now: float, actor: str) -> Purge:
    """Erase what the retention period no longer allows to keep; logs what it did."""
    result = await records.purge(purge_before(now, days), now, actor)
    if result.entry is not None:
        log.info(
            "retention purge: personal data of %d contacts and %d audit entries erased",
            result.contacts,
            result.entries,
        )
    return result
