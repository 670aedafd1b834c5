"""The floor's vocabulary: states, the people on it, the rules, and the events it emits."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class AgentState(StrEnum):
    OFFLINE = "offline"
    NOT_READY = "not_ready"
    AVAILABLE = "available"
    OFFERED = "offered"
    IN_CALL = "in_call"
    WRAP_UP = "wrap_up"


class EndReason(StrEnum):
    COMPLETED = "completed"
    CITIZEN_LEFT = "citizen_left"
    CITIZEN_DROPPED = "citizen_dropped"
    EXECUTIVE_DROPPED = "executive_dropped"
    TRANSFERRED = "transferred"  # the call ended and a new contact waits in another service
    CLOSED = "closed"  # still waiting when the service's cut-off after closing came
    WAIT_LIMIT = "wait_limit"  # still waiting when the service's hard maximum wait ran out


class Routing(StrEnum):
    """Which of several available executives gets the next citizen."""

    LONGEST_IDLE = "longest_idle"
    FEWEST_CONTACTS = "fewest_contacts"  # fewest answered today, then longest idle
    ROUND_ROBIN = "round_robin"  # in RUN order, starting after the last one offered


ALLOWED = {
    AgentState.OFFLINE: {AgentState.NOT_READY, AgentState.AVAILABLE},
    AgentState.NOT_READY: {AgentState.AVAILABLE, AgentState.OFFLINE},
    AgentState.AVAILABLE: {AgentState.NOT_READY, AgentState.OFFERED, AgentState.OFFLINE},
    AgentState.OFFERED: {
        AgentState.IN_CALL,
        AgentState.AVAILABLE,
        AgentState.NOT_READY,
        AgentState.OFFLINE,
    },
    AgentState.IN_CALL: {AgentState.WRAP_UP, AgentState.OFFLINE},
    AgentState.WRAP_UP: {AgentState.AVAILABLE, AgentState.NOT_READY, AgentState.OFFLINE},
}


@dataclass(frozen=True, slots=True)
class Waiting:
    """A citizen in line. Carries what the executive is shown when offered."""

    contact_id: str
    citizen_id: str
    citizen_name: str
    service: str
    reason_code: str
    reason_text: str
    folio: str
    joined_at: float  # the priority: a transfer keeps the first contact's join time
    # Set while the citizen's page is gone: the place is kept for a grace period.
    absent_since: float | None = None
    # A transferred contact: the first contact and the executive's note for the next one.
    transferred_from: str | None = None
    transfer_note: str = ""
    # When this contact entered this line, if not at ``joined_at``: a transfer
    # enters the new line now while keeping the first join time as priority.
    queued_at: float | None = None

    def __post_init__(self) -> None:
        if not self.contact_id or not self.citizen_id:
            raise ValueError(f"waiting entry needs a contact and a citizen: {self!r}")

    @property
    def in_line_since(self) -> float:
        """Where the service's hard maximum wait counts from."""
        return self.joined_at if self.queued_at is None else self.queued_at


@dataclass(frozen=True)
class Agent:
    agent_id: str
    name: str
    state: AgentState
    since: float
    contact_id: str | None = None
    pause_reason: str | None = None
    missed: int = 0  # offers in a row that went unanswered
    # Service codes in tiers: an earlier tier is served first; () serves every service alike.
    skills: tuple[tuple[str, ...], ...] = ()
    # "Pause after this call": asked for during a contact, it takes effect when the contact and
    # its wrap-up are over, so the executive is not offered the next citizen in between.
    pause_after_call: bool = False
    pause_after_reason: str | None = None

    def serves(self, service: str) -> bool:
        return not self.skills or any(service in tier for tier in self.skills)

    def moved(
        self, state: AgentState, since: float, contact_id: str | None, pause_reason: str | None
    ) -> Agent:
        """This executive in ``state`` since ``since``; outside a contact a pause asked for lapses."""
        # One constructor call, not ``dataclasses.replace`` (twice): a pairing moves the
        # executive twice in one step, and replace's field-by-field copy was most of it.
        with_contact = state in WITH_CONTACT
        return Agent(
            agent_id=self.agent_id,
            name=self.name,
            state=state,
            since=since,
            contact_id=contact_id,
            pause_reason=pause_reason,
            missed=self.missed,
            skills=self.skills,
            pause_after_call=self.pause_after_call and with_contact,
            pause_after_reason=self.pause_after_reason if with_contact else None,
        )


# States a pause after the call may be asked for in: a contact is under way.
WITH_CONTACT = (AgentState.IN_CALL, AgentState.WRAP_UP)

# Pause reasons the floor itself sets; people pick theirs from a catalog.
NO_ANSWER = "no_answer"
NOT_READY = "citizen_not_ready"  # an OfferWithdrawn cause: the readiness check failed
DECLINED = "declined"


