"""Queue tickets: a citizen's signed proof of their place in line.

When a citizen joins, their page is given a ticket: a JWT signed with HS256
by a key derived from the session key (so every node of a deployment, which
shares that key anyway, can read it). If the live state is lost (Redis
restarted empty, or a single node restarted), the page presents it and the
citizen is put back with the ticket's join time, so each line is rebuilt in
its original order whatever order the pages come back in. Pure: the caller
passes ``now``; no clock is read here.

Claims: ``sub`` the citizen's RUN, ``cid`` contact id, ``svc`` service, ``jat``
join time (the priority; a transferred contact keeps its first one), ``rsn``
reason code, ``fol`` folio, ``iat``/``exp``, and fixed ``iss``/``aud`` so no
other token signed by the branch passes for a ticket.
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass
from typing import Any

import jwt

from branch.core.floor import Waiting
from branch.errors import BadTicket, NotYourTicket, TicketExpired

ISSUER = "branch"
AUDIENCE = "branch:queue-ticket"
ALGORITHM = "HS256"
MAX_TICKET_CHARS = 2048
CLAIMS = ("sub", "cid", "svc", "jat", "rsn", "fol", "iat", "exp", "iss", "aud")


def ticket_key(session_key: bytes) -> bytes:
    """A key of its own for tickets, so a ticket can never pass for a session and back."""
    return hmac.new(session_key, b"branch queue ticket v1", hashlib.sha256).digest()


@dataclass(frozen=True)
class Ticket:
    citizen_id: str
    contact_id: str
    service: str
    joined_at: float
    reason_code: str
    folio: str
    expires_at: float


def issue(key: bytes, entry: Waiting, now: float, ttl: float) -> str:
    claims = {
        "iss": ISSUER,
        "aud": AUDIENCE,
        "sub": entry.citizen_id,
        "cid": entry.contact_id,
        "svc": entry.service,
        "jat": entry.joined_at,
        "rsn": entry.reason_code,
        "fol": entry.folio,
        "iat": now,
        "exp": now + ttl,
    }
    return jwt.encode(claims, key, algorithm=ALGORITHM)


def read(key: bytes, token: str, citizen_id: str, now: float) -> Ticket:
    """The ticket's contents, or the reason it gives no place: forged, expired or not theirs."""
    texts, times = _checked_claims(
        key,
        token,
        AUDIENCE,
        CLAIMS,
        ("sub", "cid", "svc", "rsn", "fol"),
        ("jat", "exp"),
        "El comprobante de fila no es válido",
    )
    sub, cid, svc, rsn, fol = texts
    jat, exp = times
    ticket = Ticket(sub, cid, svc, jat, rsn, fol, exp)
    if now >= ticket.expires_at:
        raise TicketExpired("El comprobante de fila venció; vuelve a ponerte en la fila")
    if ticket.citizen_id != citizen_id:
        raise NotYourTicket("Ese comprobante de fila es de otra persona")
    return ticket


def _checked_claims(
    key: bytes,
    token: str,
    audience: str,
    required: tuple[str, ...],
    text_names: tuple[str, ...],
    time_names: tuple[str, ...],
    invalid: str,
) -> tuple[list[str], list[float]]:
    """A ticket's text and time claims, signature, audience and types checked; else BadTicket."""
    if not token or len(token) > MAX_TICKET_CHARS:
        raise BadTicket(invalid)
    try:
        claims: dict[str, Any] = jwt.decode(
            token,
            key,
            algorithms=[ALGORITHM],
            audience=audience,
            issuer=ISSUER,
            # Time is ours to pass in: pyjwt would read the clock.
            options={"require": list(required), "verify_exp": False, "verify_iat": False},
        )
    except jwt.PyJWTError:
        raise BadTicket(invalid) from None
    texts = [claims[name] for name in text_names]
    times = [claims[name] for name in time_names]
    if not all(isinstance(text, str) and text for text in texts) or not all(
        isinstance(time, int | float) and not isinstance(time, bool) for time in times
    ):
        raise BadTicket(invalid)
    return texts, [float(time) for time in times]


# Call tickets: each page in a call holds one, so a call the live state lost can be put back.
CALL_AUDIENCE = "branch:call-ticket"
CALL_CLAIMS = ("sub", "cid", "cit", "exe", "svc", "jat", "ans", "iat", "exp", "iss", "aud")


@dataclass(frozen=True)
class CallTicket:
    contact_id: str
    citizen_id: str
    executive_id: str
    service: str
    joined_at: float  # the priority, which a transfer from the restored call keeps
    answered_at: float
    expires_at: float


def issue_call(key: bytes, call: CallTicket, holder: str, now: float) -> str:
    """The ticket of ``holder`` (the citizen's or the executive's RUN) for ``call``."""
    if holder not in (call.citizen_id, call.executive_id):
        raise ValueError(f"{holder!r} is not in call {call.contact_id!r}")
    claims = {
        "iss": ISSUER,
        "aud": CALL_AUDIENCE,
        "sub": holder,
        "cid": call.contact_id,
        "cit": call.citizen_id,
        "exe": call.executive_id,
        "svc": call.service,
        "jat": call.joined_at,
        "ans": call.answered_at,
        "iat": now,
        "exp": call.expires_at,
    }
    return jwt.encode(claims, key, algorithm=ALGORITHM)


def read_call(key: bytes, token: str, holder: str, side: str, now: float) -> CallTicket:
    """The call the ticket names, or why it names none: forged, expired or not the holder's."""
    texts, times = _checked_claims(
        key,
        token,
        CALL_AUDIENCE,
        CALL_CLAIMS,
        ("sub", "cid", "cit", "exe", "svc"),
        ("jat", "ans", "exp"),
        "El comprobante de la atención no es válido",
    )
    sub, cid, cit, exe, svc = texts
    jat, ans, exp = times
    ticket = CallTicket(cid, cit, exe, svc, jat, ans, exp)
    if now >= ticket.expires_at:
        raise TicketExpired("El comprobante de la atención venció")
    # The holder's side must be theirs too: a citizen's ticket cannot restore the executive.
    if sub != holder or {"citizen": cit, "executive": exe}[side] != holder:
        raise NotYourTicket("Ese comprobante de la atención es de otra persona")
    return ticket
