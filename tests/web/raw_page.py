"""A page's websocket spoken by hand, so a test can stop reading its socket and start again.

A browser or aiohttp's client reads its socket on its own into buffers of their
own; this one reads only while the test lets it, through a small receive
buffer, so the node sees what it sees of a stalled phone: a socket that takes
nothing.
"""

from __future__ import annotations

import asyncio
import base64
import json
import os
import socket
import struct
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast
from urllib.parse import urlsplit

from yarl import URL

from branch.tls import client_context
from branch.web.client import BranchClient

RECEIVE_BUFFER = 4096  # bytes: the kernel's buffer, and what TLS may read ahead
OP_TEXT, OP_CLOSE, OP_PING, OP_PONG = 0x1, 0x8, 0x9, 0xA
TCP_CLOSE = 7  # Linux's state of a connection that was reset (linux/tcp_states.h)


@dataclass(frozen=True)
class Frame:
    opcode: int
    payload: bytes

    def message(self) -> dict[str, Any]:
        assert self.opcode == OP_TEXT, self
        message: dict[str, Any] = json.loads(self.payload)
        return message

    @property
    def close_code(self) -> int:
        assert self.opcode == OP_CLOSE, self
        code: int = struct.unpack("!H", self.payload[:2])[0]
        return code


class RawPage(asyncio.Protocol):
    def __init__(self) -> None:
        self.transport: asyncio.Transport | None = None
        self.data = bytearray()
        self.arrived = asyncio.Event()
        self.lost = False
        self.received = 0  # bytes, all told
        self.welcome: dict[str, Any] = {}  # the first message

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport

    def data_received(self, data: bytes) -> None:
        self.data += data
        self.received += len(data)
        self.arrived.set()

    def connection_lost(self, exc: Exception | None) -> None:
        self.lost = True
        self.arrived.set()

    def stall(self) -> None:
        """Read nothing more: what arrives stays in the kernel, and then at the node."""
        assert self.transport is not None
        self.transport.pause_reading()

    def resume(self) -> None:
        assert self.transport is not None
        self.transport.resume_reading()

    async def _more(self, timeout: float) -> None:
        if self.lost:
            raise ConnectionError("the node closed the connection")
        self.arrived.clear()
        await asyncio.wait_for(self.arrived.wait(), timeout)

    async def frame(self, timeout: float = 10.0) -> Frame:
        """The next frame from the node (reading must not be stalled)."""
        while True:
            frame = self._take()
            if frame is not None:
                return frame
            await self._more(timeout)

    def _take(self) -> Frame | None:
        data = self.data
        if len(data) < 2:
            return None
        length, start = data[1] & 0x7F, 2
        if length == 126:
            if len(data) < 4:
                return None
            length, start = struct.unpack("!H", data[2:4])[0], 4
        elif length == 127:
            if len(data) < 10:
                return None
            length, start = struct.unpack("!Q", data[2:10])[0], 10
        if len(data) < start + length:
            return None
        frame = Frame(data[0] & 0x0F, bytes(data[start : start + length]))
        del data[: start + length]
        return frame

    async def message(self, timeout: float = 10.0) -> dict[str, Any]:
        """The next text message, past pings."""
        while (frame := await self.frame(timeout)).opcode == OP_PING:
            pass
        return frame.message()

    def send(self, kind: str, **fields: Any) -> None:
        self.write(OP_TEXT, json.dumps({"type": kind, **fields}).encode())

    def write(self, opcode: int, payload: bytes) -> None:
        """One masked frame, as a browser sends them."""
        assert self.transport is not None and len(payload) < 126
        mask = os.urandom(4)
        masked = bytes(byte ^ mask[index % 4] for index, byte in enumerate(payload))
        self.transport.write(bytes([0x80 | opcode, 0x80 | len(payload)]) + mask + masked)

    def tcp_state(self) -> int:
        """The kernel's state of this end of the connection, seen even while stalled."""
        assert self.transport is not None
        sock = self.transport.get_extra_info("socket")
        info: bytes = sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_INFO, 1)
        return info[0]

    def close(self) -> None:
        if self.transport is not None:
            self.transport.close()


async def open_raw_page(client: BranchClient, ca_path: str | os.PathLike[str]) -> RawPage:
    """The websocket of ``client``'s logged-in person; returns once its welcome is read."""
    cookies = client.http.cookie_jar.filter_cookies(URL(client.url))
    cookie = "; ".join(f"{name}={morsel.value}" for name, morsel in cookies.items())
    page = await open_websocket(
        client.url + "/ws", Path(ca_path), {"Origin": client.origin, "Cookie": cookie}
    )
    page.welcome = await page.message()
    assert page.welcome["type"] == "welcome", page.welcome
    return page


async def open_websocket(url: str, ca_path: Path | None, headers: dict[str, str]) -> RawPage:
    """A websocket at ``url`` (https when ``ca_path`` is given); returns once it is open."""
    loop = asyncio.get_running_loop()
    parts = urlsplit(url)
    assert parts.port is not None
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    # Before connecting, so the window the node is offered is small from the start.
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, RECEIVE_BUFFER)
    sock.setblocking(False)
    await loop.sock_connect(sock, ("127.0.0.1", parts.port))
    transport, page = await loop.create_connection(
        RawPage,
        sock=sock,
        ssl=None if ca_path is None else client_context(ca_path),
        server_hostname=None if ca_path is None else parts.hostname,
    )
    if ca_path is not None:
        # TLS would otherwise read up to 256 KiB ahead of a page that reads nothing (a
        # method of the TLS transport only).
        cast(Any, transport).set_read_buffer_limits(high=RECEIVE_BUFFER)
    key = base64.b64encode(os.urandom(16)).decode()
    extra = "".join(f"{name}: {value}\r\n" for name, value in headers.items())
    transport.write(
        (
            f"GET {parts.path} HTTP/1.1\r\nHost: {parts.netloc}\r\nUpgrade: websocket\r\n"
            f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\n"
            f"Sec-WebSocket-Version: 13\r\n{extra}\r\n"
        ).encode()
    )
    while b"\r\n\r\n" not in page.data:
        await page._more(10)
    head, _, rest = bytes(page.data).partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 101"), head
    page.data = bytearray(rest)
    return page
