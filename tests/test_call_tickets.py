"""Call tickets: what each page in a call holds, and every way one is refused."""

from __future__ import annotations

import jwt
import pytest

from branch.errors import BadTicket, NotYourTicket, TicketExpired
from branch.tickets import AUDIENCE, CALL_AUDIENCE, CallTicket, issue, issue_call, read_call
from tests.test_tickets import ENTRY, KEY, T0, altered, unsigned

CITIZEN = "44.444.444-4"
EXECUTIVE = "11.111.111-1"
CALL = CallTicket("c1", CITIZEN, EXECUTIVE, "general", T0 - 300.5, T0 - 10.25, T0 + 3600)
CLAIMS = {
    "iss": "branch",
    "aud": CALL_AUDIENCE,
    "sub": CITIZEN,
    "cid": "c1",
    "cit": CITIZEN,
    "exe": EXECUTIVE,
    "svc": "general",
    "jat": T0 - 300,
    "ans": T0 - 10,
    "iat": T0,
    "exp": T0 + 60,
}


@pytest.mark.parametrize(("holder", "side"), [(CITIZEN, "citizen"), (EXECUTIVE, "executive")])
def test_each_side_reads_back_the_call_it_was_issued_for(holder: str, side: str) -> None:
    token = issue_call(KEY, CALL, holder, T0)
    assert read_call(KEY, token, holder, side, T0 + 3599) == CALL


def test_only_someone_in_the_call_is_given_a_ticket() -> None:
    with pytest.raises(ValueError, match=r"'99\.999\.999-9' is not in call 'c1'"):
        issue_call(KEY, CALL, "99.999.999-9", T0)


@pytest.mark.parametrize(
    "token",
    [
        pytest.param(altered(issue_call(KEY, CALL, CITIZEN, T0)), id="altered"),
        pytest.param(issue_call(b"k" * 32, CALL, CITIZEN, T0), id="forged"),
        pytest.param(unsigned(CLAIMS), id="alg-none"),
        pytest.param(issue(KEY, ENTRY, T0, 3600), id="a-queue-ticket"),
        pytest.param(jwt.encode({**CLAIMS, "aud": AUDIENCE}, KEY, "HS256"), id="queue-audience"),
        pytest.param(
            jwt.encode({k: v for k, v in CLAIMS.items() if k != "ans"}, KEY, "HS256"),
            id="no-start",
        ),
        pytest.param(jwt.encode({**CLAIMS, "exe": ""}, KEY, "HS256"), id="empty-executive"),
        pytest.param(jwt.encode({**CLAIMS, "ans": True}, KEY, "HS256"), id="boolean-start"),
        pytest.param("x" * 3000, id="too-long"),
        pytest.param("", id="empty"),
    ],
)
def test_forged_altered_or_malformed_call_tickets_are_refused(token: str) -> None:
    with pytest.raises(BadTicket) as raised:
        read_call(KEY, token, CITIZEN, "citizen", T0)
    assert type(raised.value) is BadTicket
    assert (raised.value.code, raised.value.message) == (
        "bad_ticket",
        "El comprobante de la atención no es válido",
    )


def test_an_expired_call_ticket_is_refused() -> None:
    token = issue_call(KEY, CALL, CITIZEN, T0)
    with pytest.raises(TicketExpired) as raised:
        read_call(KEY, token, CITIZEN, "citizen", T0 + 3600)
    assert (raised.value.code, raised.value.message) == (
        "ticket_expired",
        "El comprobante de la atención venció",
    )


@pytest.mark.parametrize(
    ("holder", "side"),
    [
        pytest.param("99.999.999-9", "citizen", id="a stranger"),
        pytest.param(EXECUTIVE, "executive", id="the executive, with the citizen's ticket"),
        pytest.param(CITIZEN, "executive", id="the citizen, as the executive"),
    ],
)
def test_another_persons_call_ticket_is_refused(holder: str, side: str) -> None:
    token = issue_call(KEY, CALL, CITIZEN, T0)
    with pytest.raises(NotYourTicket) as raised:
        read_call(KEY, token, holder, side, T0)
    assert (raised.value.code, raised.value.message) == (
        "not_your_ticket",
        "Ese comprobante de la atención es de otra persona",
    )
