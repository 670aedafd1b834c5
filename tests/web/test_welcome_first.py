"""A page's welcome is the first message it gets, whatever the node sends it meanwhile."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import pytest

from branch.people import User
from branch.web.client import BranchClient, ClientError
from branch.web.keys import OUTBOX, SERVICE
from tests.conftest import CITIZEN_RUN, EXECUTIVE_RUN, RunningBranch, StartBranch
from tests.web.raw_page import open_raw_page

Welcomes = Callable[[User], Awaitable[dict[str, Any]]]


@contextlib.asynccontextmanager
async def logged_in(
    start_branch: StartBranch,
) -> AsyncIterator[tuple[RunningBranch, BranchClient, BranchClient]]:
    """A node, and ana (a citizen) and eva (an executive) logged in, no page open."""
    node = await start_branch()
    async with (
        BranchClient(node.url, ca_file=node.ca_path) as ana,
        BranchClient(node.url, ca_file=node.ca_path) as eva,
    ):
        await ana.login(CITIZEN_RUN, "Ana", "Rojas")
        await eva.login(EXECUTIVE_RUN, "Eva", "Díaz", "/executive")
        yield node, ana, eva


def while_citizens_are_set_up(
    node: RunningBranch,
    monkeypatch: pytest.MonkeyPatch,
    meanwhile: Callable[[Welcomes, User], Awaitable[dict[str, Any]]],
) -> None:
    """Make the welcome of a citizen's page with ``meanwhile``, given the node's own way."""
    service = node.app[SERVICE]
    welcomes = service.connected

    async def connected(user: User) -> dict[str, Any]:
        if user.role != "citizen":
            return await welcomes(user)
        return await meanwhile(welcomes, user)

    monkeypatch.setattr(service, "connected", connected)


async def test_a_status_change_while_a_page_is_set_up_reaches_it_after_its_welcome(
    start_branch: StartBranch, monkeypatch: pytest.MonkeyPatch
) -> None:
    async with logged_in(start_branch) as (node, ana, eva):

        async def meanwhile(welcomes: Welcomes, user: User) -> dict[str, Any]:
            welcome = await welcomes(user)
            # Between her welcome's making and its sending, the service gains its first
            # executive, which every page choosing a service is pushed.
            await eva.connect()
            return welcome

        while_citizens_are_set_up(node, monkeypatch, meanwhile)
        page = await open_raw_page(ana, node.ca_path)  # fails unless the welcome comes first
        assert page.welcome["services"][0]["staffed"] == 0
        status = await page.message()
        assert status["type"] == "service.status"
        # Merged into her welcome, as pages do, it shows the service as it is now.
        [general] = status["services"]
        assert (general["code"], general["staffed"], general["refusal"]) == ("general", 1, None)
        page.close()


async def test_a_page_whose_setup_fails_after_it_was_sent_something_leaves_nothing_held(
    start_branch: StartBranch, monkeypatch: pytest.MonkeyPatch
) -> None:
    async with logged_in(start_branch) as (node, ana, eva):

        async def meanwhile(welcomes: Welcomes, user: User) -> dict[str, Any]:
            await eva.connect()  # pushed to ana's page, which holds it for her welcome
            assert node.app[OUTBOX].backlogs
            raise RuntimeError("the welcome could not be made")

        while_citizens_are_set_up(node, monkeypatch, meanwhile)
        with pytest.raises(ClientError, match=r"code 1011"):
            await ana.connect()
        assert node.app[OUTBOX].backlogs == {}
