"""Floods get named errors and, if they go on, a closed socket; everyone else carries on."""

from __future__ import annotations

import json

import aiohttp

from branch.errors import CLOSE_RATE_LIMITED
from branch.tls import client_context
from branch.web.client import BranchClient
from tests.conftest import CITIZEN_RUN, RunningBranch, StartBranch

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


async def login_statuses(
    node: RunningBranch, forwarded_for: list[str], attempts: int = 1
) -> list[int]:
    """Statuses of ``attempts`` logins started with each X-Forwarded-For value in turn."""
    connector = aiohttp.TCPConnector(ssl=client_context(node.ca_path))
    statuses = []
    async with aiohttp.ClientSession(connector=connector) as http:
        for _ in range(attempts):
            for value in forwarded_for:
                headers = {"X-Forwarded-For": value}
                async with http.get(
                    f"{node.url}/login", headers=headers, allow_redirects=False
                ) as response:
                    statuses.append(response.status)
    return statuses


async def test_a_header_from_a_peer_that_is_not_a_trusted_proxy_is_ignored(
    start_branch: StartBranch,
) -> None:
    # The test's own address (loopback) is not among the trusted proxies.
    node = await start_branch(limits_logins_per_minute=3, trusted_proxies=("10.0.0.0/8",))
    spoofed = [f"203.0.113.{n}" for n in range(5)]
    assert await login_statuses(node, spoofed) == [302, 302, 302, 429, 429]


async def test_behind_a_trusted_proxy_each_client_has_its_own_bucket(
    start_branch: StartBranch,
) -> None:
    node = await start_branch(limits_logins_per_minute=3, trusted_proxies=("127.0.0.1",))
    # Two citizens behind the proxy: each gets three logins, not three between them;
    # what a client writes to the left of the proxy's own entry changes nothing.
    ana, bea = "203.0.113.5", "198.51.100.7, 203.0.113.6"
    assert await login_statuses(node, [ana, bea], attempts=4) == [302] * 6 + [429, 429]
    assert await login_statuses(node, ["1.1.1.1, 203.0.113.6", "203.0.113.7"]) == [429, 302]
