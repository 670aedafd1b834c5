"""The recent handle times of each line in the Redis live store, from which waits are estimated."""

from __future__ import annotations

from branch.core.estimate import HISTORY
from branch.live.redis_part import RedisPart


class HandleTimes(RedisPart):
    async def add_handle_time(self, service: str, seconds: float) -> None:
        key = self.keys.handle_times(service)
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.lpush(key, seconds)
            pipe.ltrim(key, 0, HISTORY - 1)
            await pipe.execute()

    async def handle_times(self, service: str) -> list[float]:
        texts = await self.redis.lrange(self.keys.handle_times(service), 0, HISTORY - 1)
        return [float(text) for text in reversed(texts)]
