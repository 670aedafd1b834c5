from __future__ import annotations

import pytest

from branch.core.estimate import (
    HISTORY,
    average_handle_time,
    estimate_from_average,
    estimate_wait,
)


@pytest.mark.parametrize(
    ("position", "history", "staffed", "expected"),
    [
        (1, [], 3, None),
        (1, [0.0], 1, None),
        (1, [300.0], 1, 150.0),
        (2, [300.0], 1, 450.0),
        (3, [200.0, 400.0], 2, 375.0),
        (1, [300.0], 0, 150.0),  # nobody staffed: assume one comes back
    ],
)
def test_estimate(
    position: int, history: list[float], staffed: int, expected: float | None
) -> None:
    assert estimate_wait(position, history, staffed) == expected
    # What a line's push gives each page from the one average it takes.
    assert estimate_from_average(position, average_handle_time(history), staffed) == expected


def test_only_recent_history_counts() -> None:
    history = [1000.0] * 5 + [100.0] * HISTORY
    assert average_handle_time(history) == 100.0


def test_position_must_be_positive() -> None:
    with pytest.raises(ValueError, match="position 0 must be 1 or more"):
        estimate_wait(0, [1.0], 1)
    with pytest.raises(ValueError, match="position 0 must be 1 or more"):
        estimate_from_average(0, None, 1)
