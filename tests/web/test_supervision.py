"""Supervision over the real socket: the pushed wallboard, a log-out that ends the session, and
a message to those waiting that outlives the moment it was sent until it is taken back."""

from __future__ import annotations

import pytest

from branch.errors import CLOSE_NOT_AUTHENTICATED, CLOSE_SESSION_ENDED
from branch.web.client import BranchClient, ClientError
from tests.conftest import CITIZEN_RUN, EXECUTIVE_RUN, SUPERVISOR_RUN, StartBranch
from tests.servers.redis import RedisServer


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


async def test_a_message_sent_on_one_node_is_shown_to_who_reloads_or_joins_on_another(
    start_branch: StartBranch, redis_server: RedisServer, redis_prefix: str
) -> None:
    shared = {"stores_live": redis_server.url, "stores_live_prefix": redis_prefix}
    first, second = await start_branch(**shared), await start_branch(**shared)
    async with (
        BranchClient(first.url, ca_file=first.ca_path) as eva,
        BranchClient(first.url, ca_file=first.ca_path) as ana,
        BranchClient(first.url, ca_file=first.ca_path) as bea,
        BranchClient(second.url, ca_file=second.ca_path) as sara,
    ):
        await eva.login(EXECUTIVE_RUN, "Eva", "Díaz", "/executive")
        await eva.connect()  # somebody serves the line, so joining is not refused
        await ana.login(CITIZEN_RUN, "Ana", "Rojas")
        await ana.connect()
        await ana.send("queue.join", reason="licencias")
        await ana.receive("queue.position")
        await sara.login(SUPERVISOR_RUN, "Sara", "Vidal", "/supervisor")
        await sara.connect()

        text = "Tenemos alta demanda: gracias por esperar."
        await sara.send("supervisor.broadcast", service="general", text=text)
        assert (await sara.receive("supervisor.done"))["recipients"] == 1
        sent = await ana.receive("queue.notice")
        notice = {"service": "general", "text": text, "at": sent["at"]}
        assert sent == {"type": "queue.notice", **notice}
        # The supervisor's board shows it as the line's current message.
        until = sent["at"] + second.settings.supervision_notice_seconds
        while (board := await sara.receive("wallboard"))["services"][0]["notice"] is None:
            pass
        assert board["services"][0]["notice"] == {"text": text, "at": sent["at"], "until": until}

        await ana.disconnect()
        assert (await ana.connect())["state"]["notice"] == notice

        await bea.login("13.131.313-6", "Bea", "Soto")
        assert (await bea.connect())["state"]["notice"] is None
        await bea.send("queue.join", reason="bonos")
        await bea.receive("queue.joined")
        assert await bea.receive("queue.notice") == {"type": "queue.notice", **notice}

        # Taken back on the second node: gone from the shared store and from both pages.
        await sara.send("supervisor.clear_notice", service="general")
        done = await sara.receive("supervisor.done")
        assert (done["recipients"], done["cleared"]) == (2, True)
        told = [await citizen.receive("queue.notice_cleared") for citizen in (ana, bea)]
        at = told[0]["at"]
        assert told == [{"type": "queue.notice_cleared", "service": "general", "at": at}] * 2
        assert at >= sent["at"]
        while (await sara.receive("wallboard"))["services"][0]["notice"] is not None:
            pass  # and the board drops it
        await ana.disconnect()
        assert (await ana.connect())["state"]["notice"] is None


async def test_a_board_follows_a_change_made_on_another_node_at_once(
    start_branch: StartBranch, redis_server: RedisServer, redis_prefix: str
) -> None:
    # No periodic refresh within the test: only the other node's announcement can push.
    shared = {
        "stores_live": redis_server.url,
        "stores_live_prefix": redis_prefix,
        "supervision_refresh_seconds": 600,
    }
    first, second = await start_branch(**shared), await start_branch(**shared)
    async with (
        BranchClient(first.url, ca_file=first.ca_path) as sara,
        BranchClient(second.url, ca_file=second.ca_path) as eva,
    ):
        await sara.login(SUPERVISOR_RUN, "Sara", "Vidal", "/supervisor")
        await sara.connect()
        assert (await sara.receive("wallboard"))["executives"] == []
        await eva.login(EXECUTIVE_RUN, "Eva", "Díaz", "/executive")
        await eva.connect()
        await eva.send("agent.available")
        await eva.receive("agent.state")
        states: list[str] = []
        while states != ["available"]:
            board = await sara.receive("wallboard", timeout=5.0)
            states = [executive["state"] for executive in board["executives"]]
