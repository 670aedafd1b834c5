"""The node's own heartbeat: a silent page is pinged; one that leaves a ping unanswered is closed.

A page is not judged while its handler works on a frame or while it is set up
(its pong waits unread meanwhile), and a page whose socket backed up is not
pinged: the ping would wait behind what it has not read.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import signal
from collections.abc import AsyncIterator, Iterator

import aiohttp
import pytest

from branch.web.client import BranchClient
from branch.web.connection import PINGED, QUIET
from branch.web.keys import HUB, PAGES
from tests.conftest import CITIZEN_RUN, EXECUTIVE_RUN, RunningBranch, StartBranch
from tests.servers.redis import RedisServer, StartRedis
from tests.web.raw_page import OP_TEXT
from tests.web.stalled_line import backed_up, line

BEAT = 0.4  # heartbeat_seconds in these tests: a ping every 0.4 s, 0.2 s to answer it


async def bare_page(ana: BranchClient, url: str) -> aiohttp.ClientWebSocketResponse:
    """A logged-in page that answers nothing by itself, past its welcome."""
    socket = await ana.http.ws_connect(f"{url}/ws", origin=url, autoping=False)
    welcome = await socket.receive(timeout=5)
    assert json.loads(welcome.data)["type"] == "welcome"
    return socket


async def test_a_page_that_answers_the_pings_stays_open(start_branch: StartBranch) -> None:
    node = await start_branch(limits_ws_heartbeat_seconds=BEAT)
    async with BranchClient(node.url, ca_file=node.ca_path) as ana:
        await ana.login(CITIZEN_RUN, "Ana", "Rojas", "/citizen")
        socket = await bare_page(ana, node.url)
        pings = 0
        loop = asyncio.get_running_loop()
        until = loop.time() + 6 * BEAT
        while (left := until - loop.time()) > 0:
            try:
                frame = await socket.receive(timeout=left)
            except TimeoutError:
                break
            assert frame.type is aiohttp.WSMsgType.PING, frame
            pings += 1
            await socket.pong(frame.data)
        assert 3 <= pings <= 7  # one every heartbeat
        await socket.send_str(json.dumps({"type": "ping"}))  # and the page still works
        reply = await socket.receive(timeout=5)
        while reply.type is aiohttp.WSMsgType.PING:  # the next beat may come first
            await socket.pong(reply.data)
            reply = await socket.receive(timeout=5)
        assert json.loads(reply.data)["type"] == "pong"
        assert not socket.closed
        await socket.close()


async def test_a_page_that_leaves_a_ping_unanswered_is_closed(start_branch: StartBranch) -> None:
    node = await start_branch(limits_ws_heartbeat_seconds=BEAT)
    async with BranchClient(node.url, ca_file=node.ca_path) as ana:
        await ana.login(CITIZEN_RUN, "Ana", "Rojas", "/citizen")
        socket = await bare_page(ana, node.url)
        loop = asyncio.get_running_loop()
        ping = await socket.receive(timeout=5 * BEAT)
        assert ping.type is aiohttp.WSMsgType.PING
        pinged_at = loop.time()
        end = await socket.receive(timeout=5 * BEAT)  # no pong sent
        assert end.type in (aiohttp.WSMsgType.CLOSED, aiohttp.WSMsgType.ERROR), end
        # Taken for gone at the next beat, half a heartbeat after the ping.
        assert BEAT / 2 * 0.8 <= loop.time() - pinged_at <= BEAT * 2
        for _ in range(50):  # and the node forgets the page as if its connection dropped
            if not node.app[HUB].keys("") and not node.app[PAGES]:
                break
            await asyncio.sleep(0.05)
        assert node.app[HUB].keys("") == [] and not node.app[PAGES]


async def test_a_page_that_keeps_talking_is_not_pinged(start_branch: StartBranch) -> None:
    node = await start_branch(limits_ws_heartbeat_seconds=BEAT)
    async with BranchClient(node.url, ca_file=node.ca_path) as ana:
        await ana.login(CITIZEN_RUN, "Ana", "Rojas", "/citizen")
        socket = await bare_page(ana, node.url)
        for _ in range(12):  # every quarter heartbeat, for three heartbeats
            await socket.send_str(json.dumps({"type": "ping"}))
            reply = await socket.receive(timeout=5)
            assert reply.type is aiohttp.WSMsgType.TEXT, reply
            assert json.loads(reply.data)["type"] == "pong"
            await asyncio.sleep(BEAT / 4)
        assert not socket.closed
        await socket.close()


async def test_the_node_answers_a_pages_ping(start_branch: StartBranch) -> None:
    node = await start_branch()
    async with BranchClient(node.url, ca_file=node.ca_path) as ana:
        await ana.login(CITIZEN_RUN, "Ana", "Rojas", "/citizen")
        socket = await bare_page(ana, node.url)
        await socket.ping(b"are you there")
        pong = await socket.receive(timeout=5)
        assert pong.type is aiohttp.WSMsgType.PONG
        assert pong.data == b"are you there"
        await socket.close()


@contextlib.contextmanager
def frozen(redis: RedisServer) -> Iterator[None]:
    """Redis stops answering (its process stopped), as a store that hangs does."""
    assert redis.process is not None
    redis.process.send_signal(signal.SIGSTOP)
    try:
        yield
    finally:
        redis.process.send_signal(signal.SIGCONT)


OnRedis = tuple[RunningBranch, RedisServer, BranchClient]


@pytest.fixture
async def on_redis(
    start_redis: StartRedis, start_branch: StartBranch, redis_prefix: str
) -> AsyncIterator[OnRedis]:
    """A node whose live state and sessions are on a Redis of the test's own; ana logged in."""
    redis = start_redis()
    node = await start_branch(
        limits_ws_heartbeat_seconds=BEAT, stores_live=redis.url, stores_live_prefix=redis_prefix
    )
    async with BranchClient(node.url, ca_file=node.ca_path) as ana:
        await ana.login(CITIZEN_RUN, "Ana", "Rojas", "/citizen")
        yield node, redis, ana


