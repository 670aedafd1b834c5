"""The node's own heartbeat: a silent page is pinged; one that leaves a ping unanswered is closed."""

from __future__ import annotations

import asyncio
import json

import aiohttp

from branch.web.client import BranchClient
from branch.web.keys import HUB, PAGES
from tests.conftest import CITIZEN_RUN, StartBranch

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
