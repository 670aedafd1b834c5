"""What a citizen still choosing a service needs to know of it, and when that changed.

Pure: the status is computed from the line, the staffing, the estimate and
``now``, so opening, closing, the last executive leaving and a full line are
all seen the same way, whichever node or event caused them. Pages are sent a
service's status only when it differs from the one they were last sent.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from branch.core.hours import Admission, Refusal


@dataclass(frozen=True)
class ServiceStatus:
    code: str
    open: bool
    opens_at: float | None  # the next opening while closed
    closes_at: float | None  # the end of the interval open now
    staffed: int  # executives of this service logged in
    waiting: int
    estimate: int | None  # seconds a newcomer would wait; None: no history yet
    refusal: Refusal | None  # what a join would be told now; None: it would be taken

    def __post_init__(self) -> None:
        if self.staffed < 0 or self.waiting < 0:
            raise ValueError(f"staffed and waiting must be 0 or more: {self!r}")

    def to_wire(self) -> dict[str, Any]:
        return {
            "code": self.code,
            "open": self.open,
            "opensAt": self.opens_at,
            "closesAt": self.closes_at,
            "staffed": self.staffed,
            "waiting": self.waiting,
            "estimatedWaitSeconds": self.estimate,
            "refusal": None if self.refusal is None else self.refusal.value,
        }


def service_status(
    code: str,
    admission: Admission,
    now: float,
    *,
    waiting: int,
    staffed: int,
    estimate: float | None,
) -> ServiceStatus:
    """The service as a newcomer would find it at ``now``."""
    schedule = admission.schedule
    is_open = schedule.is_open(now)
    return ServiceStatus(
        code=code,
        open=is_open,
        opens_at=None if is_open else schedule.next_opening(now),
        closes_at=schedule.closes_at(now),
        staffed=staffed,
        waiting=waiting,
        estimate=None if estimate is None else round(estimate),
        refusal=admission.refusal(now, waiting, staffed, estimate),
    )


def changed(
    before: Mapping[str, ServiceStatus], after: Iterable[ServiceStatus]
) -> list[ServiceStatus]:
    """The statuses in ``after`` that differ from, or are missing in, ``before``."""
    return [status for status in after if before.get(status.code) != status]
