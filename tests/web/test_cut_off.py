"""A page cut off loses its TCP connection at once, over TLS as over plain TCP.

The node cuts off a page that reads nothing, not even its close frame. By then
aiohttp has closed the page's transport, over TLS even twice, which on Python
3.11 leaves the TLS transport's abort() doing nothing.
"""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator, Awaitable, Callable

import pytest
from aiohttp import web

from branch.live.sessions import MemorySessionStore
from branch.tls import CertificatePaths, server_context
from branch.web.connection import PageConnection
from branch.web.outbox import Outbox
from tests.web.raw_page import TCP_CLOSE, RawPage, open_websocket

CHUNK = "x" * 16_000

OpenPage = Callable[[], Awaitable[tuple[RawPage, PageConnection]]]


@pytest.fixture(params=["tls", "tcp"])
async def open_page(
    request: pytest.FixtureRequest, certificates: CertificatePaths
) -> AsyncIterator[OpenPage]:
    """Factory: a page that reads nothing, and the node's side of it, served as the node does."""
    tls = request.param == "tls"
    opened: asyncio.Queue[PageConnection] = asyncio.Queue()
    outbox = Outbox(MemorySessionStore(), max_bytes=1024 * 1024, max_seconds=1.0)

    async def handler(request: web.Request) -> web.WebSocketResponse:
        socket = web.WebSocketResponse(autoping=False, compress=False)
        await socket.prepare(request)
        assert request.transport is not None
        opened.put_nowait(PageConnection(socket, request.transport, outbox))
        await socket.receive()
        return socket

    app = web.Application()
    app.router.add_get("/ws", handler)
    runner = web.AppRunner(app, handle_signals=False)
    await runner.setup()
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.bind(("127.0.0.1", 0))
    port = listener.getsockname()[1]
    context = server_context(certificates.server_cert, certificates.server_key) if tls else None
    await web.SockSite(runner, listener, ssl_context=context).start()
    pages: list[RawPage] = []

    async def open_one() -> tuple[RawPage, PageConnection]:
        url = f"{'https' if tls else 'http'}://localhost:{port}/ws"
        page = await open_websocket(url, certificates.ca_cert if tls else None, {})
        pages.append(page)
        page.stall()
        return page, await opened.get()

    yield open_one
    for page in pages:
        page.close()
    await runner.cleanup()


async def test_a_page_closed_twice_is_still_cut_off_at_once(open_page: OpenPage) -> None:
    page, node_side = await open_page()
    node_end = node_side.tcp
    assert node_end is not None
    while not node_side.transport.get_write_buffer_size():
        await node_side.socket.send_str(CHUNK)  # until her socket takes no more
    # As aiohttp closes the page's transport once its close frame is sent, and again
    # when the handler of the page returns.
    node_side.transport.close()
    node_side.transport.close()
    node_side.cut_off()
    loop = asyncio.get_running_loop()
    cut_at = loop.time()
    # The node lets go of the socket, and her end sees the reset though she reads nothing.
    while node_end.fileno() != -1 or page.tcp_state() != TCP_CLOSE:
        await asyncio.sleep(0.02)
        assert loop.time() - cut_at < 1, "her connection was never cut off"
