"""Token buckets: bursts, refill, independence of keys, bounded memory."""

from __future__ import annotations

import pytest

from branch.core.ratelimit import Buckets, Rate


def test_a_burst_then_the_refill_rate() -> None:
    buckets = Buckets(Rate(burst=3, per_second=1.0))
    assert [buckets.allow("a", 0.0) for _ in range(4)] == [True, True, True, False]
    assert buckets.retry_after("a", 0.0) == pytest.approx(1.0)
    assert buckets.allow("a", 0.5) is False
    assert buckets.allow("a", 1.0) is True
    assert buckets.allow("a", 1.0) is False
    assert [buckets.allow("a", 10.0) for _ in range(4)] == [True, True, True, False]  # capped


def test_keys_do_not_share_a_bucket() -> None:
    buckets = Buckets(Rate(burst=1, per_second=0.1))
    assert buckets.allow("flooder", 0.0)
    assert not buckets.allow("flooder", 0.0)
    assert buckets.allow("someone else", 0.0)


def test_full_buckets_are_forgotten_when_there_are_too_many_keys() -> None:
    buckets = Buckets(Rate(burst=2, per_second=1.0), max_keys=10)
    for index in range(10):
        buckets.allow(f"old-{index}", 0.0)
    buckets.allow("busy", 100.0)
    buckets.allow("new", 100.0)  # 12 keys: the refilled old ones go
    assert len(buckets._tokens) == 2


@pytest.mark.parametrize(("burst", "refill"), [(0, 1.0), (1, 0.0), (5, -1.0)])
def test_a_rate_must_make_sense(burst: float, refill: float) -> None:
    with pytest.raises(ValueError):
        Rate(burst, refill)
