"""The wire schema: what a browser may send, and what it gets back when it is wrong."""

from __future__ import annotations

import json
from typing import Any

import pytest

from branch import schema
from branch.errors import BadMessage, MessageTooLarge, UnknownMessageType

LIMIT = 64 * 1024


def parse(document: Any) -> schema.ClientMessage:
    raw = document if isinstance(document, str | bytes) else json.dumps(document)
    return schema.parse_client(raw, max_bytes=LIMIT)


def test_join_with_defaults() -> None:
    assert parse({"type": "queue.join", "reason": "otro"}) == schema.QueueJoin(
        reason="otro", text=""
    )


def test_camera_news_in_the_browsers_words() -> None:
    assert parse({"type": "call.camera", "contactId": "c1", "cameraOff": True}) == (
        schema.CallCamera(contact_id="c1", camera_off=True)
    )
    assert schema.message("call.camera", contactId="c1", cameraOff=False) == {
        "type": "call.camera",
        "contactId": "c1",
        "cameraOff": False,
    }


def test_description_and_candidates_use_browser_field_names() -> None:
    description = parse(
        {
            "type": "signal.description",
            "contactId": "c1",
            "description": {"type": "offer", "sdp": "v=0"},
        }
    )
    assert isinstance(description, schema.SignalDescription)
    assert description.description.to_wire() == {"type": "offer", "sdp": "v=0"}
    wire = {
        "candidate": "candidate:1 1 udp 1 127.0.0.1 5000 typ host",
        "sdpMid": "0",
        "sdpMLineIndex": 0,
        "usernameFragment": "u",
    }
    candidate = parse({"type": "signal.candidate", "contactId": "c1", "candidate": wire})
    assert isinstance(candidate, schema.SignalCandidate) and candidate.candidate is not None
    assert candidate.candidate.to_wire() == wire


@pytest.mark.parametrize("end_marker", [None, {"candidate": "", "sdpMid": "0"}])
def test_end_of_candidates(end_marker: Any) -> None:
    message = parse({"type": "signal.candidate", "contactId": "c1", "candidate": end_marker})
    assert isinstance(message, schema.SignalCandidate) and message.candidate is None


CANDIDATE = {
    "candidate": "candidate:1 1 udp 1 127.0.0.1 5000 typ host",
    "sdpMid": "0",
    "sdpMLineIndex": 0,
    "usernameFragment": "u",
}


@pytest.mark.parametrize(
    "document",
    [
        {
            "type": "signal.description",
            "contactId": "c1",
            "description": {"type": "answer", "sdp": "v=0"},
        },
        {"contactId": "c1", "candidate": CANDIDATE, "type": "signal.candidate"},
        {"type": "signal.candidate", "contactId": "c1", "candidate": None},
    ],
)
def test_a_frame_that_is_the_partners_message_is_passed_on_as_written(document: Any) -> None:
    raw = json.dumps(document, indent=1)
    message = parse(raw)
    assert isinstance(message, schema.RELAYED)
    assert message.partner_text() == raw


@pytest.mark.parametrize(
    ("document", "partner_gets"),
    [
        (  # a field the schema does not know is not passed on
            {
                "type": "signal.description",
                "contactId": "c1",
                "description": {"type": "offer", "sdp": "v=0", "extra": "x" * 100},
                "replyTo": "ping",
            },
            {
                "type": "signal.description",
                "contactId": "c1",
                "description": {"type": "offer", "sdp": "v=0"},
            },
        ),
        (  # the end-of-candidates marker in its other spelling
            {
                "type": "signal.candidate",
                "contactId": "c1",
                "candidate": {"candidate": "", "sdpMid": "0"},
            },
            {"type": "signal.candidate", "contactId": "c1", "candidate": None},
        ),
        (  # fields left out reach the partner as null
            {
                "type": "signal.candidate",
                "contactId": "c1",
                "candidate": {"candidate": "a", "sdpMid": "0"},
            },
            {
                "type": "signal.candidate",
                "contactId": "c1",
                "candidate": {
                    "candidate": "a",
                    "sdpMid": "0",
                    "sdpMLineIndex": None,
                    "usernameFragment": None,
                },
            },
        ),
        (  # two fields, one of them not the description's: rewritten, sdp empty
            {
                "type": "signal.description",
                "contactId": "c1",
                "description": {"type": "answer", "spd": "v=0"},
            },
            {
                "type": "signal.description",
                "contactId": "c1",
                "description": {"type": "answer", "sdp": ""},
            },
        ),
        (  # a description without sdp is an empty one
            {"type": "signal.description", "contactId": "c1", "description": {"type": "rollback"}},
            {
                "type": "signal.description",
                "contactId": "c1",
                "description": {"type": "rollback", "sdp": ""},
            },
        ),
    ],
)
def test_any_other_frame_is_written_again_as_the_schema_has_it(
    document: Any, partner_gets: Any
) -> None:
    message = parse(document)
    assert isinstance(message, schema.RELAYED)
    assert json.loads(message.partner_text()) == partner_gets


