"""The id of a Redis server's life: how a node tells that Redis restarted empty.

The first client to find the ``epoch`` key (``branch.live.keys``) missing sets
it to a random value. A node that remembers the value it saw and later finds
another one (or none) knows Redis lost everything in between: it restarted
without persistence, or was flushed. A node taken for dead by the others, on
the contrary, finds the same value. The live store, the sessions and the
delivery each remember the value on their own, since each has its own repair
to make when it changes.
"""

from __future__ import annotations

import uuid

from redis.asyncio import Redis


async def current_epoch(redis: Redis, key: str) -> str:
    """The epoch now, set first if missing; "" when Redis lost it again in between."""
    # SET NX: of the clients finding the key missing, one sets it and all read that one.
    await redis.set(key, uuid.uuid4().hex, nx=True)
    return str(await redis.get(key) or "")
