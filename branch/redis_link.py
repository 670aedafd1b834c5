"""One Redis connection on asyncio's protocol/transport API, its replies parsed by hiredis.

redis-py's asyncio connection reads through a stream reader and, when a socket
timeout is set, writes each command inside ``asyncio.wait_for``: a task and a
loop turn more per command. Here the bytes Redis sends go straight from the
transport's ``data_received`` into a ``hiredis.Reader``, and each reply
resolves the future of the call waiting for it: a command costs one write and
one wake-up, its timeout watched by a timer that outlives it. It is made from a connection of a redis-py pool, never
connected itself, so the URL is read once, by redis-py: the same transport
(TCP, TLS or a Unix socket), credentials, database, protocol version, timeouts
and reply decoding, and Redis's errors raised as redis-py's exception classes.
"""

from __future__ import annotations

import asyncio
import builtins
import socket
from collections import deque
from collections.abc import Mapping
from typing import Any, cast

import hiredis
from redis.asyncio.connection import (
    AbstractConnection,
    Connection,
    SSLConnection,
    UnixDomainSocketConnection,
)
from redis.credentials import UsernamePasswordCredentialProvider
from redis.exceptions import (
    AuthenticationError,
    BusyLoadingError,
    ConnectionError,
    InvalidResponse,
    NoPermissionError,
    NoScriptError,
    OutOfMemoryError,
    ReadOnlyError,
    ResponseError,
    TimeoutError,
)
from redis.utils import format_error_message

from branch.redis_packing import pack

# Redis's error codes a live-store call can meet, as redis-py's parsers class them (their
# table lives in a private package, so it is not imported): others are ResponseError.
ERROR_CLASSES: dict[str, type[Exception]] = {
    "NOSCRIPT": NoScriptError,
    "WRONGPASS": AuthenticationError,
    "NOAUTH": AuthenticationError,
    "NOPERM": NoPermissionError,
    "LOADING": BusyLoadingError,
    "READONLY": ReadOnlyError,
    "OOM": OutOfMemoryError,
}


def redis_error(text: str) -> Exception:
    """An error reply as the exception redis-py raises for it, its message without the code."""
    code, _, rest = text.partition(" ")
    error_class = ERROR_CLASSES.get(code)
    if error_class is not None:
        return error_class(rest)
    if text == "ERR invalid password":
        return AuthenticationError(rest)
    if text == "ERR max number of clients reached":
        return ConnectionError(rest)  # as redis-py: try again on a new connection
    return ResponseError(text.removeprefix("ERR ") if code == "ERR" else text)


# What ``Reader.gets`` answers while a reply is incomplete; False is a RESP3 reply.
_INCOMPLETE = object()
# How long closing waits for a TLS goodbye before dropping the socket.
CLOSE_WAIT = 1.0


def _where(settings: AbstractConnection) -> str:
    if isinstance(settings, UnixDomainSocketConnection):
        return settings.path
    if isinstance(settings, Connection):
        return f"{settings.host}:{settings.port}"
    raise TypeError(f"no Redis link for a {type(settings).__name__}: TCP, TLS or a Unix socket")


class _Replies(asyncio.Protocol):
    """Feeds what arrives to hiredis; each reply resolves the oldest call still waiting."""

    def __init__(self, reader: hiredis.Reader, where: str) -> None:
        self.reader = reader
        self.where = where
        self.waiting: deque[asyncio.Future[Any]] = deque()
        self.transport: asyncio.Transport | None = None
        self.gone: asyncio.Future[None] = asyncio.get_running_loop().create_future()

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # A stream transport (TCP, TLS or Unix socket), as ``create_connection`` makes.
        self.transport = cast(asyncio.Transport, transport)

    def data_received(self, data: bytes) -> None:
        reader = self.reader
        reader.feed(data)
        while True:
            try:
                reply = reader.gets()
            except InvalidResponse as error:
                self.drop(ConnectionError(f"Protocol error from {self.where}: {error}"))
                return
            if reply is _INCOMPLETE:
                return
            if type(reply) is hiredis.PushNotification:
                continue  # RESP3 pushes answer no call (none is asked for here)
            if not self.waiting:
                self.drop(ConnectionError(f"A reply no call asked for from {self.where}"))
                return
            future = self.waiting.popleft()
            if future.done():
                continue  # timed out or cancelled, which closes the connection anyway
            if isinstance(reply, Exception):  # an error reply, as redis-py's parser classed it
                future.set_exception(reply)
            else:
                future.set_result(reply)

    def drop(self, error: Exception) -> None:
        """Fail every waiting call with ``error`` and close the connection."""
        self.fail(error)
        if self.transport is not None:
            self.transport.close()

    def fail(self, error: Exception) -> None:
        while self.waiting:
            future = self.waiting.popleft()
            if not future.done():
                future.set_exception(error)

    def connection_lost(self, exc: Exception | None) -> None:
        reason = f": {exc}" if exc else ""
        self.fail(ConnectionError(f"Connection to {self.where} closed{reason}"))
        if not self.gone.done():
            self.gone.set_result(None)


