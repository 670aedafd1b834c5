"""Floods get named errors and, if they go on, a closed socket; everyone else carries on."""

from __future__ import annotations

import json

import aiohttp

from branch.errors import CLOSE_RATE_LIMITED
from branch.tls import client_context
from branch.web.client import BranchClient
from tests.conftest import CITIZEN_RUN, StartBranch

OTHER_CITIZEN = "13.131.313-6"


async def test_a_flooding_page_is_slowed_then_closed_while_others_carry_on(
    start_branch: StartBranch,
) -> None:
    node = await start_branch(limits_message_burst=10, limits_messages_per_second=5)
    async with (
        BranchClient(node.url, ca_file=node.ca_path) as flooder,
        BranchClient(node.url, ca_file=node.ca_path) as other,
    ):
        await flooder.login(CITIZEN_RUN, "Ana", "Rojas", "/citizen")
        await other.login(OTHER_CITIZEN, "Bea", "Soto", "/citizen")
        await flooder.connect()
        await other.connect()
        ping = json.dumps({"type": "ping"})
        for _ in range(600):
            await flooder.send_raw(ping)
            if flooder._closed:
                break
        # The other page is served normally throughout.
        await other.send("ping")
        await other.receive("pong")
        assert await flooder.closed() == CLOSE_RATE_LIMITED
        errors = [m for m in flooder._inbox if m.get("type") == "error"]
        assert errors and errors[0]["code"] == "rate_limited"
        assert len([m for m in flooder._inbox if m.get("type") == "pong"]) <= 12


async def test_joins_per_person_are_limited(start_branch: StartBranch) -> None:
    node = await start_branch(limits_joins_per_hour=2)
    async with BranchClient(node.url, ca_file=node.ca_path) as ana:
        await ana.login(CITIZEN_RUN, "Ana", "Rojas", "/citizen")
        await ana.connect()
        for _ in range(2):
            await ana.send("queue.join", reason="otro")
            await ana.receive("queue.joined")
            await ana.send("queue.leave")
            await ana.receive("queue.left")
        await ana.send("queue.join", reason="otro")
        error = await ana.receive("error", raise_errors=False)
        assert error["code"] == "rate_limited"
        assert "demasiadas veces" in error["message"]


async def test_logins_per_address_are_limited(start_branch: StartBranch) -> None:
    node = await start_branch(limits_logins_per_minute=3)
    connector = aiohttp.TCPConnector(ssl=client_context(node.ca_path))
    async with aiohttp.ClientSession(connector=connector) as http:
        statuses = []
        for _ in range(5):
            async with http.get(f"{node.url}/login", allow_redirects=False) as response:
                statuses.append(response.status)
                if response.status == 429:
                    assert int(response.headers["Retry-After"]) >= 1
                    assert "demasiados intentos" in await response.text()
        assert statuses == [302, 302, 302, 429, 429]
