"""One Lua script called on a connection of its own, past redis-py's per-command machinery.

Every step of the Redis live store is one call of its step script, and the
call is what the people being paired wait for. redis-py's client wraps each
command in the pool's lock, its retry helper, observability hooks and a task
for the write's timeout: ≈ 45 µs of a call that Redis answers in ≈ 80 µs
(timed on a loaded machine). Here the script's packed command is written to
one connection of the client's own pool class and its reply read back, one
call at a time: a node's overlapping steps all commit on the version they
read, so one behind another loses nothing (the first to land refuses the
others anyway). What the client would do stays: the same connection class
(TCP, TLS or a Unix socket, with the URL's credentials and database), its
socket timeout, a new connection and the call again on a dropped one or a
timeout (the caller's command must be safe to repeat, as a token-checked
commit is), and the script loaded again when Redis no longer has it.
"""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import Sequence
from typing import Any

from redis.asyncio import Redis
from redis.asyncio.connection import AbstractConnection
from redis.exceptions import ConnectionError, NoScriptError, TimeoutError

from branch.redis_packing import pack, pack_arguments

# Attempts after the first on a dropped connection or a timeout, and the pause
# before each (doubling), as ``branch.redis_retry`` gives the client.
RETRIES = 3
FIRST_PAUSE = 0.02
LONGEST_PAUSE = 0.5
EVALSHA = b"EVALSHA"


class ScriptConnection:
    """``await call(keys=..., args=...)`` runs the script as ``client.register_script`` would."""

    def __init__(self, client: Redis, text: str) -> None:
        self.text = text
        self.sha = hashlib.sha1(text.encode()).hexdigest()
        self._pool = client.connection_pool
        self._connection: AbstractConnection | None = None
        self._turn = asyncio.Lock()

    async def __call__(self, *, keys: Sequence[str], args: Sequence[Any]) -> Any:
        command = pack_arguments((EVALSHA, self.sha, len(keys), *keys, *args))
        async with self._turn:
            pause = FIRST_PAUSE
            for attempt in range(RETRIES + 1):
                try:
                    return await self._run(command)
                except (ConnectionError, TimeoutError):
                    # The connection closed itself on the error: the next attempt opens one.
                    if attempt == RETRIES:
                        raise
                await asyncio.sleep(pause)
                pause = min(pause * 2, LONGEST_PAUSE)
        raise AssertionError("unreachable: the last attempt returns or raises")

    async def _run(self, command: list[bytes]) -> Any:
        connection = self._connection
        if connection is None:
            made: AbstractConnection = self._pool.make_connection()  # type: ignore[no-untyped-call]  # untyped in redis-py
            connection = self._connection = made
        try:
            return await self._ask(connection, command)
        except NoScriptError:
            # Redis restarted or its scripts were flushed: load it, then the same call.
            await self._ask(connection, pack("SCRIPT", "LOAD", self.text))
            return await self._ask(connection, command)

    @staticmethod
    async def _ask(connection: AbstractConnection, command: list[bytes]) -> Any:
        # Both connect when needed and close the connection on any failure, a cancelled
        # call too, so no reply is ever left behind for the next call to read.
        await connection.send_packed_command(command, check_health=False)
        return await connection.read_response()

    async def close(self) -> None:
        if self._connection is not None:
            await self._connection.disconnect()
            self._connection = None
