"""A contact's record: what one contact was, as the record stores keep it and figures read it."""

from __future__ import annotations

import datetime
from dataclasses import asdict, dataclass
from typing import Any

from branch.core.model import EndReason

__all__ = ["ContactRecord"]


@dataclass(frozen=True)
class ContactRecord:
    contact_id: str
    folio: str
    service: str
    citizen_run: str
    citizen_name: str
    reason_code: str
    reason_text: str
    joined_at: float
    offered_at: float | None = None
    answered_at: float | None = None
    ended_at: float | None = None
    wrapped_up_at: float | None = None
    executive_run: str | None = None
    executive_name: str | None = None
    end_reason: EndReason | None = None
    outcome_code: str | None = None
    confirmed_reason_code: str | None = None
    notes: str | None = None
    survey_score: int | None = None
    survey_comment: str | None = None
    surveyed_at: float | None = None
    # Seconds predicted on entering the line (at join, or at the transfer); None: none given.
    estimated_wait: float | None = None
    transferred_from: str | None = None  # the contact this one was transferred from
    transfer_note: str | None = None
    purged_at: float | None = None  # when the retention purge erased its personal data

    @property
    def waited_seconds(self) -> float | None:
        until = self.answered_at if self.answered_at is not None else self.ended_at
        return None if until is None else until - self.joined_at

    @property
    def talk_seconds(self) -> float | None:
        if self.answered_at is None or self.ended_at is None:
            return None
        return self.ended_at - self.answered_at

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready: times as ISO-8601 UTC."""
        document = asdict(self)
        for name in (
            "joined_at",
            "offered_at",
            "answered_at",
            "ended_at",
            "wrapped_up_at",
            "surveyed_at",
            "purged_at",
        ):
            value = document[name]
            if value is not None:
                document[name] = datetime.datetime.fromtimestamp(value, datetime.UTC).isoformat()
        document["end_reason"] = self.end_reason.value if self.end_reason else None
        return document
