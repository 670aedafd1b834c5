"""Queue tickets: what a page is given on joining, and every way a ticket is refused."""

from __future__ import annotations

import base64
import json

import jwt
import pytest

from branch.core.floor import Waiting
from branch.errors import BadTicket, NotYourTicket, TicketExpired
from branch.tickets import AUDIENCE, Ticket, issue, read, ticket_key

KEY = ticket_key(b"s" * 32)
T0 = 1795525200.0
ENTRY = Waiting(
    "c1", "44.444.444-4", "María", "general", "licencias", "texto", "20261124-000001", T0 - 0.125
)


def test_a_ticket_reads_back_what_it_was_issued_for() -> None:
    token = issue(KEY, ENTRY, T0, 3600)
    assert read(KEY, token, "44.444.444-4", T0 + 3599) == Ticket(
        "44.444.444-4", "c1", "general", T0 - 0.125, "licencias", "20261124-000001", T0 + 3600
    )
    assert "texto" not in base64.urlsafe_b64decode(token.split(".")[1] + "==").decode()


def test_the_ticket_key_is_not_the_session_key() -> None:
    assert ticket_key(b"s" * 32) != b"s" * 32
    assert ticket_key(b"s" * 32) != ticket_key(b"t" * 32)


def altered(token: str) -> str:
    header, payload, signature = token.split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=="))
    claims["jat"] = T0 - 3600  # an earlier place in line
    forged = base64.urlsafe_b64encode(json.dumps(claims).encode()).rstrip(b"=").decode()
    return f"{header}.{forged}.{signature}"


def unsigned(claims: dict[str, object]) -> str:
    part = base64.urlsafe_b64encode(json.dumps(claims).encode()).rstrip(b"=").decode()
    head = base64.urlsafe_b64encode(b'{"alg":"none","typ":"JWT"}').rstrip(b"=").decode()
    return f"{head}.{part}."


CLAIMS = {
    "iss": "branch",
    "aud": AUDIENCE,
    "sub": "44.444.444-4",
    "cid": "c1",
    "svc": "general",
    "jat": T0,
    "rsn": "r",
    "fol": "F",
    "iat": T0,
    "exp": T0 + 60,
}


@pytest.mark.parametrize(
    "token",
    [
        pytest.param(altered(issue(KEY, ENTRY, T0, 3600)), id="altered"),
        pytest.param(issue(ticket_key(b"other" * 8), ENTRY, T0, 3600), id="forged"),
        pytest.param(unsigned(CLAIMS), id="alg-none"),
        pytest.param(jwt.encode({**CLAIMS, "aud": "session"}, KEY, "HS256"), id="other-audience"),
        pytest.param(jwt.encode({**CLAIMS, "iss": "x"}, KEY, "HS256"), id="other-issuer"),
        pytest.param(
            jwt.encode({k: v for k, v in CLAIMS.items() if k != "jat"}, KEY, "HS256"),
            id="no-join-time",
        ),
        pytest.param(jwt.encode({**CLAIMS, "jat": "early"}, KEY, "HS256"), id="text-join-time"),
        pytest.param(jwt.encode({**CLAIMS, "svc": ""}, KEY, "HS256"), id="empty-service"),
        pytest.param("a.b.c", id="garbage"),
        pytest.param("", id="empty"),
        pytest.param("x" * 3000, id="too-long"),
    ],
)
def test_forged_altered_or_malformed_tickets_are_refused(token: str) -> None:
    with pytest.raises(BadTicket) as raised:
        read(KEY, token, "44.444.444-4", T0)
    assert type(raised.value) is BadTicket
    assert (raised.value.code, raised.value.message) == (
        "bad_ticket",
        "El comprobante de fila no es válido",
    )


def test_an_expired_ticket_is_refused() -> None:
    token = issue(KEY, ENTRY, T0, 60)
    read(KEY, token, "44.444.444-4", T0 + 59.9)
    with pytest.raises(TicketExpired) as raised:
        read(KEY, token, "44.444.444-4", T0 + 60)
    assert (raised.value.code, raised.value.message) == (
        "ticket_expired",
        "El comprobante de fila venció; vuelve a ponerte en la fila",
    )


def test_someone_elses_ticket_is_refused() -> None:
    token = issue(KEY, ENTRY, T0, 60)
    with pytest.raises(NotYourTicket) as raised:
        read(KEY, token, "11.111.111-1", T0)
    assert (raised.value.code, raised.value.status, raised.value.message) == (
        "not_your_ticket",
        403,
        "Ese comprobante de fila es de otra persona",
    )
