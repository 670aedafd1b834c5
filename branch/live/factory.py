"""The one place that picks the live-state implementation from config."""

from __future__ import annotations

from branch.config import REDIS_SCHEMES
from branch.core.floor import FloorRules
from branch.errors import ConfigError
from branch.live.base import LiveStore
from branch.live.keys import DEFAULT_PREFIX
from branch.live.memory import MemoryLiveStore
from branch.live.redisstore import RedisLiveStore


def open_live_store(url: str, rules: FloorRules, prefix: str = DEFAULT_PREFIX) -> LiveStore:
    if url in ("memory://", "memory:"):
        return MemoryLiveStore(rules)
    if url.startswith(REDIS_SCHEMES):
        return RedisLiveStore(url, rules, prefix)
    raise ConfigError(
        f"stores.live: unsupported URL {url!r} (use memory:// or redis://host:port/db)"
    )
