"""The one place that picks the live-state implementation from config."""

from __future__ import annotations

from branch.core.floor import FloorRules
from branch.errors import ConfigError
from branch.live.base import LiveStore
from branch.live.memory import MemoryLiveStore


def open_live_store(url: str, rules: FloorRules) -> LiveStore:
    if url in ("memory://", "memory:"):
        return MemoryLiveStore(rules)
    if url.startswith(("redis://", "rediss://")):
        raise ConfigError("stores.live: redis:// is not supported yet; use memory://")
    raise ConfigError(f"stores.live: unsupported URL {url!r} (use memory://)")
