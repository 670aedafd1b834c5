"""A logout, or a supervisor's log-out, on one node closes the person's page on another at once.

Two nodes on one real redis-server. Each node's session watch runs every 15 s with
the default limits, and the pages are expected closed within a few seconds: only
the message between the nodes can close them that soon.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

import pytest

from branch.auth.sessions import Session
from branch.errors import CLOSE_NOT_AUTHENTICATED, CLOSE_SESSION_ENDED
from branch.web.auth import SESSIONS
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


async def eva_and_sara(eva: BranchClient, sara: BranchClient) -> None:
    """Eva's page is open, Sara's supervisor page too."""
    await eva.login(EXECUTIVE_RUN, "Eva", "Díaz", "/executive")
    await eva.connect()
    await sara.login(SUPERVISOR_RUN, "Sara", "Vidal", "/supervisor")
    await sara.connect()


def client(node: RunningBranch) -> BranchClient:
    return BranchClient(node.url, ca_file=node.ca_path)


@contextlib.asynccontextmanager
async def eva_twice_and_sara(
    eva_on: RunningBranch, elsewhere_on: RunningBranch, sara_on: RunningBranch
) -> AsyncIterator[tuple[BranchClient, BranchClient, BranchClient]]:
    """Eva's page and Sara's are open; Eva is logged in in another browser too, no page there."""
    async with client(eva_on) as eva, client(elsewhere_on) as elsewhere, client(sara_on) as sara:
        await eva_and_sara(eva, sara)
        await elsewhere.login(EXECUTIVE_RUN, "Eva", "Díaz", "/executive")
        yield eva, elsewhere, sara


async def log_out(sara: BranchClient, eva: BranchClient) -> None:
    """Sara logs Eva out; Eva's page closes, well before any session watch."""
    await sara.send("supervisor.log_out", executive=EXECUTIVE_RUN)
    assert (await sara.receive("supervisor.done"))["executive"] == EXECUTIVE_RUN
    assert await eva.closed(timeout=PROMPTLY) == CLOSE_SESSION_ENDED


async def logged_out(client: BranchClient, *nodes: RunningBranch) -> None:
    """The client's login is gone: its page cannot reconnect, no node knows it."""
    with pytest.raises(ClientError):
        await client.connect()
    assert client.close_code == CLOSE_NOT_AUTHENTICATED
    for node in nodes:
        async with client.http.get(f"{node.url}/api/me") as me:
            assert me.status == 401


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

        await log_out(sara, eva)
        # Her login ended: the page cannot simply reconnect.
        await logged_out(eva, first)


async def test_a_supervisors_log_out_ends_every_login_of_the_executive(
    nodes: tuple[RunningBranch, RunningBranch],
) -> None:
    first, second = nodes
    async with eva_twice_and_sara(first, second, second) as (eva, eva_elsewhere, sara):
        await log_out(sara, eva)
        await logged_out(eva, first, second)
        await logged_out(eva_elsewhere, first, second)
        # The supervisor is still logged in.
        async with sara.http.get(f"{second.url}/api/me") as me:
            assert me.status == 200


async def test_a_page_opening_as_the_executive_is_logged_out_is_closed(
    nodes: tuple[RunningBranch, RunningBranch],
) -> None:
    first, second = nodes
    store = second.app[SESSIONS]
    real_get_session = store.get_session
    armed, read, go_on = False, asyncio.Event(), asyncio.Event()

    async def get_session_then_wait(session_id: str, now: float) -> Session | None:
        session = await real_get_session(session_id, now)
        if armed and session is not None and session.person.run.format() == EXECUTIVE_RUN:
            # Read as valid by the page being set up; registered only after the log-out.
            read.set()
            await go_on.wait()
        return session

    async with eva_twice_and_sara(first, second, first) as (eva, eva_elsewhere, sara):
        store.get_session = get_session_then_wait  # type: ignore[method-assign]
        armed = True
        opening = asyncio.create_task(eva_elsewhere.connect())
        await asyncio.wait_for(read.wait(), PROMPTLY)
        armed = False

        await log_out(sara, eva)
        go_on.set()
        # Registered after the log-out looked for her page: it finds its login gone itself.
        with pytest.raises(ClientError):
            await asyncio.wait_for(opening, PROMPTLY)
        assert eva_elsewhere.close_code == CLOSE_SESSION_ENDED
        assert (await first.app[LIVE].agent_status(EXECUTIVE_RUN)).agent is None


async def test_a_login_after_the_log_out_is_not_logged_out(
    nodes: tuple[RunningBranch, RunningBranch],
) -> None:
    first, second = nodes
    async with client(first) as eva, client(second) as sara:
        await eva_and_sara(eva, sara)
        await log_out(sara, eva)

        await eva.login(EXECUTIVE_RUN, "Eva", "Díaz", "/executive")
        await eva.connect()
        await eva.send("agent.available")
        while (await eva.receive("agent.state"))["state"] != "available":
            pass
        for node in (first, second):
            async with eva.http.get(f"{node.url}/api/me") as me:
                assert me.status == 200
        with pytest.raises(ClientError):
            await eva.closed(timeout=1.0)
