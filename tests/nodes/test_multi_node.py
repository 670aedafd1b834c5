"""Three nodes of one deployment, one Redis, one records database: people on different nodes.

Every node is a `branch serve` process; the people are BranchClients and, for
calls, aiortc peers. The fault tests SIGKILL a node under them.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import pytest
from yarl import URL

from branch.auth.run import Run, compute_dv
from branch.config import load_settings
from branch.errors import CLOSE_GOING_AWAY, CLOSE_REPLACED
from branch.live.factory import open_live_store
from branch.probe import run_probe
from branch.records.base import RecordStore
from branch.records.factory import open_record_store
from branch.web.client import BranchClient
from tests.conftest import CITIZEN_RUN, EXECUTIVE_RUN
from tests.media.support import connected_peers, pair_into_call
from tests.nodes.cluster import NODE_TIMEOUT_SECONDS, Cluster, Node, cluster, move

__all__ = ["cluster"]  # the fixture, for the tests below


def citizen_run(index: int) -> str:
    number = 15_000_000 + index
    return Run(number, compute_dv(number)).format()


@pytest.fixture
async def records(cluster: Cluster) -> AsyncIterator[RecordStore]:
    """The deployment's records, read as an operator would."""
    store = open_record_store(cluster.records_url)
    await store.open()
    yield store
    await store.close()


async def citizen_on(cluster: Cluster, node: Node, run: str, name: str) -> BranchClient:
    client = cluster.client(node)
    await client.login(run, name, "Prueba", "/citizen")
    await client.connect()
    return client


async def executive_on(cluster: Cluster, node: Node, run: str = EXECUTIVE_RUN) -> BranchClient:
    client = cluster.client(node)
    await client.login(run, "Eva", "Díaz", "/executive")
    await client.connect()
    return client


async def away_after_reap(cluster: Cluster, run: str, *, wait: bool = True) -> bool:
    """Whether the shared floor counts the waiting citizen as away (waiting for it to)."""
    live = open_live_store(cluster.redis_url, load_settings({}).floor_rules, cluster.redis_prefix)
    await live.open()
    try:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + (NODE_TIMEOUT_SECONDS * 5 if wait else 0)
        while True:
            entry = (await live.citizen_status(run)).waiting
            if entry is None:
                raise AssertionError(f"{run} is no longer waiting")
            if entry.absent_since is not None or loop.time() >= deadline:
                return entry.absent_since is not None
            await asyncio.sleep(0.1)
    finally:
        await live.close()


async def join(citizen: BranchClient) -> str:
    await citizen.send("queue.join", reason="licencias", text="Desde varios nodos")
    return str((await citizen.receive("queue.joined"))["contactId"])


async def latest(client: BranchClient, kind: str, **fields: Any) -> dict[str, Any]:
    """Wait for a message of ``kind`` with these fields (earlier ones of that kind are skipped)."""
    while True:
        message = await client.receive(kind)
        if all(message.get(key) == value for key, value in fields.items()):
            return message


async def hang_up_and_wrap_up(
    executive: BranchClient, contact_id: str, *, notes: str = "", then: str = "available"
) -> None:
    """End the call and wrap it up; then available for the next one, or not."""
    await executive.send("call.hangup", contactId=contact_id)
    await executive.receive("call.ended")
    await executive.send(
        "wrapup.submit",
        contactId=contact_id,
        outcome="resuelto",
        reason="licencias",
        notes=notes,
        then=then,
    )
    await executive.receive("wrapup.saved")


async def serve(executive: BranchClient, contact_id: str, then: str = "available") -> None:
    """Take the offered contact, end it and wrap it up."""
    await executive.send("offer.accept", contactId=contact_id)
    await executive.receive("call.started")
    await hang_up_and_wrap_up(executive, contact_id, then=then)


async def test_the_line_is_one_fifo_across_nodes(cluster: Cluster) -> None:
    nodes = await cluster.start(3)
    citizens = [
        await citizen_on(cluster, nodes[index % 3], citizen_run(index), f"Persona{index}")
        for index in range(3)
    ]
    try:
        contacts = [await join(citizen) for citizen in citizens]
        # Every citizen hears their place in the one line, wherever their page is.
        for place, citizen in enumerate(citizens, start=1):
            position = await latest(citizen, "queue.position", waiting=3)
            assert position["position"] == place
        async with await executive_on(cluster, nodes[1]) as executive:
            summary = await latest(executive, "queue.summary", waiting=3)
            assert summary["oldestJoinedAt"] is not None
            await executive.send("agent.available")
            served = []
            for _ in contacts:
                offer = await executive.receive("offer")
                served.append(offer["contactId"])
                await serve(executive, offer["contactId"])
        assert served == contacts
    finally:
        for citizen in citizens:
            await citizen.close()


async def test_a_newer_page_on_another_node_closes_the_older_one(cluster: Cluster) -> None:
    a, b = await cluster.start(2)
    async with cluster.client(a) as first, cluster.client(b) as second:
        await first.login(CITIZEN_RUN, "Ana", "Rojas", "/citizen")
        await first.connect()
        contact_id = await join(first)
        # The same browser, its next page served by node b.
        for morsel in first.http.cookie_jar:
            second.http.cookie_jar.update_cookies({morsel.key: morsel.value}, URL(a.url))
        welcome = await second.connect()
        assert welcome["state"]["queue"]["contactId"] == contact_id
        assert await first.closed() == CLOSE_REPLACED
        await second.send("ping")
        await second.receive("pong")


