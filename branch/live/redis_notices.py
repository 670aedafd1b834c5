"""Broadcast notices of a line in the Redis live store, one key per line."""

from __future__ import annotations

import math

from branch.live import codec
from branch.live.base import Notice
from branch.live.redis_part import RedisPart


class Notices(RedisPart):
    async def set_notice(self, notice: Notice) -> None:
        # The TTL only tidies up; whether a notice is current is decided by the caller's clock.
        lifetime = max(1, math.ceil(notice.until - notice.at))
        await self.redis.set(
            self.keys.notice(notice.service), codec.dump_notice(notice), ex=lifetime
        )

    async def notice(self, service: str, now: float) -> Notice | None:
        return _current_notice(await self.redis.get(self.keys.notice(service)), now)

    async def clear_notice(self, service: str, now: float) -> Notice | None:
        # One command, so a broadcast landing meanwhile is either removed whole or kept whole.
        return _current_notice(await self.redis.getdel(self.keys.notice(service)), now)


def _current_notice(text: str | bytes | None, now: float) -> Notice | None:
    if text is None:
        return None
    notice = codec.load_notice(text)
    return notice if notice.current(now) else None
