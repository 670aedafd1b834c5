"""Token buckets: bursts, refill, independence of keys, bounded memory."""

from __future__ import annotations

import pytest

from branch.core.ratelimit import Bucket, Buckets, Rate


def test_a_burst_then_the_refill_rate() -> None:
    buckets = Buckets(Rate(burst=3, per_second=1.0))
    assert [buckets.allow("a", 0.0) for _ in range(4)] == [True, True, True, False]
    assert buckets.retry_after("a", 0.0) == pytest.approx(1.0)
    assert buckets.allow("a", 0.5) is False
    assert buckets.allow("a", 1.0) is True
    assert buckets.allow("a", 1.0) is False
    assert [buckets.allow("a", 10.0) for _ in range(4)] == [True, True, True, False]  # capped


def test_a_bucket_of_its_own_bursts_refills_and_caps() -> None:
    own = Bucket(Rate(burst=3, per_second=2.0), 0.0)
    moments = [0.0, 0.0, 0.0, 0.0, 0.2, 0.5, 0.5, 0.6, 10.0, 10.0, 10.0, 10.0]
    expected = [True, True, True, False, False, True, False, False, True, True, True, False]
    assert [own.allow(at) for at in moments] == expected
    assert own.retry_after(10.0) == pytest.approx(0.5)
    assert own.refilled(100.0) == 3  # capped at the burst


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
    assert len(buckets._buckets) == 2


@pytest.mark.parametrize(("burst", "refill"), [(0, 1.0), (1, 0.0), (5, -1.0)])
def test_a_rate_must_make_sense(burst: float, refill: float) -> None:
    with pytest.raises(ValueError):
        Rate(burst, refill)
