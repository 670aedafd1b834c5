"""Operations endpoints: liveness, readiness, and Prometheus metrics without personal data."""

from __future__ import annotations

import aiohttp

from branch.tls import client_context
from branch.web.app import RECORDS
from branch.web.client import BranchClient
from tests.conftest import CITIZEN_RUN, EXECUTIVE_RUN, StartBranch
from tests.media.support import both_connected
from tests.servers.redis import StartRedis


async def get(node_url: str, ca_path: object, path: str) -> tuple[int, str]:
    connector = aiohttp.TCPConnector(ssl=client_context(ca_path))  # type: ignore[arg-type]
    async with (
        aiohttp.ClientSession(connector=connector) as http,
        http.get(f"{node_url}{path}") as response,
    ):
        return response.status, await response.text()


async def test_ready_only_while_the_stores_answer(start_branch: StartBranch) -> None:
    node = await start_branch()
    assert await get(node.url, node.ca_path, "/readyz") == (200, '{"status": "ready"}')
    await node.app[RECORDS].close()  # the records database went away
    status, body = await get(node.url, node.ca_path, "/readyz")
    assert status == 503 and '"records"' in body
    assert (await get(node.url, node.ca_path, "/healthz"))[0] == 200  # alive all the same


def sample(text: str, name: str) -> float:
    """The value of one metric line, e.g. 'branch_waiting{service="general"}'."""
    for line in text.splitlines():
        if line.startswith(name + " "):
            return float(line.split()[-1])
    raise AssertionError(f"{name} not in the metrics")


async def test_metrics_follow_the_floor(start_branch: StartBranch) -> None:
    node = await start_branch(service_readiness_seconds=0)
    async with (
        BranchClient(node.url, ca_file=node.ca_path) as ana,
        BranchClient(node.url, ca_file=node.ca_path) as eva,
    ):
        await both_connected(ana, eva)
        await ana.send("queue.leave")  # an error: not in line
        await ana.receive("error", raise_errors=False)
        await ana.send("queue.join", reason="otro")
        contact_id = (await ana.receive("queue.joined"))["contactId"]
        _, text = await get(node.url, node.ca_path, "/metrics")
        assert sample(text, 'branch_waiting{service="general"}') == 1
        assert sample(text, 'branch_executives{state="not_ready"}') == 1
        assert sample(text, "branch_websockets") == 2
        assert sample(text, 'branch_errors_total{code="not_queued"}') == 1

        await eva.send("agent.available")
        await eva.receive("offer")
        await eva.send("offer.accept", contactId=contact_id)
        await eva.receive("call.started")
        _, text = await get(node.url, node.ca_path, "/metrics")
        assert sample(text, 'branch_waiting{service="general"}') == 0
        assert sample(text, "branch_calls_in_progress") == 1
        assert sample(text, 'branch_wait_seconds_count{service="general"}') == 1
        await eva.send("call.hangup", contactId=contact_id)
        await eva.receive("call.ended")
        _, text = await get(node.url, node.ca_path, "/metrics")
        assert (
            sample(text, 'branch_contacts_ended_total{reason="completed",service="general"}') == 1
        )
        for personal in (CITIZEN_RUN, EXECUTIVE_RUN, contact_id, "Ana", "Eva"):
            assert personal not in text


async def test_not_ready_while_redis_is_down(
    start_branch: StartBranch, start_redis: StartRedis
) -> None:
    redis = start_redis()
    node = await start_branch(stores_live=redis.url)
    assert await get(node.url, node.ca_path, "/readyz") == (200, '{"status": "ready"}')
    redis.stop()
    assert await get(node.url, node.ca_path, "/readyz") == (
        503,
        '{"status": "unavailable", "failed": ["live"]}',
    )
    redis.start()  # same port: the node answers again without a restart
    assert await get(node.url, node.ca_path, "/readyz") == (200, '{"status": "ready"}')