@pytest.mark.parametrize(
    ("raw", "error", "message"),
    [
        ("{not json", BadMessage, "message is not valid JSON"),
        (b"\xff\xfe", BadMessage, "message is not valid JSON"),
        ("[1, 2]", BadMessage, "message must be a JSON object"),
        ({"reason": "x"}, BadMessage, "message needs a text field 'type'"),
        ({"type": 7}, BadMessage, "message needs a text field 'type'"),
        ({"type": "queue.teleport"}, UnknownMessageType, "unknown message type 'queue.teleport'"),
        ({"type": "queue.join"}, BadMessage, "queue.join: missing field 'reason'"),
        (
            {"type": "queue.join", "reason": 5},
            BadMessage,
            "queue.join: field 'reason' must be text",
        ),
        (
            {"type": "offer.accept", "contactId": ""},
            BadMessage,
            "offer.accept: contactId must not be empty",
        ),
        (
            {"type": "offer.accept", "contactId": "x" * 65},
            BadMessage,
            "offer.accept: contactId is longer than 64 characters",
        ),
        (
            {"type": "signal.description", "contactId": "c", "description": "v=0"},
            BadMessage,
            "description must be an object with type and sdp",
        ),
        (
            {
                "type": "signal.description",
                "contactId": "c",
                "description": {"type": "bogus", "sdp": ""},
            },
            BadMessage,
            "description.type 'bogus' is not one of offer, answer, pranswer, rollback",
        ),
        (
            {
                "type": "signal.description",
                "contactId": "c",
                "description": {"type": "offer", "sdp": 1},
            },
            BadMessage,
            "description.sdp must be text",
        ),
        (  # two fields, as the partner's message has, but not its two
            {
                "type": "signal.description",
                "contactId": "c",
                "description": {"kind": "offer", "sdp": "v=0"},
            },
            BadMessage,
            "description.type None is not one of offer, answer, pranswer, rollback",
        ),
        (
            {"type": "signal.candidate", "contactId": "c", "candidate": "x"},
            BadMessage,
            "candidate must be an object or null",
        ),
        (
            {"type": "signal.candidate", "contactId": "c", "candidate": {"candidate": "a"}},
            BadMessage,
            "candidate needs sdpMid or sdpMLineIndex",
        ),
        (
            {
                "type": "signal.candidate",
                "contactId": "c",
                "candidate": {"candidate": "a", "sdpMLineIndex": -1},
            },
            BadMessage,
            "candidate.sdpMLineIndex must be a whole number from 0 to 255 or null",
        ),
        (
            {
                "type": "signal.candidate",
                "contactId": "c",
                "candidate": {"candidate": "a", "sdpMLineIndex": True},
            },
            BadMessage,
            "candidate.sdpMLineIndex must be a whole number from 0 to 255 or null",
        ),
        (
            {"type": "call.camera", "cameraOff": True},
            BadMessage,
            "call.camera: missing field 'contactId'",
        ),
        (
            {"type": "call.camera", "contactId": "c"},
            BadMessage,
            "call.camera: missing field 'cameraOff'",
        ),
        (
            {"type": "call.camera", "contactId": "c", "cameraOff": "yes"},
            BadMessage,
            "call.camera: cameraOff must be true or false",
        ),
        (
            {"type": "survey.submit", "contactId": "c", "score": 6},
            BadMessage,
            "survey.submit: score must be a whole number from 1 to 5",
        ),
        (
            {"type": "survey.submit", "contactId": "c", "score": "5"},
            BadMessage,
            "survey.submit: score must be a whole number from 1 to 5",
        ),
        (
            {"type": "survey.submit", "contactId": "c", "score": True},
            BadMessage,
            "survey.submit: score must be a whole number from 1 to 5",
        ),
    ],
)
def test_bad_messages_are_named(raw: Any, error: type[Exception], message: str) -> None:
    with pytest.raises(error) as caught:
        parse(raw)
    assert str(caught.value) == message


def test_oversized_message() -> None:
    with pytest.raises(MessageTooLarge, match="exceeds the limit of 10"):
        schema.parse_client('{"type":"ping","pad":"xxxx"}', max_bytes=10)


def test_server_messages_are_registered() -> None:
    assert schema.message("pong") == {"type": "pong"}
    with pytest.raises(ValueError, match="'nope' is not a server message type"):
        schema.message("nope")


def test_every_client_type_is_documented() -> None:
    from pathlib import Path

    protocol = (Path(__file__).resolve().parents[1] / "docs" / "protocol.md").read_text(
        encoding="utf-8"
    )
    for kind in [*schema.CLIENT_MESSAGES, *schema.SERVER_TYPES]:
        assert f"`{kind}`" in protocol, f"{kind} is missing from docs/protocol.md"
