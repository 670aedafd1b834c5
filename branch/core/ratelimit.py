"""Token buckets: how many actions a key may take, refilled over time. Pure; ``now`` is passed in."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True, slots=True)
class Rate:
    """``burst`` actions at once, refilled at ``per_second``."""

    burst: float
    per_second: float

    def __post_init__(self) -> None:
        if self.burst < 1 or self.per_second <= 0:
            raise ValueError(f"a rate needs burst >= 1 and a positive refill: {self}")


class Bucket:
    """One bucket, full when made. An open page holds its own and asks it on every frame it reads,
    so it is slotted and does its arithmetic inline."""

    __slots__ = ("at", "burst", "per_second", "tokens")

    def __init__(self, rate: Rate, now: float) -> None:
        self.burst = rate.burst
        self.per_second = rate.per_second
        self.tokens = rate.burst
        self.at = now

    def refilled(self, now: float) -> float:
        """The tokens there are at ``now``."""
        tokens = self.tokens + (now - self.at) * self.per_second
        return tokens if tokens < self.burst else self.burst

    def allow(self, now: float, cost: float = 1.0) -> bool:
        tokens = self.tokens + (now - self.at) * self.per_second
        if tokens > self.burst:
            tokens = self.burst
        self.at = now
        if tokens >= cost:
            self.tokens = tokens - cost
            return True
        self.tokens = tokens
        return False

    def retry_after(self, now: float, cost: float = 1.0) -> float:
        """Seconds until ``cost`` tokens are there again."""
        return max(0.0, (cost - self.refilled(now)) / self.per_second)


@dataclass(slots=True)
class Buckets:
    """One bucket per key (an address, a person)."""

    rate: Rate
    max_keys: int = 100_000  # past this, full buckets are forgotten first
    _buckets: dict[str, Bucket] = field(default_factory=dict)

    def allow(self, key: str, now: float, cost: float = 1.0) -> bool:
        bucket = self._buckets.get(key)
        if bucket is None:
            bucket = self._buckets[key] = Bucket(self.rate, now)
        allowed = bucket.allow(now, cost)
        if len(self._buckets) > self.max_keys:
            self._forget_full(now)
        return allowed

    def retry_after(self, key: str, now: float, cost: float = 1.0) -> float:
        """Seconds until ``cost`` tokens are there again."""
        return self._buckets.get(key, Bucket(self.rate, now)).retry_after(now, cost)

    def _forget_full(self, now: float) -> None:
        # A bucket that has refilled completely holds no information.
        self._buckets = {
            key: bucket
            for key, bucket in self._buckets.items()
            if bucket.refilled(now) < bucket.burst
        }
