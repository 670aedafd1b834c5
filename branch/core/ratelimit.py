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


@dataclass(slots=True)
class Buckets:
    """One bucket per key (an address, a person, a connection).

    Slotted: every open page has one of its own.
    """

    rate: Rate
    max_keys: int = 100_000  # past this, full buckets are forgotten first
    _tokens: dict[str, tuple[float, float]] = field(default_factory=dict)  # key -> (tokens, at)

    def allow(self, key: str, now: float, cost: float = 1.0) -> bool:
        tokens, at = self._tokens.get(key, (self.rate.burst, now))
        tokens = min(self.rate.burst, tokens + (now - at) * self.rate.per_second)
        allowed = tokens >= cost
        self._tokens[key] = (tokens - cost if allowed else tokens, now)
        if len(self._tokens) > self.max_keys:
            self._forget_full(now)
        return allowed

    def retry_after(self, key: str, now: float, cost: float = 1.0) -> float:
        """Seconds until ``cost`` tokens are there again."""
        tokens, at = self._tokens.get(key, (self.rate.burst, now))
        tokens = min(self.rate.burst, tokens + (now - at) * self.rate.per_second)
        return max(0.0, (cost - tokens) / self.rate.per_second)

    def _forget_full(self, now: float) -> None:
        # A bucket that has refilled completely holds no information.
        burst, refill = self.rate.burst, self.rate.per_second
        self._tokens = {
            key: (tokens, at)
            for key, (tokens, at) in self._tokens.items()
            if tokens + (now - at) * refill < burst
        }
