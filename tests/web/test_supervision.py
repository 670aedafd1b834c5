"""Supervision over the real socket: the pushed wallboard, and a log-out that ends the session."""

from __future__ import annotations

import pytest

from branch.errors import CLOSE_NOT_AUTHENTICATED, CLOSE_SESSION_ENDED
from branch.web.client import BranchClient, ClientError
from tests.conftest import EXECUTIVE_RUN, SUPERVISOR_RUN, StartBranch


async def test_a_supervisor_logs_an_executive_out_for_good(start_branch: StartBranch) -> None:
    node = await start_branch()
    async with (
        BranchClient(node.url, ca_file=node.ca_path) as sara,
        BranchClient(node.url, ca_file=node.ca_path) as eva,
    ):
        await sara.login(SUPERVISOR_RUN, "Sara", "Vidal", "/supervisor")
        assert (await sara.connect())["role"] == "supervisor"
        assert (await sara.receive("wallboard"))["executives"] == []
        await eva.login(EXECUTIVE_RUN, "Eva", "Díaz", "/executive")
        await eva.connect()
        await eva.send("agent.available")
        while (await sara.receive("wallboard"))["executives"] == []:
            pass  # the board follows the executive's login, then the state change

        await sara.send("supervisor.log_out", executive=EXECUTIVE_RUN)
        assert await sara.receive("supervisor.done") == {
            "type": "supervisor.done",
            "action": "supervisor.log_out",
            "executive": EXECUTIVE_RUN,
        }
        assert await eva.closed() == CLOSE_SESSION_ENDED
        while (await sara.receive("wallboard"))["executives"] != []:
            pass
        # The session behind the page is gone: it cannot simply reconnect.
        with pytest.raises(ClientError):
            await eva.connect()
        assert eva.close_code == CLOSE_NOT_AUTHENTICATED
        async with eva.http.get(f"{node.url}/api/me") as me:
            assert me.status == 401
