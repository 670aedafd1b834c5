"""The Redis codec: every value object reads back equal, bad text is refused by name."""

from __future__ import annotations

import datetime
import json
from dataclasses import fields

import pytest

from branch.core.floor import Agent, AgentState, Call, Waiting
from branch.live import codec

ENTRY = Waiting(
    "c1",
    "44.444.444-4",
    "María José Ñúñez",
    "general",
    "licencias",
    'texto con "comillas" y\nsalto',
    "20261124-000001",
    1795525200.1234567,
    absent_since=1795525260.000001,
    transferred_from="c0",
    transfer_note="ver antecedentes",
    queued_at=1795525300.5,
)


@pytest.mark.parametrize("entry", [ENTRY, Waiting("c2", "x", "X", "s", "r", "", "F", 0.1)])
def test_waiting_round_trip(entry: Waiting) -> None:
    assert codec.load_waiting(codec.dump_waiting(entry)) == entry
    assert codec.load_waiting(codec.dump_waiting(entry).encode()) == entry


@pytest.mark.parametrize(
    "agent",
    [
        Agent("11.111.111-1", "Eva", AgentState.OFFLINE, 1.5),
        Agent(
            "12.345.678-5",
            "Zoe",
            AgentState.NOT_READY,
            1795525200.25,
            contact_id="c1",
            pause_reason="no_answer",
            missed=2,
            skills=(("especial",), ("general", "otro")),
        ),
        Agent(
            "12.345.678-5",
            "Zoe",
            AgentState.IN_CALL,
            1795525200.25,
            contact_id="c1",
            pause_after_call=True,
            pause_after_reason="colacion",
        ),
    ],
)
def test_agent_round_trip(agent: Agent) -> None:
    loaded = codec.load_agent(codec.dump_agent(agent))
    assert loaded == agent
    assert loaded.state is agent.state and isinstance(loaded.skills, tuple)


def test_call_round_trip() -> None:
    call = Call(
        ENTRY,
        "11.111.111-1",
        "Eva",
        1795525300.5,
        answered_at=1795525301.75,
        ready=False,
        citizen_absent_since=1795525310.0,
        agent_absent_since=None,
    )
    assert codec.load_call(codec.dump_call(call)) == call


def test_answered_round_trip() -> None:
    text = codec.dump_answered(datetime.date(2026, 11, 24), 7)
    assert text == '["2026-11-24",7]'
    assert codec.load_answered(text) == (datetime.date(2026, 11, 24), 7)
    # As the stdlib wrote it before: a node of the earlier version left it in Redis.
    assert codec.load_answered('["2026-11-24", 7]') == (datetime.date(2026, 11, 24), 7)


@pytest.mark.parametrize(
    ("load", "text", "message"),
    [
        (
            codec.load_waiting,
            "{",
            "live store: cannot read Waiting from '{': unexpected end of data: line 1 column 2 (char 1)",
        ),
        (
            codec.load_waiting,
            '{"contact_id": "c"}',
            "live store: cannot read Waiting from '{\"contact_id\": \"c\"}': Waiting.__init__() missing 7 required positional arguments: 'citizen_id', 'citizen_name', 'service', 'reason_code', 'reason_text', 'folio', and 'joined_at'",
        ),
        (
            codec.load_agent,
            '{"agent_id": "a", "name": "A", "state": "dancing", "since": 1, "skills": []}',
            'live store: cannot read Agent from \'{"agent_id": "a", "name": "A", "state": "dancing", "since": 1, "skills": []}\': \'dancing\' is not a valid AgentState',
        ),
        (
            codec.load_answered,
            '["2026-11-24", "7"]',
            "live store: cannot read answered count from '[\"2026-11-24\", \"7\"]': count '7' is not a whole number",
        ),
    ],
)
def test_bad_text_is_refused_naming_the_object(load: object, text: str, message: str) -> None:
    with pytest.raises(ValueError) as raised:
        load(text)  # type: ignore[operator]
    assert str(raised.value) == message


def test_the_text_names_every_field_in_order_as_other_nodes_read_it() -> None:
    agent = Agent("e1", "Eva", AgentState.NOT_READY, 1.5, skills=(("general",), ("otro", "x")))
    written = json.loads(codec.dump_agent(agent))
    assert list(written) == [field.name for field in fields(Agent)]
    assert (written["state"], written["skills"]) == ("not_ready", [["general"], ["otro", "x"]])
    call = Call(ENTRY, "e1", "Eva", 1795525300.25)
    written = json.loads(codec.dump_call(call))
    assert list(written) == [field.name for field in fields(Call)]
    assert written["waiting"] == {
        field.name: getattr(ENTRY, field.name) for field in fields(Waiting)
    }
