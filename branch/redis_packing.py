"""Commands packed into the Redis protocol by hiredis's C packer instead of redis-py's Python.

redis-py's asyncio connection packs every argument in Python (≈ 3 µs each on a
loaded machine); the live store's step script takes some sixty (every key and
every change), so packing alone cost about as much as the script's run inside
Redis. hiredis, already there for parsing replies, packs the same bytes:
strings as UTF-8, integers as digits and floats as their shortest repr, which
is what redis-py's encoder writes (tests/test_redis_packing.py compares both).
Pipelines and pub/sub connections pack each command through the same
``pack_command`` (a pub/sub's SUBSCRIBE and its health-check PING included),
so every client of the branch can use it.
"""

from __future__ import annotations

from typing import Any

import hiredis
from redis.asyncio import Redis
from redis.asyncio.connection import (
    AbstractConnection,
    Connection,
    SSLConnection,
    UnixDomainSocketConnection,
)
from redis.exceptions import DataError


def pack(*args: Any) -> list[bytes]:
    """One command in the Redis protocol; DataError for an argument Redis cannot take."""
    # A command named in two words ("CONFIG GET") is two arguments, as redis-py sends it.
    if isinstance(args[0], str):
        args = (*args[0].encode().split(), *args[1:])
    elif b" " in args[0]:
        args = (*args[0].split(), *args[1:])
    return pack_arguments(args)


def pack_arguments(args: tuple[Any, ...]) -> list[bytes]:
    """``pack`` for a command whose name is already one argument of bytes, given as one tuple.

    The live store's step script packs some ninety arguments per step: one
    tuple made by the caller, not copied again on the way to the packer.
    """
    try:
        return [hiredis.pack_command(args)]
    except TypeError:
        pass
    # Only then look at each argument: a step's sixty would cost more than the packing.
    args = tuple(bytes(arg) if isinstance(arg, bytearray | memoryview) else arg for arg in args)
    try:
        return [hiredis.pack_command(args)]
    except TypeError:
        # None or a bool, which redis-py's encoder refuses as well: name the argument.
        index, wrong = next(
            (
                (index, arg)
                for index, arg in enumerate(args)
                if isinstance(arg, bool) or not isinstance(arg, str | bytes | int | float)
            ),
            (len(args), None),
        )
        command = args[0].decode() if isinstance(args[0], bytes) else args[0]
        raise DataError(
            f"Redis cannot take {wrong!r} (argument {index} of {command}): "
            "send bytes, a string, an int or a float"
        ) from None


class _Packed:
    def pack_command(self, *args: Any) -> list[bytes]:
        return pack(*args)


class PackedConnection(_Packed, Connection):
    pass


class PackedSSLConnection(_Packed, SSLConnection):
    pass


class PackedUnixConnection(_Packed, UnixDomainSocketConnection):
    pass


_PACKED: dict[type[AbstractConnection], type[AbstractConnection]] = {
    Connection: PackedConnection,
    SSLConnection: PackedSSLConnection,
    UnixDomainSocketConnection: PackedUnixConnection,
}


def packed(connection_class: type[AbstractConnection]) -> type[AbstractConnection]:
    """The class packing with hiredis for the one a URL chose (TCP, TLS or a Unix socket)."""
    return _PACKED.get(connection_class, connection_class)


def packing(client: Redis) -> Redis:
    """``client``, its connections packing with hiredis; call it before it connected."""
    pool = client.connection_pool
    # The URL's scheme chose the class (TCP, TLS, Unix socket): wrapped, not replaced.
    pool.connection_class = packed(pool.connection_class)
    return client
