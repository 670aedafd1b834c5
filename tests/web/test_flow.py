"""Whole flows and bad input over the real socket of a running node."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Awaitable, Callable

import pytest

from branch import schema
from branch.errors import CLOSE_REPLACED, CLOSE_SESSION_ENDED, CLOSE_TOO_LARGE
from branch.people import User
from branch.web.app import RECORDS, SERVICE
from branch.web.client import BranchClient, ServerError
from tests.conftest import (
    CITIZEN_RUN,
    EXECUTIVE_RUN,
    SECOND_EXECUTIVE_RUN,
    RunningBranch,
    StartBranch,
)

Person = Callable[..., Awaitable[BranchClient]]


@pytest.fixture
async def node(start_branch: StartBranch) -> RunningBranch:
    return await start_branch()


@pytest.fixture
async def person(node: RunningBranch) -> AsyncIterator[Person]:
    """Factory: a logged-in, connected person."""
    clients: list[BranchClient] = []

    async def make(
        run: str, names: str = "Ana", surnames: str = "Rojas", page: str = "/citizen"
    ) -> BranchClient:
        client = BranchClient(node.url, ca_file=node.ca_path)
        clients.append(client)
        await client.login(run, names, surnames, page)
        await client.connect()
        return client

    yield make
    for client in clients:
        await client.close()


async def error_for(client: BranchClient, raw: str | bytes) -> dict[str, str]:
    await client.send_raw(raw)
    message = await client.receive("error")
    # The connection stays usable after an error.
    await client.send("ping")
    await client.receive("pong")
    return message


async def test_two_citizens_one_executive_in_fifo_order(
    node: RunningBranch, person: Person
) -> None:
    ana = await person(CITIZEN_RUN, "Ana", "Rojas")
    bea = await person("13.131.313-6", "Bea", "Soto")
    exe = await person(EXECUTIVE_RUN, "Eva", "Díaz", "/executive")
    assert exe.welcome is not None and exe.welcome["role"] == "executive"
    assert [entry["code"] for entry in exe.welcome["outcomes"]][:1] == ["resuelto"]

    await ana.send("queue.join", reason="licencias")
    ana_contact = (await ana.receive("queue.joined"))["contactId"]
    assert (await ana.receive("queue.position"))["position"] == 1
    await bea.send("queue.join", reason="bonos", text="Reembolso")
    bea_contact = (await bea.receive("queue.joined"))["contactId"]
    position = await bea.receive("queue.position")
    assert (position["position"], position["waiting"]) == (2, 2)

    await exe.send("agent.available")
    offer = await exe.receive("offer")
    assert offer["contactId"] == ana_contact and offer["citizen"]["run"] == CITIZEN_RUN
    await ana.receive("queue.offered")
    assert (await bea.receive("queue.position"))["position"] == 1

    await exe.send("offer.accept", contactId=ana_contact)
    await ana.receive("call.started")
    await exe.receive("call.started")
    await exe.send(
        "signal.description", contactId=ana_contact, description={"type": "offer", "sdp": "v=0"}
    )
    assert (await ana.receive("signal.description"))["description"] == {
        "type": "offer",
        "sdp": "v=0",
    }
    await ana.send(
        "signal.candidate",
        contactId=ana_contact,
        candidate={
            "candidate": "candidate:1 1 udp 1 127.0.0.1 9 typ host",
            "sdpMid": "0",
            "sdpMLineIndex": 0,
        },
    )
    assert (await exe.receive("signal.candidate"))["candidate"]["sdpMid"] == "0"
    assert not [m for m in bea.received() if m["type"].startswith("signal.")]

    await ana.send("call.hangup", contactId=ana_contact)
    await exe.receive("call.ended")
    await exe.send(
        "wrapup.submit", contactId=ana_contact, outcome="resuelto", reason="licencias", notes="ok"
    )
    await exe.receive("wrapup.saved")
    assert (await exe.receive("offer"))["contactId"] == bea_contact
    # The offer goes out before its record is written, and the record before the
    # page's next message is handled.
    await exe.send("ping")
    await exe.receive("pong")

    records = {record.contact_id: record for record in await node.app[RECORDS].recent(10)}
    assert records[ana_contact].outcome_code == "resuelto"
    assert records[bea_contact].offered_at is not None and records[bea_contact].answered_at is None


@pytest.mark.parametrize(
    ("raw", "code", "message"),
    [
        ("{oops", "bad_message", "message is not valid JSON"),
        ('{"type": "queue.fly"}', "unknown_type", "unknown message type 'queue.fly'"),
        ('{"type": "queue.join"}', "bad_message", "queue.join: missing field 'reason'"),
        (
            '{"type": "queue.join", "reason": ["x"]}',
            "bad_message",
            "queue.join: field 'reason' must be text",
        ),
        (
            '{"type": "queue.join", "reason": "nope"}',
            "unknown_reason",
            "reason 'nope' is not in the catalog of general",
        ),
        (
            '{"type": "offer.accept", "contactId": "x"}',
            "forbidden",
            "offer.accept is not allowed for the citizen role",
        ),
        ('{"type": "queue.leave"}', "not_queued", "No estás en la fila"),
        (
            '{"type": "call.hangup", "contactId": "x"}',
            "not_in_call",
            "No estás en una atención con ese identificador",
        ),
        (b"\x00\x01", "bad_message", "binary frames are not accepted"),
    ],
)
async def test_bad_input_gets_a_named_error_and_the_socket_stays_open(
    person: Person, raw: str | bytes, code: str, message: str
) -> None:
    ana = await person(CITIZEN_RUN)
    error = await error_for(ana, raw)
    assert (error["code"], error["message"]) == (code, message)


async def test_second_join_is_refused(person: Person) -> None:
    ana = await person(CITIZEN_RUN)
    await ana.send("queue.join", reason="otro")
    await ana.receive("queue.joined")
    await ana.send("queue.join", reason="otro")
    with pytest.raises(ServerError) as caught:
        await ana.receive("queue.joined")
    assert caught.value.payload["replyTo"] == "queue.join"
    assert caught.value.code == "already_queued"


async def test_accept_with_nothing_offered(person: Person) -> None:
    exe = await person(EXECUTIVE_RUN, page="/executive")
    error = await error_for(exe, '{"type": "offer.accept", "contactId": "nothing"}')
    assert error["code"] == "no_offer"


async def test_signaling_to_someone_elses_call_and_wrapup_of_someone_elses_contact(
    node: RunningBranch, person: Person
) -> None:
    ana = await person(CITIZEN_RUN)
    intruder = await person("13.131.313-6", "Mal", "Lory")
    exe = await person(EXECUTIVE_RUN, page="/executive")
    other_exe = await person(SECOND_EXECUTIVE_RUN, page="/executive")
    await ana.send("queue.join", reason="otro")
    contact_id = (await ana.receive("queue.joined"))["contactId"]
    await exe.send("agent.available")
    await exe.receive("offer")
    await exe.send("offer.accept", contactId=contact_id)
    await ana.receive("call.started")

    error = await error_for(
        intruder,
        f'{{"type": "signal.description", "contactId": "{contact_id}", "description": {{"type": "offer", "sdp": "x"}}}}',
    )
    assert error["code"] == "not_in_call"
    error = await error_for(other_exe, f'{{"type": "call.hangup", "contactId": "{contact_id}"}}')
    assert error["code"] == "not_in_call"

    await exe.send("call.hangup", contactId=contact_id)
    await ana.receive("call.ended")
    error = await error_for(
        other_exe,
        f'{{"type": "wrapup.submit", "contactId": "{contact_id}", "outcome": "resuelto", "reason": "otro"}}',
    )
    assert (error["code"], error["message"]) == ("not_your_contact", "Esta atención no es tuya")
    record = (await node.app[RECORDS].recent(1))[0]
    assert record.outcome_code is None and record.end_reason == "completed"


async def test_a_failing_message_costs_that_message_only(
    node: RunningBranch,
    person: Person,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    service = node.app[SERVICE]
    handle = service.handle

    async def failing_join(user: User, message: schema.ClientMessage) -> None:
        if isinstance(message, schema.QueueJoin):
            raise ZeroDivisionError("a bug")
        await handle(user, message)

    monkeypatch.setattr(service, "handle", failing_join)
    ana = await person(CITIZEN_RUN)
    with caplog.at_level(logging.ERROR, logger="branch.web.ws"):
        error = await error_for(ana, '{"type": "queue.join", "reason": "otro"}')
    assert error == {
        "type": "error",
        "code": "internal",
        "message": "No pudimos procesar tu solicitud; inténtalo de nuevo",
        "replyTo": "queue.join",
    }
    failed = [
        r for r in caplog.records if r.getMessage() == "message queue.join from a citizen failed"
    ]
    assert failed and failed[0].exc_info is not None and failed[0].exc_info[0] is ZeroDivisionError


async def test_oversized_message_closes_with_1009(person: Person) -> None:
    ana = await person(CITIZEN_RUN)
    await ana.send_raw('{"type": "ping", "pad": "' + "x" * 70_000 + '"}')
    assert await ana.closed() == CLOSE_TOO_LARGE


async def test_a_newer_page_replaces_the_older_and_keeps_the_place(
    node: RunningBranch, person: Person
) -> None:
    first = await person(CITIZEN_RUN)
    await first.send("queue.join", reason="otro")
    contact_id = (await first.receive("queue.joined"))["contactId"]
    second = await person(CITIZEN_RUN)
    assert await first.closed() == CLOSE_REPLACED
    assert second.welcome is not None
    assert second.welcome["state"]["queue"]["contactId"] == contact_id
    assert second.welcome["state"]["queue"]["position"] == 1
    record = await node.app[RECORDS].get(contact_id)
    assert record is not None and record.end_reason is None


async def test_a_reconnecting_citizen_keeps_the_place(node: RunningBranch, person: Person) -> None:
    ana = await person(CITIZEN_RUN)
    await ana.send("queue.join", reason="otro")
    contact_id = (await ana.receive("queue.joined"))["contactId"]
    await ana.disconnect()
    again = await person(CITIZEN_RUN)
    assert again.welcome is not None
    assert again.welcome["state"]["queue"]["contactId"] == contact_id
    record = await node.app[RECORDS].get(contact_id)
    assert record is not None and record.end_reason is None


async def test_a_citizen_gone_past_the_grace_is_recorded_as_dropped(
    start_branch: StartBranch,
) -> None:
    node = await start_branch(service_grace_seconds=1)
    async with BranchClient(node.url, ca_file=node.ca_path) as ana:
        await ana.login(CITIZEN_RUN, "Ana", "Rojas")
        await ana.connect()
        await ana.send("queue.join", reason="otro")
        contact_id = (await ana.receive("queue.joined"))["contactId"]
    record = None
    for _attempt in range(60):
        record = await node.app[RECORDS].get(contact_id)
        if record is not None and record.end_reason is not None:
            break
        await asyncio.sleep(0.1)
    assert record is not None and record.end_reason == "citizen_dropped"


async def test_logout_closes_the_open_page_with_4440(person: Person) -> None:
    ana = await person(CITIZEN_RUN)
    await ana.logout()
    assert await ana.closed() == CLOSE_SESSION_ENDED
