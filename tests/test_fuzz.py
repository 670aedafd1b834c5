"""Hypothesis throws arbitrary and mutated messages at the schema, the service and a live socket.

Properties: only the branch's own named errors ever come out (never a crash), the
floor stays consistent (nobody in two places, every call has its executive), and
nothing reaches a page that was not party to what was sent.
"""

from __future__ import annotations

import asyncio
import json
import random
import tempfile
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from branch import schema
from branch.config import load_settings
from branch.errors import BranchError
from branch.hub import Hub
from branch.live.memory import MemoryLiveStore
from branch.people import User
from branch.records.sqlite import SqliteRecordStore
from branch.service import BranchService
from branch.web.client import BranchClient
from tests.conftest import CITIZEN_RUN, EXECUTIVE_RUN, SUPERVISOR_RUN, StartBranch
from tests.media.support import both_connected
from tests.test_authorization import SAMPLES
from tests.test_service import Page

JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=30),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=12), children, max_size=4)
    ),
    max_leaves=12,
)


@st.composite
def mutated_messages(draw: st.DrawFn) -> str:
    """A valid sample of some type with fields dropped, retyped or added, or plain junk."""
    kind = draw(st.sampled_from(sorted(SAMPLES)))
    document: dict[str, Any] = {"type": kind, **SAMPLES[kind]}
    for name in draw(st.lists(st.sampled_from([*document, "extra", "contactId"]), max_size=3)):
        if draw(st.booleans()):
            document.pop(name, None)
        else:
            document[name] = draw(JSON)
    if draw(st.integers(0, 9)) == 0:
        return draw(st.text(max_size=60))
    return json.dumps(document)


@settings(max_examples=400, deadline=None)
@given(raw=st.one_of(st.text(max_size=200), st.binary(max_size=200), mutated_messages()))
def test_the_schema_only_ever_raises_named_errors(raw: str | bytes) -> None:
    try:
        message = schema.parse_client(raw, max_bytes=65536)
    except BranchError as error:
        assert error.code and error.message
    else:
        assert message.type in schema.CLIENT_MESSAGES


PEOPLE = [
    User(CITIZEN_RUN, "Ana Rojas", "citizen"),
    User("13.131.313-6", "Bea Soto", "citizen"),
    User(EXECUTIVE_RUN, "Eva Díaz", "executive"),
    User("12.345.678-5", "Leo Paz", "executive"),
    User(SUPERVISOR_RUN, "Sara Vidal", "supervisor"),
]


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(steps=st.lists(st.tuples(st.sampled_from(PEOPLE), mutated_messages()), max_size=25))
def test_random_conversations_keep_the_floor_consistent(steps: list[tuple[User, str]]) -> None:
    """Sequences of mutated messages from five people; after each, the floor is sound."""

    async def play(folder: str) -> None:
        config = load_settings({}, service_readiness_seconds=0)
        records = SqliteRecordStore(Path(folder) / "records.sqlite3")
        await records.open()
        hub = Hub()
        live = MemoryLiveStore(config.floor_rules)
        service = BranchService(config, live, records, hub)
        try:
            for person in PEOPLE:
                hub.attach(person.key, Page())
                await service.connected(person)
            for person, raw in steps:
                try:
                    await service.handle(person, schema.parse_client(raw, max_bytes=65536))
                except BranchError:
                    pass
                assert_sound(live)
        finally:
            await service.supervision.close()
            await records.close()

    with tempfile.TemporaryDirectory() as folder:
        asyncio.run(play(folder))


def junk_frames(rng: random.Random, count: int) -> list[str]:
    """Samples of every type with fields dropped or swapped for odd values, and plain junk."""
    odd: list[Any] = [None, True, -1, 2**70, 1.5, "", "x" * 300, [], {}, {"a": [1]}, "\u0000"]
    frames = []
    for _ in range(count):
        kind = rng.choice(sorted(SAMPLES))
        document: dict[str, Any] = {"type": kind, **SAMPLES[kind]}
        for name in rng.sample([*document, "contactId", "extra"], k=rng.randint(0, 2)):
            if rng.random() < 0.5:
                document.pop(name, None)
            else:
                document[name] = rng.choice(odd)
        if rng.random() < 0.1:
            frames.append("".join(chr(rng.randint(0, 0x2FF)) for _ in range(rng.randint(0, 40))))
        else:
            frames.append(json.dumps(document))
    return frames


def assert_sound(live: MemoryLiveStore) -> None:
    floor = live.floor
    waiting = [entry.citizen_id for entry in floor.waiting]
    in_calls = [call.citizen_id for call in floor.calls.values()]
    assert len(set(waiting)) == len(waiting), "someone waits twice"
    assert not set(waiting) & set(in_calls), "someone waits and talks at once"
    assert len(set(in_calls)) == len(in_calls), "someone is in two calls"
    agents_in_calls = [call.agent_id for call in floor.calls.values()]
    assert len(set(agents_in_calls)) == len(agents_in_calls), "an executive has two calls"
    for call in floor.calls.values():
        agent = floor.agents.get(call.agent_id)
        assert agent is not None and agent.contact_id == call.contact_id


async def test_a_live_socket_survives_a_stream_of_junk(start_branch: StartBranch) -> None:
    node = await start_branch(limits_message_burst=1000, limits_messages_per_second=1000)
    frames = junk_frames(random.Random(20261124), 200)
    async with (
        BranchClient(node.url, ca_file=node.ca_path) as ana,
        BranchClient(node.url, ca_file=node.ca_path) as eva,
    ):
        await both_connected(ana, eva)
        for raw in frames:
            await ana.send_raw(raw)
        await ana.send("ping")
        await ana.receive("pong", timeout=10, raise_errors=False)  # still answering, in order
        errors = [m for m in ana._inbox if m.get("type") == "error"]
        assert all(error["code"] != "internal" for error in errors), errors
        # Nothing of Ana's junk reached Eva except what a citizen may cause (queue summaries).
        leaked = {m["type"] for m in eva._inbox} - {"welcome", "agent.state", "queue.summary"}
        assert not leaked, leaked


async def test_no_http_endpoint_answers_a_server_error(start_branch: StartBranch) -> None:
    node = await start_branch(limits_logins_per_minute=1000)
    rng = random.Random(7)
    routes = sorted(
        {
            (route.method, route.resource.canonical)
            for route in node.app.router.routes()
            if route.resource is not None and route.method in ("GET", "POST")
        }
    )
    async with BranchClient(node.url, ca_file=node.ca_path) as client:
        await client.login(CITIZEN_RUN, "Ana", "Rojas", "/citizen")
        for method, path in routes:
            if path == "/ws" or "{" in path:
                continue
            for frame in junk_frames(rng, 15):
                query = {rng.choice(["next", "code", "state", "client_id", "x"]): frame[:80]}
                async with client.http.request(
                    method,
                    f"{node.url}{path}",
                    params=query,
                    data=frame.encode("utf-8", "surrogatepass"),
                    headers={
                        "Origin": node.url,
                        "Content-Type": rng.choice(
                            ["application/json", "application/x-www-form-urlencoded", "text/plain"]
                        ),
                    },
                    allow_redirects=False,
                ) as response:
                    assert response.status < 500, (method, path, frame, await response.text())