@dataclass(frozen=True)
class FloorRules:
    """The timings of the floor, from config; all in seconds."""

    grace: float = 120.0
    offer_timeout: float = 20.0
    max_missed: int = 2
    missed_cooldown: float = 15.0
    wrapup: float = 120.0
    readiness: float = 0.0  # seconds the citizen's page has to confirm; 0: no check
    routing: Routing = Routing.LONGEST_IDLE
    timezone: str = "America/Santiago"  # where "today" is, for fewest_contacts
    # (service code, seconds): nobody waits in that line longer; services not listed have no limit.
    wait_limits: tuple[tuple[str, float], ...] = ()

    def __post_init__(self) -> None:
        for name in ("grace", "offer_timeout", "missed_cooldown", "wrapup", "readiness"):
            if getattr(self, name) < 0:
                raise ValueError(f"{name} must be 0 or more, not {getattr(self, name)}")
        if self.max_missed < 1:
            raise ValueError(f"max_missed must be 1 or more, not {self.max_missed}")
        for service, seconds in self.wait_limits:
            if seconds <= 0:
                raise ValueError(f"wait limit of {service!r} must be positive, not {seconds}")

    def wait_limit(self, service: str) -> float | None:
        """The hard maximum wait in ``service``'s line, in seconds; None: no limit."""
        return next((seconds for code, seconds in self.wait_limits if code == service), None)


@dataclass(frozen=True)
class Call:
    """An offer, and once accepted, a call; it lives until hang-up."""

    waiting: Waiting
    agent_id: str
    agent_name: str
    offered_at: float  # while not ready: when the readiness check began
    answered_at: float | None = None
    # False while the citizen's page has not yet confirmed it is there with live
    # camera/microphone; the executive is offered the call only once it is ready.
    ready: bool = True
    # Set while one side's page is gone mid-call: the call is held for the grace period.
    citizen_absent_since: float | None = None
    agent_absent_since: float | None = None
    # The citizen's page turned its video off to save data: a reloaded desk is told at once.
    audio_only: bool = False

    @property
    def contact_id(self) -> str:
        return self.waiting.contact_id

    @property
    def citizen_id(self) -> str:
        return self.waiting.citizen_id


# Events: what changed, for the service to record and announce.


@dataclass(frozen=True)
class QueueChanged:
    service: str


@dataclass(frozen=True)
class AgentChanged:
    agent: Agent


@dataclass(frozen=True)
class StaffingChanged:
    """An executive logged in or out: estimates of the services they serve change."""

    agent: Agent


@dataclass(frozen=True)
class PauseAfterCallChanged:
    """A pause after the current contact was asked for or taken back; the state is unchanged."""

    agent: Agent


@dataclass(frozen=True)
class Offered:
    call: Call


@dataclass(frozen=True)
class ReadinessCheck:
    """The citizen is next for an executive: their page must confirm it is there."""

    call: Call


@dataclass(frozen=True)
class CitizenSkipped:
    """The citizen's page did not confirm in time: skipped, place kept for the grace period."""

    waiting: Waiting


@dataclass(frozen=True)
class OfferWithdrawn:
    """The offer fell through before the accept; ``requeued`` when the citizen waits again.

    ``cause``: citizen_left, citizen_dropped, executive_gone, no_answer or declined.
    """

    call: Call
    cause: str
    requeued: bool
    detail: str = ""  # the executive's reason when declined


@dataclass(frozen=True)
class WrapupTimedOut:
    """Wrap-up time ran out: the default outcome is recorded for the executive."""

    agent_id: str
    contact_id: str
    at: float


@dataclass(frozen=True)
class Transferred:
    """The call ended and the citizen waits again, in ``to.service``, with the same priority."""

    call: Call
    to: Waiting


@dataclass(frozen=True)
class CallInterrupted:
    """One side's page vanished mid-call; the other is told and the call is held."""

    call: Call
    who: str  # "citizen" or "executive"


@dataclass(frozen=True)
class CallResumed:
    """The side that vanished is back within the grace; its page restarts the media."""

    call: Call
    who: str


@dataclass(frozen=True)
class CallStarted:
    call: Call


@dataclass(frozen=True)
class ContactEnded:
    """The contact is over: left the queue, dropped, or hung up."""

    waiting: Waiting
    reason: EndReason
    by: str  # "citizen", "executive" or "system"
    agent_id: str | None
    at: float
    in_call: bool = False


Event = (
    QueueChanged
    | AgentChanged
    | Offered
    | OfferWithdrawn
    | CallStarted
    | ContactEnded
    | WrapupTimedOut
    | Transferred
    | StaffingChanged
    | CallInterrupted
    | CallResumed
    | ReadinessCheck
    | CitizenSkipped
    | PauseAfterCallChanged
)


@dataclass(frozen=True)
class Notice:
    """A supervisor's message to everyone waiting in a service, shown until ``until``."""

    service: str
    text: str
    at: float
    until: float

    def __post_init__(self) -> None:
        if not self.service or not self.text:
            raise ValueError(f"a notice needs a service and a text, not {self!r}")
        if self.until <= self.at:
            raise ValueError(f"a notice must last: until {self.until!r} is not after {self.at!r}")

    def current(self, now: float) -> bool:
        return now < self.until
