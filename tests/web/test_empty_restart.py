"""A node finds itself unregistered from the deployment: two causes, two answers.

Redis restarted empty (a real redis-server, stopped and started with nothing in
it): the nodes keep their pages open and logged in while the floor is rebuilt
from the pages' tickets. The node was taken for dead while Redis kept its data:
its pages reconnect, logged in as before, except a login that ended meanwhile.

Each test asks for its Redis before its nodes, so the nodes stop first, with their
Redis still there, as in an orderly shutdown.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest
from redis.asyncio import Redis
from yarl import URL

from branch.delivery.pubsub import RedisDelivery
from branch.errors import CLOSE_GOING_AWAY, CLOSE_NOT_AUTHENTICATED
from branch.web.client import BranchClient, ClientError
from branch.web.keys import HUB
from tests.conftest import CITIZEN_RUN, EXECUTIVE_RUN, RunningBranch, StartBranch
from tests.delivery.test_pubsub import stop_beating
from tests.servers.redis import RedisServer, StartRedis
from tests.web.test_session_limits import status_of_me

pytestmark = pytest.mark.timeout(90)


async def two_nodes(
    start_branch: StartBranch, redis: RedisServer, folder: Path, **overrides: Any
) -> tuple[RunningBranch, RunningBranch]:
    """Two nodes of one deployment: one Redis, one record store, one session secret."""
    shared = {
        "stores_live": redis.url,
        "stores_records": f"sqlite:///{folder / 'records.sqlite3'}",
        "stores_node_timeout_seconds": 2,
        "session_secret": "one secret for both nodes of the test deployment",
        **overrides,
    }
    return await start_branch(**shared), await start_branch(**shared)


def same_browser(client: BranchClient, node: RunningBranch) -> BranchClient:
    """Another tab of the client's browser, served by ``node``."""
    tab = BranchClient(node.url, ca_file=node.ca_path)
    for morsel in client.http.cookie_jar:
        tab.http.cookie_jar.update_cookies({morsel.key: morsel.value}, URL(node.url))
    return tab


async def test_open_pages_stay_logged_in_while_redis_restarted_empty_is_rebuilt(
    start_redis: StartRedis, start_branch: StartBranch, tmp_path: Path
) -> None:
    redis = start_redis()
    # Logins idle out in 4 s: each node's session watch reads every page's login each second.
    a, b = await two_nodes(
        start_branch, redis, tmp_path, session_idle_seconds=4, session_staff_idle_seconds=4
    )
    async with (
        BranchClient(a.url, ca_file=a.ca_path) as ana,
        BranchClient(b.url, ca_file=b.ca_path) as eva,
    ):
        await ana.login(CITIZEN_RUN, "Ana", "Rojas", "/citizen")
        await ana.connect()
        await ana.send("queue.join", reason="licencias")
        ticket = (await ana.receive("queue.ticket"))["ticket"]
        contact_id = (await ana.receive("queue.joined"))["contactId"]
        await eva.login(EXECUTIVE_RUN, "Eva", "Díaz", "/executive")
        await eva.connect()

        redis.restart_empty()
        # Each node's upkeep asks its own pages where their people were; they answer
        # on the sockets they had, as the browser pages do.
        await ana.receive("queue.reclaim")
        await ana.send("queue.resume", ticket=ticket)
        await ana.receive("queue.position")
        await eva.receive("queue.reclaim")
        await eva.send("agent.available")
        # The offer is made by node b and reaches Ana's page on node a: a made its
        # pages reachable again before asking them for their tickets.
        offer = await eva.receive("offer")
        assert offer["contactId"] == contact_id
        offered = await ana.receive("queue.offered")
        assert offered["contactId"] == contact_id

        await asyncio.sleep(2.5)  # two rounds and more of both nodes' session watch
        assert (ana.close_code, eva.close_code) == (None, None)
        assert (await status_of_me(ana), await status_of_me(eva)) == (200, 200)
        # A page that reconnects, to the other node even, is welcomed at its place.
        async with same_browser(ana, b) as again:
            welcome = await again.connect()
            assert welcome["state"]["queue"]["contactId"] == contact_id
            assert await status_of_me(again) == 200


async def test_a_node_taken_for_dead_reconnects_its_pages_and_a_logout_stays_one(
    start_redis: StartRedis, start_branch: StartBranch, tmp_path: Path
) -> None:
    redis = start_redis()
    a, b = await two_nodes(start_branch, redis, tmp_path)
    delivery = a.app[HUB]
    assert isinstance(delivery, RedisDelivery)
    async with (
        BranchClient(a.url, ca_file=a.ca_path) as ana,
        BranchClient(a.url, ca_file=a.ca_path) as eva,
    ):
        await ana.login(CITIZEN_RUN, "Ana", "Rojas", "/citizen")
        await ana.connect()
        await eva.login(EXECUTIVE_RUN, "Eva", "Díaz", "/executive")
        await eva.connect()
        # Node a stalls past the timeout, as the others see it; b's next heartbeat
        # reaps it, reporting both pages lost. The test beats for both nodes, so
        # that the reaping is over before a's pages come back.
        others = b.app[HUB]
        assert isinstance(others, RedisDelivery)
        await stop_beating(delivery)
        await stop_beating(others)
        client = Redis.from_url(redis.url, decode_responses=True)
        try:
            for _attempt in range(100):
                if not await client.exists(delivery.key.alive(delivery.node_id)):
                    break
                await asyncio.sleep(0.05)
            else:
                pytest.fail("node a's heartbeat key outlived the node timeout")
            await others.heartbeat()
            assert not await client.sismember(delivery.key.nodes, delivery.node_id)
        finally:
            await client.aclose()
        # Meanwhile Ana logs out in another tab, served by node b. Her page's record went
        # with the reaping, so b cannot reach it: it is still open on the stalled node.
        async with same_browser(ana, b) as tab:
            await tab.logout()
        assert ana.close_code is None
        await delivery.heartbeat()  # a beats again, in the same Redis life
        assert await ana.closed() == CLOSE_GOING_AWAY
        assert await eva.closed() == CLOSE_GOING_AWAY

        # Eva's login is intact: her page comes back, to the same desk.
        welcome = await eva.connect()
        assert welcome["state"]["agent"]["state"] == "not_ready"
        # Ana's ended with her logout, whichever node reads it.
        with pytest.raises(ClientError, match="code 4401"):
            await ana.connect()
        assert ana.close_code == CLOSE_NOT_AUTHENTICATED
        assert await status_of_me(ana) == 401
        async with same_browser(ana, b) as tab:
            assert await status_of_me(tab) == 401
