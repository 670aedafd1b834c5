"""Wait estimates from recent handle times: pure arithmetic, no clock."""

from __future__ import annotations

from collections.abc import Sequence

HISTORY = 20  # recent contacts that shape the estimate; older ones describe another hour


def average_handle_time(handle_times: Sequence[float]) -> float | None:
    recent = [seconds for seconds in handle_times[-HISTORY:] if seconds > 0]
    if not recent:
        return None
    return sum(recent) / len(recent)


def estimate_wait(position: int, handle_times: Sequence[float], staffed: int) -> float | None:
    """Seconds until a citizen at ``position`` (1 = next) is likely offered.

    None means "no estimate yet": without history, any number would be a guess
    presented as a fact. With nobody staffed the estimate assumes one executive
    returns, the least wrong number to show.
    """
    return estimate_from_average(position, average_handle_time(handle_times), staffed)


def estimate_from_average(position: int, average: float | None, staffed: int) -> float | None:
    """`estimate_wait` from the average already taken: a line's push takes it once for everyone."""
    if position < 1:
        raise ValueError(f"position {position} must be 1 or more")
    if average is None:
        return None
    servers = max(staffed, 1)
    # Everyone staffed is busy while someone waits, each about halfway through
    # a contact; then the line moves one place per average/servers seconds.
    return (position - 0.5) * average / servers