async def test_citizens_on_a_killed_node_keep_their_places(cluster: Cluster) -> None:
    a, b, c = await cluster.start(3)
    first = await citizen_on(cluster, a, citizen_run(1), "Primera")
    second = await citizen_on(cluster, b, citizen_run(2), "Segunda")
    third = await citizen_on(cluster, a, citizen_run(3), "Tercera")
    try:
        contacts = [await join(first), await join(second), await join(third)]
        a.kill()
        # The third citizen's page reconnects through another node at once...
        welcome = await move(third, c)
        assert welcome["state"]["queue"]["contactId"] == contacts[2]
        assert welcome["state"]["queue"]["position"] == 3
        # ...the first does not come back yet: once the others notice node a died,
        # the floor holds her place as away, and the executive is offered the present.
        assert await away_after_reap(cluster, citizen_run(1)) is True
        assert await away_after_reap(cluster, citizen_run(3), wait=False) is False
        async with await executive_on(cluster, b) as executive:
            await executive.send("agent.available")
            offer = await executive.receive("offer", timeout=15)
            assert offer["contactId"] == contacts[1]
            await serve(executive, contacts[1], then="not_ready")
            # She comes back within the grace period, through node c, first in line.
            welcome = await move(first, c)
            assert welcome["state"]["queue"]["contactId"] == contacts[0]
            assert welcome["state"]["queue"]["position"] == 1
            await executive.send("agent.available")
            assert (await executive.receive("offer", timeout=15))["contactId"] == contacts[0]
    finally:
        for citizen in (first, second, third):
            await citizen.close()


@pytest.mark.media
async def test_a_call_survives_the_death_of_one_node_and_the_rolling_of_another(
    cluster: Cluster, records: RecordStore
) -> None:
    a, b, c = await cluster.start(3)
    async with cluster.client(a) as citizen, cluster.client(b) as executive:
        contact_id = await pair_into_call(citizen, executive)
        async with connected_peers(citizen, executive, contact_id) as (citizen_peer, exe_peer):
            await citizen_peer.wait_frames(video=5, audio=5)
            b.kill()
            # The node that notices tells the citizen (on node a) the executive is reconnecting.
            interrupted = await citizen.receive("call.reconnecting", timeout=15)
            assert interrupted["who"] == "executive"
            # The media never touched the nodes: it keeps flowing both ways.
            seen = dict(citizen_peer.frames), dict(exe_peer.frames)
            await citizen_peer.wait_frames(video=seen[0]["video"] + 10, audio=seen[0]["audio"] + 10)
            await exe_peer.wait_frames(video=seen[1]["video"] + 10, audio=seen[1]["audio"] + 10)
            # The executive's page reconnects through node c and finds the call.
            welcome = await move(executive, c)
            assert welcome["state"]["call"]["contactId"] == contact_id
            resumed = await citizen.receive("call.resumed", timeout=15)
            assert resumed["who"] == "executive"
            # Signaling flows again, now through node c.
            exe_peer.follow()
            await exe_peer.renegotiate()
            await exe_peer.wait_stable()
            await executive.send("chat.send", contactId=contact_id, text="Sigo aquí")
            assert (await citizen.receive("chat.message"))["text"] == "Sigo aquí"
            # Rolling the citizen's node: a clean stop sends her page away (1001) and
            # tells the executive; she reconnects through node c; the media never stops.
            await asyncio.to_thread(a.terminate)
            assert await citizen.closed() == CLOSE_GOING_AWAY
            assert (await executive.receive("call.reconnecting"))["who"] == "citizen"
            welcome = await move(citizen, c)
            assert welcome["state"]["call"]["contactId"] == contact_id
            assert (await executive.receive("call.resumed"))["who"] == "citizen"
            citizen_peer.follow()
            await exe_peer.renegotiate()
            await exe_peer.wait_stable()
            seen = dict(citizen_peer.frames), dict(exe_peer.frames)
            await citizen_peer.wait_frames(video=seen[0]["video"] + 5, audio=seen[0]["audio"] + 5)
            await exe_peer.wait_frames(video=seen[1]["video"] + 5, audio=seen[1]["audio"] + 5)
        await hang_up_and_wrap_up(executive, contact_id, notes="Se cortó un nodo")
        assert (await citizen.receive("call.ended"))["by"] == "executive"
    record = await records.get(contact_id)
    assert record is not None
    assert (record.end_reason, record.outcome_code, record.notes) == (
        "completed",
        "resuelto",
        "Se cortó un nodo",
    )


@pytest.mark.media
async def test_a_call_between_a_citizen_and_an_executive_on_different_nodes(
    cluster: Cluster, records: RecordStore, capsys: pytest.CaptureFixture[str]
) -> None:
    """The probe's synthetic contact, its citizen on node a and its executive on node b."""
    a, b, _c = await cluster.start(3)
    code = await run_probe(
        a.url, executive_url=b.url, ca_file=cluster.certificates.ca_cert, timeout=20
    )
    output = capsys.readouterr().out
    assert code == 0, output
    for step in ("media connected", "frames both ways", "hang up", "wrap-up"):
        assert f"ok   {step}" in output
    (record,) = await records.recent(5)
    assert output.endswith(f"probe passed: contact {record.folio}\n")
    assert (record.citizen_run, record.executive_run, record.end_reason) == (
        CITIZEN_RUN,
        EXECUTIVE_RUN,
        "completed",
    )
    assert record.outcome_code is not None and record.notes == "Contacto sintético de branch probe"
