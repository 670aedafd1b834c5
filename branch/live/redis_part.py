"""What each part of the Redis live store reaches: the store's client and its key names."""

from __future__ import annotations

from abc import ABC, abstractmethod

from redis.asyncio import Redis

from branch.live.keys import Keys


class RedisPart(ABC):
    keys: Keys

    @property
    @abstractmethod
    def redis(self) -> Redis:
        """The open client; raises when the store is not open."""