async def test_a_page_is_not_judged_while_its_handler_works_on_a_frame(on_redis: OnRedis) -> None:
    node, redis, ana = on_redis
    async with BranchClient(node.url, ca_file=node.ca_path) as eva:
        await eva.login(EXECUTIVE_RUN, "Eva", "Díaz", "/executive")
        await eva.connect()  # somebody serves the line, so joining is not refused
        socket = await bare_page(ana, node.url)
        with frozen(redis):
            # Its handler waits for the store for four beats; the page's frames,
            # pongs included, wait unread meanwhile, so it looks silent.
            await socket.send_str(json.dumps({"type": "queue.join", "reason": "licencias"}))
            await asyncio.sleep(4 * BEAT)
        while True:  # the line's status, told to a page not yet in line, may come first
            reply = await socket.receive(timeout=10)
            assert reply.type is aiohttp.WSMsgType.TEXT, reply
            kind = json.loads(reply.data)["type"]
            if kind != "service.status":
                break
        assert kind == "queue.joined"
        await socket.close()


async def test_a_page_is_not_judged_while_it_is_set_up(on_redis: OnRedis) -> None:
    node, redis, ana = on_redis
    with frozen(redis):
        # Upgraded at once; the session, the page's record and its welcome wait for
        # the store for four beats.
        socket = await ana.http.ws_connect(f"{node.url}/ws", origin=node.url, autoping=False)
        await asyncio.sleep(4 * BEAT)
    while True:  # what the node pushed meanwhile may come first, the welcome then
        frame = await socket.receive(timeout=10)
        assert frame.type is aiohttp.WSMsgType.TEXT, frame
        if json.loads(frame.data)["type"] == "welcome":
            break
    await socket.close()


async def test_a_page_whose_socket_backed_up_is_not_pinged(start_branch: StartBranch) -> None:
    async with line(start_branch) as waiting:
        waiting.ana.stall()
        await backed_up(waiting)
        page = waiting.page_of_ana()
        page.quiet = QUIET  # silent for a beat: the next one would ping it
        # Not sent: behind what she has not read it would wait for her, and hold up
        # the beat for every page after hers. She is taken for gone at the next beat.
        assert await asyncio.wait_for(page.beat(), 5) is False
        assert page.quiet == PINGED
        waiting.ana.resume()
        while True:
            try:
                frame = await waiting.ana.frame(timeout=3)
            except TimeoutError:
                break
            assert frame.opcode == OP_TEXT, frame
        assert await asyncio.wait_for(page.beat(), 5) is False
        assert page.transport.is_closing()
