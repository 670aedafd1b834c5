"""Every error the branch reports to a person or a program.

Each class carries a stable ``code`` (part of the wire contract, see
docs/protocol.md), the HTTP status it maps to, and a human message. The
message is for logs and programs; the pages word every error from its code
(and, where a class names finer ``problems``, from the problem and its values)
in their own catalogs, ``error.<code>`` and ``error.<code>.<problem>``. Errors
sent over a websocket keep the connection open unless a close code is set.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar


class ConfigError(Exception):
    """A setting is unknown or invalid; the message names the key."""


class StoreUnreachable(Exception):
    """A store named in the config does not answer at start; the message names its URL."""


class BranchError(Exception):
    code: ClassVar[str] = "error"
    status: ClassVar[int] = 400
    # Finer causes a page words apart from the code's general words.
    problems: ClassVar[tuple[str, ...]] = ()

    def __init__(
        self, message: str, *, problem: str = "", values: Mapping[str, str | int] | None = None
    ) -> None:
        if problem and problem not in self.problems:
            raise ValueError(f"{type(self).__name__} has no problem {problem!r}")
        super().__init__(message)
        self.message = message
        self.problem = problem
        self.values = dict(values or {})

    def fields(self) -> dict[str, Any]:
        """What a client is told: the code, the message, and the problem with its values."""
        fields: dict[str, Any] = {"code": self.code, "message": self.message}
        if self.problem:
            fields["problem"] = self.problem
        if self.values:
            fields["values"] = self.values
        return fields

    def to_wire(self) -> dict[str, Any]:
        return {"type": "error", **self.fields()}


class BadMessage(BranchError):
    code = "bad_message"


class UnknownMessageType(BranchError):
    code = "unknown_type"


class MessageTooLarge(BranchError):
    code = "too_large"
    status = 413


class NotAuthenticated(BranchError):
    code = "not_authenticated"
    status = 401


class Forbidden(BranchError):
    code = "forbidden"
    status = 403


class BadOrigin(BranchError):
    code = "bad_origin"
    status = 403


class LoginFailed(BranchError):
    """The login could not be completed; the message says why, without secrets."""

    code = "login_failed"


class InvalidRun(LoginFailed):
    code = "invalid_run"


class InvalidState(BranchError):
    """The action does not fit the current state (e.g. accept with nothing offered)."""

    code = "invalid_state"
    status = 409


class AlreadyQueued(InvalidState):
    code = "already_queued"


class NotQueued(InvalidState):
    code = "not_queued"


class NoOffer(InvalidState):
    code = "no_offer"


class NotInCall(InvalidState):
    code = "not_in_call"


class NotYourContact(BranchError):
    code = "not_your_contact"
    status = 403


class UnknownContact(BranchError):
    code = "unknown_contact"
    status = 404


class UnknownExecutive(BranchError):
    """A supervisor named an executive who is not on the floor."""

    code = "unknown_executive"
    status = 404


class UnknownReason(BranchError):
    code = "unknown_reason"


class UnknownOutcome(BranchError):
    code = "unknown_outcome"


class UnknownService(BranchError):
    code = "unknown_service"


class BadReportQuery(BranchError):
    """A report's period or filters are not valid; the message names the field."""

    code = "bad_report_query"
    problems = (
        "from_not_a_date",
        "to_not_a_date",
        "from_out_of_range",  # values: firstYear, lastYear
        "to_out_of_range",
        "to_before_from",
        "period_too_long",  # values: maxDays
        "unknown_service",
        "bad_executive",
        "bad_format",
    )


class BadQuery(BranchError):
    """A query string of a read endpoint is not valid; the message names the parameter."""

    code = "bad_query"


class NotAdmitted(BranchError):
    """The service cannot take a new citizen now; the code says why, the message what to do."""

    code = "not_admitted"
    status = 409


class ServiceClosed(NotAdmitted):
    code = "closed"


class NoExecutives(NotAdmitted):
    code = "no_executives"


class QueueFull(NotAdmitted):
    code = "queue_full"


class WaitTooLong(NotAdmitted):
    code = "wait_too_long"


class AfterClosing(NotAdmitted):
    code = "after_closing"


class BadTicket(BranchError):
    """A queue ticket that was not made by this branch, or was changed since."""

    code = "bad_ticket"


class TicketExpired(BadTicket):
    code = "ticket_expired"


class NotYourTicket(BadTicket):
    code = "not_your_ticket"
    status = 403


class TicketUsed(BadTicket):
    """The ticket's contact was answered or is over: it gives no place in line any more."""

    code = "ticket_used"


class RateLimited(BranchError):
    code = "rate_limited"
    status = 429


class InternalError(BranchError):
    """A bug on our side; the details go to the log, never to the person."""

    code = "internal"
    status = 500


class ServiceUnavailable(BranchError):
    code = "unavailable"
    status = 503


class RecordsUnavailable(ServiceUnavailable):
    """The record database cannot be reached, or its journal is still catching up."""


class LiveBusy(ServiceUnavailable):
    """The shared floor changed under every attempt of one step; nothing was written."""

    code = "busy"

    def __init__(
        self, message: str = "El estado de la sucursal cambia demasiado rápido; intenta de nuevo"
    ) -> None:
        super().__init__(message)


# WebSocket close codes (RFC 6455 §7.4 plus the private 4000-4999 range).
CLOSE_GOING_AWAY = 1001
CLOSE_POLICY = 1008  # bad Origin
CLOSE_TOO_LARGE = 1009
CLOSE_INTERNAL = 1011  # the page could not be set up (a bug); the page may reconnect
CLOSE_TRY_AGAIN = 1013  # a store is away or busy while the page opens; reconnect shortly
CLOSE_NOT_AUTHENTICATED = 4401
CLOSE_FORBIDDEN = 4403  # the role has no access to the live floor (auditor)
CLOSE_REPLACED = 4409  # the same person opened the page again elsewhere
CLOSE_SESSION_ENDED = 4440  # logged out (by themselves or a supervisor) or session expired
CLOSE_RATE_LIMITED = 4429  # kept flooding after being told to slow down
CLOSE_FELL_BEHIND = 4408  # did not read its socket: too much, or too old, waited for it; reconnect