class RedisLink:
    """``await RedisLink.open(pool.make_connection())``, then ``await link.ask(packed)``."""

    def __init__(self, replies: _Replies, transport: asyncio.Transport, timeout: float | None):
        self._replies = replies
        self._transport = transport
        self._timeout = timeout
        self._loop = asyncio.get_running_loop()
        # The call in flight and when it times out, watched by one timer that is
        # rearmed only when it fires: a timer per call would cost more than the write.
        self._asking: asyncio.Future[Any] | None = None
        self._deadline = 0.0
        self._watchdog: asyncio.TimerHandle | None = None

    @classmethod
    async def open(cls, settings: AbstractConnection) -> RedisLink:
        """Connected, authenticated and on the settings' database, within their connect timeout."""
        where = _where(settings)
        decoding: dict[str, Any] = {}
        if settings.encoder.decode_responses:
            decoding = {"encoding": settings.encoder.encoding}
            decoding["errors"] = settings.encoder.encoding_errors
        reader = hiredis.Reader(
            protocolError=InvalidResponse,
            replyError=redis_error,
            notEnoughData=_INCOMPLETE,
            **decoding,
        )
        replies = _Replies(reader, where)
        loop = asyncio.get_running_loop()
        try:
            async with asyncio.timeout(settings.socket_connect_timeout):
                if isinstance(settings, UnixDomainSocketConnection):
                    await loop.create_unix_connection(lambda: replies, settings.path)
                elif isinstance(settings, Connection):
                    tls = (
                        settings.ssl_context.get() if isinstance(settings, SSLConnection) else None
                    )
                    # asyncio turns Nagle off on TCP sockets itself (a command is one write).
                    await loop.create_connection(
                        lambda: replies, settings.host, settings.port, ssl=tls
                    )
                transport = cast(asyncio.Transport, replies.transport)
                link = cls(replies, transport, settings.socket_timeout)
                if isinstance(settings, Connection):
                    link._keep_alive(settings)
                await link._greet(settings)
        except BaseException as error:
            if replies.transport is not None:
                replies.transport.abort()
            # The builtin TimeoutError is an OSError: tell it apart first.
            if isinstance(error, TimeoutError | ConnectionError):
                raise
            if isinstance(error, builtins.TimeoutError):
                raise TimeoutError(f"Timeout connecting to {where}") from None
            if isinstance(error, OSError):
                raise ConnectionError(format_error_message(where, error)) from None
            raise
        return link

    def _keep_alive(self, settings: Connection) -> None:
        """TCP keepalive as redis-py sets it, so a peer gone silent is noticed between calls."""
        sock = self._transport.get_extra_info("socket")
        if sock is None or not settings.socket_keepalive:
            return
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE, 1)
        options = settings.socket_keepalive_options
        for option, value in options.items() if isinstance(options, Mapping) else ():
            sock.setsockopt(socket.SOL_TCP, option, value)

    async def _greet(self, settings: AbstractConnection) -> None:
        """What redis-py's ``on_connect`` sends that changes replies: HELLO/AUTH, name, SELECT."""
        credentials: tuple[str, ...] = ()
        if settings.credential_provider or settings.username or settings.password:
            provider = settings.credential_provider or UsernamePasswordCredentialProvider(
                settings.username, settings.password
            )
            credentials = tuple(await provider.get_credentials_async())
        commands: list[tuple[Any, ...]] = []
        protocol = int(settings.protocol or 2)
        if protocol == 3:
            auth = ("AUTH", *(credentials if len(credentials) == 2 else ("default", *credentials)))
            commands.append(("HELLO", 3, *(auth if credentials else ())))
        elif credentials:
            commands.append(("AUTH", *credentials))
        if settings.client_name:
            commands.append(("CLIENT", "SETNAME", settings.client_name))
        if settings.db:
            commands.append(("SELECT", settings.db))
        if not commands:
            return
        # One round trip: a refused AUTH fails the rest, and the first error is raised.
        futures = [self._send(pack(*command)) for command in commands]
        replies = await asyncio.gather(*futures)
        if protocol == 3 and replies[0].get("proto", replies[0].get(b"proto")) != 3:
            raise ConnectionError(f"Redis at {self._replies.where} did not switch to RESP3")

    def _send(self, command: list[bytes]) -> asyncio.Future[Any]:
        replies = self._replies
        if self._transport.is_closing():
            raise ConnectionError(f"Connection to {replies.where} closed")
        future = self._loop.create_future()
        replies.waiting.append(future)
        self._transport.writelines(command)
        return future

    async def ask(self, command: list[bytes]) -> Any:
        """The reply to one packed command; any failure but an error reply closes the link.

        One call at a time: the next is asked once this one's reply is in.
        """
        if self._asking is not None:
            raise RuntimeError(f"a call to {self._replies.where} is still waiting for its reply")
        future = self._send(command)
        if self._timeout is not None:
            self._deadline = self._loop.time() + self._timeout
            if self._watchdog is None:
                self._watchdog = self._loop.call_at(self._deadline, self._watch)
        self._asking = future
        try:
            return await future
        except ResponseError:
            raise  # Redis answered: the connection is in step
        except BaseException:
            # Timed out or cancelled: a reply may still come, and must not be the next call's.
            self.close()
            raise
        finally:
            self._asking = None

    def _watch(self) -> None:
        self._watchdog = None
        future = self._asking
        if future is None or future.done():
            return  # idle: the next call arms the timer again
        if self._loop.time() >= self._deadline:
            future.set_exception(TimeoutError(f"Timeout reading from {self._replies.where}"))
        else:  # a later call than the one that armed it
            self._watchdog = self._loop.call_at(self._deadline, self._watch)

    @property
    def closed(self) -> bool:
        return self._transport.is_closing()

    def close(self) -> None:
        """Close now; replies still on their way are never read."""
        if self._watchdog is not None:
            self._watchdog.cancel()
            self._watchdog = None
        self._transport.close()

    async def aclose(self) -> None:
        """Close and wait until the socket is released."""
        self.close()
        gone = self._replies.gone
        if not gone.done():
            await asyncio.wait([gone], timeout=CLOSE_WAIT)
        if not gone.done():
            self._transport.abort()
