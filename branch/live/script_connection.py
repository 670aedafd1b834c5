"""One Lua script called on a connection of its own, past redis-py's per-command machinery.

Every step of the Redis live store is one call of its step script, and the
call is what the people being paired wait for. redis-py's client wraps each
command in the pool's lock, its retry helper, observability hooks, a task for
the write's timeout and a stream reader for the reply. Here the script's
packed command goes out on a ``RedisLink`` (``branch/redis_link.py``: asyncio's
transport, replies parsed by hiredis in ``data_received``; a small script's
call 56-59 → 34-46 µs against a redis-py connection's send and read, side by
side at load 3 on two cores), one call at a time:
a node's overlapping steps all commit on the version they read, so one behind
another loses nothing (the first to land refuses the others anyway). What the
client would do stays, its settings taken from a connection of the client's
own pool: the URL's transport (TCP, TLS or a Unix socket), credentials and
database, the socket timeout on each call, a new connection and the call again
on a dropped one or a timeout (the caller's command must be safe to repeat, as
a token-checked commit is), the script loaded again when Redis no longer has
it, and redis-py's exception classes for what goes wrong.
"""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import Sequence
from typing import Any

from redis.asyncio import Redis
from redis.asyncio.connection import AbstractConnection
from redis.exceptions import ConnectionError, NoScriptError, TimeoutError

from branch.redis_link import RedisLink
from branch.redis_packing import pack, pack_arguments

# Attempts after the first on a dropped connection or a timeout, and the pause
# before each (doubling), as ``branch.redis_retry`` gives the client.
RETRIES = 3
FIRST_PAUSE = 0.02
LONGEST_PAUSE = 0.5
EVALSHA = b"EVALSHA"
CLOSED = "the script's connection is closed"


class ScriptConnection:
    """``await call(keys=..., args=...)`` runs the script as ``client.register_script`` would."""

    def __init__(self, client: Redis, text: str) -> None:
        self.text = text
        self.sha = hashlib.sha1(text.encode()).hexdigest()
        # Never connected itself: where and how to connect, as the client's URL said.
        made: AbstractConnection = client.connection_pool.make_connection()  # type: ignore[no-untyped-call]  # untyped in redis-py
        self._settings = made
        self._link: RedisLink | None = None
        self._turn = asyncio.Lock()
        self._closed = False

    async def __call__(self, *, keys: Sequence[str], args: Sequence[Any]) -> Any:
        command = pack_arguments((EVALSHA, self.sha, len(keys), *keys, *args))
        async with self._turn:
            pause = FIRST_PAUSE
            for attempt in range(RETRIES + 1):
                try:
                    return await self._run(command)
                except (ConnectionError, TimeoutError):
                    # The link closed itself on the error: the next attempt opens one.
                    if attempt == RETRIES or self._closed:
                        raise
                await asyncio.sleep(pause)
                pause = min(pause * 2, LONGEST_PAUSE)
        raise AssertionError("unreachable: the last attempt returns or raises")

    async def _run(self, command: list[bytes]) -> Any:
        link = self._link
        if link is None or link.closed:
            if self._closed:
                raise ConnectionError(CLOSED)
            link = await RedisLink.open(self._settings)
            if self._closed:  # closed while this one was opening: nobody would close it
                await link.aclose()
                raise ConnectionError(CLOSED)
            self._link = link
        try:
            return await link.ask(command)
        except NoScriptError:
            # Redis restarted or its scripts were flushed: load it, then the same call.
            await link.ask(pack("SCRIPT", "LOAD", self.text))
            return await link.ask(command)

    async def close(self) -> None:
        """Close the link; a call still under way or made later fails with ConnectionError."""
        self._closed = True
        if self._link is not None:
            await self._link.aclose()
            self._link = None
