"""Logins end when idle or at their absolute limit; an open page counts as activity."""

from __future__ import annotations

import asyncio

import pytest

from branch.auth.identity import Person as Identity
from branch.auth.identity import Role
from branch.auth.run import Run
from branch.auth.sessions import Session
from branch.errors import CLOSE_SESSION_ENDED
from branch.web.client import BranchClient
from tests.conftest import CITIZEN_RUN, EXECUTIVE_RUN, StartBranch
from tests.media.support import both_connected

SOMEONE = Identity(Run.parse(CITIZEN_RUN), ("Ana",), ("Rojas",))


@pytest.mark.parametrize(
    ("now", "idle", "live"),
    [
        (100.0, 60.0, True),  # fresh
        (159.9, 60.0, True),
        (160.0, 60.0, False),  # idle a full minute
        (1000.0, 60.0, False),
    ],
)
def test_idle_and_absolute_limits(now: float, idle: float, live: bool) -> None:
    session = Session(
        "s", SOMEONE, Role.CITIZEN, created_at=50.0, expires_at=500.0, last_seen=100.0
    )
    assert session.is_live(now, idle) is live


def test_the_absolute_limit_holds_whatever_the_activity() -> None:
    session = Session("s", SOMEONE, Role.CITIZEN, 0.0, 500.0, last_seen=499.0)
    assert session.is_live(499.5, 60.0)
    assert not session.is_live(500.0, 60.0)


async def status_of_me(client: BranchClient) -> int:
    async with client.http.get(f"{client.url}/api/me") as response:
        return response.status


async def test_an_idle_login_ends(start_branch: StartBranch) -> None:
    node = await start_branch(session_idle_seconds=1)
    async with BranchClient(node.url, ca_file=node.ca_path) as ana:
        await ana.login(CITIZEN_RUN, "Ana", "Rojas", "/citizen")
        assert await status_of_me(ana) == 200
        await asyncio.sleep(1.3)
        assert await status_of_me(ana) == 401
        assert await status_of_me(ana) == 401  # and it stays ended


async def test_an_open_page_keeps_the_login_alive(start_branch: StartBranch) -> None:
    node = await start_branch(session_idle_seconds=1)
    async with BranchClient(node.url, ca_file=node.ca_path) as ana:
        await ana.login(CITIZEN_RUN, "Ana", "Rojas", "/citizen")
        await ana.connect()
        await asyncio.sleep(2.0)  # waiting in line, nothing clicked
        assert await status_of_me(ana) == 200


async def test_staff_logins_are_shorter(start_branch: StartBranch) -> None:
    node = await start_branch(session_staff_idle_seconds=1, session_idle_seconds=60)
    async with (
        BranchClient(node.url, ca_file=node.ca_path) as ana,
        BranchClient(node.url, ca_file=node.ca_path) as eva,
    ):
        await ana.login(CITIZEN_RUN, "Ana", "Rojas", "/citizen")
        await eva.login(EXECUTIVE_RUN, "Eva", "Díaz", "/executive")
        await asyncio.sleep(1.3)
        assert await status_of_me(ana) == 200
        assert await status_of_me(eva) == 401


async def test_a_page_whose_login_ran_out_is_closed_with_4440(start_branch: StartBranch) -> None:
    node = await start_branch(session_max_age=2)
    async with BranchClient(node.url, ca_file=node.ca_path) as ana:
        await ana.login(CITIZEN_RUN, "Ana", "Rojas", "/citizen")
        await ana.connect()
        assert await asyncio.wait_for(ana.closed(), 5) == CLOSE_SESSION_ENDED


async def test_a_call_is_not_cut_when_the_login_runs_out(start_branch: StartBranch) -> None:
    node = await start_branch(session_staff_max_age=2, service_readiness_seconds=0)
    async with (
        BranchClient(node.url, ca_file=node.ca_path) as ana,
        BranchClient(node.url, ca_file=node.ca_path) as eva,
    ):
        await both_connected(ana, eva)
        await ana.send("queue.join", reason="otro")
        contact_id = (await ana.receive("queue.joined"))["contactId"]
        await eva.send("agent.available")
        await eva.receive("offer")
        await eva.send("offer.accept", contactId=contact_id)
        await eva.receive("call.started")
        await asyncio.sleep(3.0)  # past the executive's limit, mid-call
        await eva.send("ping")
        await eva.receive("pong")
        await eva.send("call.hangup", contactId=contact_id)
        await eva.receive("call.ended")
        await asyncio.sleep(1.0)  # two session checks (every 0.5 s): the wrap-up is not cut either
        await eva.send("ping")
        await eva.receive("pong")
        await eva.send("wrapup.submit", contactId=contact_id, outcome="resuelto", reason="otro")
        await eva.receive("wrapup.saved")
        assert await asyncio.wait_for(eva.closed(), 5) == CLOSE_SESSION_ENDED
