"""What a citizen choosing a service is told of it, and which changes are worth a push."""

from __future__ import annotations

import pytest

from branch.core.hours import Admission, Refusal, Schedule
from branch.core.status import ServiceStatus, changed, service_status
from tests.core.test_hours import OFFICE, at

TUESDAY_11 = at("2026-11-24T14:00:00")  # 11:00 in Santiago, open until 13:30
TUESDAY_14 = at("2026-11-24T17:00:00")  # 14:00, closed until Wednesday 08:30
CLOSES = at("2026-11-24T16:30:00")
OPENS = at("2026-11-25T11:30:00")


def status_of(
    admission: Admission,
    now: float = TUESDAY_11,
    waiting: int = 0,
    staffed: int = 1,
    estimate: float | None = None,
) -> ServiceStatus:
    return service_status(
        "triage", admission, now, waiting=waiting, staffed=staffed, estimate=estimate
    )


@pytest.mark.parametrize(
    ("admission", "now", "waiting", "staffed", "estimate", "expected"),
    [
        (Admission(OFFICE), TUESDAY_11, 0, 1, None, (True, None, CLOSES, None)),
        (Admission(OFFICE), TUESDAY_14, 0, 1, None, (False, OPENS, None, Refusal.CLOSED)),
        # The last executive left a service where nobody may wait unstaffed.
        (
            Admission(OFFICE, allow_unstaffed=False),
            TUESDAY_11,
            0,
            0,
            None,
            (True, None, CLOSES, Refusal.NO_EXECUTIVES),
        ),
        (Admission(OFFICE), TUESDAY_11, 0, 0, None, (True, None, CLOSES, None)),
        (
            Admission(OFFICE, max_waiting=3),
            TUESDAY_11,
            3,
            1,
            600.0,
            (True, None, CLOSES, Refusal.QUEUE_FULL),
        ),
        (Admission(OFFICE, max_waiting=3), TUESDAY_11, 2, 1, 600.0, (True, None, CLOSES, None)),
        (
            Admission(max_wait=900.0),
            TUESDAY_11,
            9,
            1,
            901.0,
            (True, None, None, Refusal.WAIT_TOO_LONG),
        ),
        # 11:00 plus three and a half hours ends after 13:30 plus the 30 minutes served after closing.
        (
            Admission(OFFICE, serve_after_close=1800.0),
            TUESDAY_11,
            30,
            1,
            3.5 * 3600.0,
            (True, None, CLOSES, Refusal.AFTER_CLOSING),
        ),
    ],
)
def test_the_status_says_whether_a_join_would_be_taken_now(
    admission: Admission,
    now: float,
    waiting: int,
    staffed: int,
    estimate: float | None,
    expected: tuple[bool, float | None, float | None, Refusal | None],
) -> None:
    status = status_of(admission, now, waiting, staffed, estimate)
    assert (status.open, status.opens_at, status.closes_at, status.refusal) == expected
    assert (status.waiting, status.staffed) == (waiting, staffed)


def test_the_status_on_the_wire() -> None:
    status = status_of(Admission(OFFICE, max_waiting=3), waiting=3, estimate=612.4)
    assert status.to_wire() == {
        "code": "triage",
        "open": True,
        "opensAt": None,
        "closesAt": CLOSES,
        "staffed": 1,
        "waiting": 3,
        "estimatedWaitSeconds": 612,
        "refusal": "queue_full",
    }


def test_a_status_with_negative_counts_is_refused() -> None:
    with pytest.raises(ValueError, match="staffed and waiting must be 0 or more"):
        ServiceStatus("triage", True, None, None, -1, 0, None, None)


OPEN = status_of(Admission(OFFICE))


@pytest.mark.parametrize(
    ("after", "pushed"),
    [
        (OPEN, False),  # nothing changed: no push
        (status_of(Admission(OFFICE), now=TUESDAY_11 + 600), False),  # time alone, same status
        (status_of(Admission(OFFICE), now=TUESDAY_14), True),  # it closed
        (status_of(Admission(OFFICE), staffed=0), True),  # the last executive left
        (status_of(Admission(OFFICE), staffed=2), True),  # one more executive
        (status_of(Admission(OFFICE), waiting=1), True),  # someone joined
        (status_of(Admission(OFFICE), estimate=240.0), True),  # the estimate moved
    ],
)
def test_only_a_changed_status_is_pushed(after: ServiceStatus, pushed: bool) -> None:
    assert changed({"triage": OPEN}, [after]) == ([after] if pushed else [])


def test_a_service_never_told_is_pushed() -> None:
    other = service_status(
        "especialista", Admission(Schedule()), TUESDAY_11, waiting=0, staffed=0, estimate=None
    )
    assert changed({"triage": OPEN}, [OPEN, other]) == [other]
    assert changed({}, [OPEN]) == [OPEN]
