"""A logout, or a supervisor's log-out, on one node closes the person's page on another at once.

Two nodes on one real redis-server. Each node's session watch runs every 15 s with
the default limits, and the pages are expected closed within a few seconds: only
the message between the nodes can close them that soon.
"""

from __future__ import annotations

import asyncio

import pytest

from branch.errors import CLOSE_NOT_AUTHENTICATED, CLOSE_SESSION_ENDED
from branch.web.client import BranchClient, ClientError
from branch.web.keys import LIVE
from tests.conftest import CITIZEN_RUN, EXECUTIVE_RUN, SUPERVISOR_RUN, RunningBranch, StartBranch
from tests.servers.redis import RedisServer

# Well under the session watch's 15 s: the close is not the watch's.
PROMPTLY = 5.0


@pytest.fixture
async def nodes(
    start_branch: StartBranch, redis_server: RedisServer, redis_prefix: str
) -> tuple[RunningBranch, RunningBranch]:
    # One session secret, as a deployment's nodes have: a cookie from one is good on the other.
    shared = {
        "stores_live": redis_server.url,
        "stores_live_prefix": redis_prefix,
        "session_secret": "one secret for every node of this deployment",
    }
    first, second = await start_branch(**shared), await start_branch(**shared)
    settings = first.settings
    limits = (
        settings.session_idle_seconds,
        settings.session_staff_idle_seconds,
        settings.session_max_age,
        settings.session_staff_max_age,
    )
    assert min(limits) / 4 >= 15  # so the session watch runs every 15 s
    return first, second


async def test_a_logout_on_another_node_closes_the_page_at_once(
    nodes: tuple[RunningBranch, RunningBranch],
) -> None:
    first, second = nodes
    async with (
        BranchClient(first.url, ca_file=first.ca_path) as eva,
        BranchClient(first.url, ca_file=first.ca_path) as ana,
    ):
        await eva.login(EXECUTIVE_RUN, "Eva", "Díaz", "/executive")
        await eva.connect()  # somebody serves the line, so joining is not refused
        await ana.login(CITIZEN_RUN, "Ana", "Rojas")
        await ana.connect()
        await ana.send("queue.join", reason="licencias")
        await ana.receive("queue.position")

        # The same browser's logout is served by the other node.
        async with ana.http.post(
            f"{second.url}/logout", headers={"Origin": second.url}, allow_redirects=False
        ) as response:
            assert response.status == 303
        assert await ana.closed(timeout=PROMPTLY) == CLOSE_SESSION_ENDED
        # Gone as any closed page: her place is kept for the grace period, her page away
        # (once the page's handler, just after the close, has told the floor).
        async with asyncio.timeout(PROMPTLY):
            while True:
                waiting = (await second.app[LIVE].citizen_status(CITIZEN_RUN)).waiting
                assert waiting is not None
                if waiting.absent_since is not None:
                    break
                await asyncio.sleep(0.05)
        with pytest.raises(ClientError):
            await ana.connect()
        assert ana.close_code == CLOSE_NOT_AUTHENTICATED


async def test_a_supervisor_on_another_node_logs_an_executive_out_for_good(
    nodes: tuple[RunningBranch, RunningBranch],
) -> None:
    first, second = nodes
    async with (
        BranchClient(first.url, ca_file=first.ca_path) as eva,
        BranchClient(second.url, ca_file=second.ca_path) as sara,
    ):
        await eva.login(EXECUTIVE_RUN, "Eva", "Díaz", "/executive")
        await eva.connect()
        await eva.send("agent.available")
        await eva.receive("agent.state")
        await sara.login(SUPERVISOR_RUN, "Sara", "Vidal", "/supervisor")
        await sara.connect()

        await sara.send("supervisor.log_out", executive=EXECUTIVE_RUN)
        assert (await sara.receive("supervisor.done"))["executive"] == EXECUTIVE_RUN
        assert await eva.closed(timeout=PROMPTLY) == CLOSE_SESSION_ENDED
        # Her node ended the session behind the page: it cannot simply reconnect.
        with pytest.raises(ClientError):
            await eva.connect()
        assert eva.close_code == CLOSE_NOT_AUTHENTICATED
        async with eva.http.get(f"{first.url}/api/me") as me:
            assert me.status == 401
