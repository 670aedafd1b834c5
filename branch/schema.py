"""The signaling wire schema: every websocket message, both directions.

One dataclass per message type, registered by its ``type`` string. Field
names on the wire are the browser's (camelCase, and ``sdp``, ``candidate``,
``sdpMid``, ``sdpMLineIndex`` as in WebRTC). ``parse_client`` turns a raw
frame into a validated message or raises with a stable error code;
``dump`` turns a server message into JSON. docs/protocol.md documents each.

The two signaling messages are relayed to the other side of the call with the
same type and shape, so a frame that already is, key for key, the message the
partner gets is passed on as the page wrote it (``partner_text``): a call's
descriptions and candidates are the busiest messages a node carries.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, ClassVar

import orjson

from branch.errors import BadMessage, MessageTooLarge, UnknownMessageType

SDP_TYPES = ("offer", "answer", "pranswer", "rollback")
MAX_SDP_CHARS = 32 * 1024
MAX_CANDIDATE_CHARS = 1024
MAX_ID_CHARS = 64


def _wire(name: str, **kwargs: Any) -> Any:
    return field(metadata={"wire": name}, **kwargs)


def _check_text(where: str, value: Any, *, limit: int, allow_empty: bool = True) -> str:
    if not isinstance(value, str):
        raise BadMessage(f"{where} must be text")
    if len(value) > limit:
        raise BadMessage(f"{where} is longer than {limit} characters")
    if not allow_empty and not value:
        raise BadMessage(f"{where} must not be empty")
    return value


@dataclass(frozen=True, slots=True)
class SessionDescription:
    type: str
    sdp: str

    def __post_init__(self) -> None:
        if self.type not in SDP_TYPES:
            raise BadMessage(f"description.type {self.type!r} is not one of {', '.join(SDP_TYPES)}")
        _check_text("description.sdp", self.sdp, limit=MAX_SDP_CHARS)

    @classmethod
    def from_wire(cls, raw: Any) -> SessionDescription:
        if not isinstance(raw, dict):
            raise BadMessage("description must be an object with type and sdp")
        return cls(type=raw.get("type"), sdp=raw.get("sdp", ""))  # type: ignore[arg-type]

    def to_wire(self) -> dict[str, str]:
        return {"type": self.type, "sdp": self.sdp}


@dataclass(frozen=True, slots=True)
class IceCandidate:
    candidate: str
    sdp_mid: str | None = None
    sdp_mline_index: int | None = None
    username_fragment: str | None = None

    def __post_init__(self) -> None:
        _check_text("candidate.candidate", self.candidate, limit=MAX_CANDIDATE_CHARS)
        for where, value in (
            ("candidate.sdpMid", self.sdp_mid),
            ("candidate.usernameFragment", self.username_fragment),
        ):
            if value is not None:
                _check_text(where, value, limit=MAX_ID_CHARS)
        index = self.sdp_mline_index
        if index is not None and (
            isinstance(index, bool) or not isinstance(index, int) or not 0 <= index < 256
        ):
            raise BadMessage("candidate.sdpMLineIndex must be a whole number from 0 to 255 or null")
        if self.sdp_mid is None and index is None:
            raise BadMessage("candidate needs sdpMid or sdpMLineIndex")

    @classmethod
    def from_wire(cls, raw: Any) -> IceCandidate | None:
        """A candidate, or None for the end-of-candidates marker (null or empty candidate)."""
        if raw is None:
            return None
        if not isinstance(raw, dict):
            raise BadMessage("candidate must be an object or null")
        if raw.get("candidate", "") == "":
            return None
        return cls(
            candidate=raw.get("candidate"),  # type: ignore[arg-type]
            sdp_mid=raw.get("sdpMid"),
            sdp_mline_index=raw.get("sdpMLineIndex"),
            username_fragment=raw.get("usernameFragment"),
        )

    def to_wire(self) -> dict[str, Any]:
        return {
            "candidate": self.candidate,
            "sdpMid": self.sdp_mid,
            "sdpMLineIndex": self.sdp_mline_index,
            "usernameFragment": self.username_fragment,
        }


# ---------------------------------------------------------------- client → server


@dataclass(frozen=True, slots=True)
class ClientMessage:
    type: ClassVar[str]


@dataclass(frozen=True, slots=True)
class Ping(ClientMessage):
    type: ClassVar[str] = "ping"


@dataclass(frozen=True, slots=True)
class QueueJoin(ClientMessage):
    type: ClassVar[str] = "queue.join"
    reason: str = _wire("reason")
    text: str = _wire("text", default="")
    service: str = _wire("service", default="")  # may be left out when there is one service


@dataclass(frozen=True, slots=True)
class QueueReady(ClientMessage):
    """The citizen's page is there with camera/microphone live, for the contact named."""

    type: ClassVar[str] = "queue.ready"
    contact_id: str = _wire("contactId")


@dataclass(frozen=True, slots=True)
class QueueLeave(ClientMessage):
    type: ClassVar[str] = "queue.leave"


@dataclass(frozen=True, slots=True)
class QueueResume(ClientMessage):
    """The page presents its queue ticket because the server no longer has it in line."""

    type: ClassVar[str] = "queue.resume"
    ticket: str = _wire("ticket")


@dataclass(frozen=True, slots=True)
class CallReclaim(ClientMessage):
    """The page presents its call ticket because the server lost the call it is in."""

    type: ClassVar[str] = "call.reclaim"
    ticket: str = _wire("ticket")


@dataclass(frozen=True, slots=True)
class AgentAvailable(ClientMessage):
    type: ClassVar[str] = "agent.available"


@dataclass(frozen=True, slots=True)
class AgentNotReady(ClientMessage):
    type: ClassVar[str] = "agent.not_ready"
    reason: str = _wire("reason", default="")


@dataclass(frozen=True, slots=True)
class AgentPauseAfter(ClientMessage):
    """The executive asks to be paused once the contact under way and its wrap-up end."""

    type: ClassVar[str] = "agent.pause_after"
    pending: bool = _wire("pending", default=True)  # false takes the request back
    reason: str = _wire("reason", default="")


@dataclass(frozen=True, slots=True)
class OfferDecline(ClientMessage):
    type: ClassVar[str] = "offer.decline"
    contact_id: str = _wire("contactId")
    reason: str = _wire("reason")


@dataclass(frozen=True, slots=True)
class OfferAccept(ClientMessage):
    type: ClassVar[str] = "offer.accept"
    contact_id: str = _wire("contactId")


@dataclass(frozen=True, slots=True)
class CallHangup(ClientMessage):
    type: ClassVar[str] = "call.hangup"
    contact_id: str = _wire("contactId")


def _as_received() -> Any:
    # Not a wire field: set by parse_client, left out of comparisons and reprs.
    return field(default="", compare=False, repr=False, metadata={"wire": None})


@dataclass(frozen=True, slots=True)
class SignalDescription(ClientMessage):
    type: ClassVar[str] = "signal.description"
    contact_id: str = _wire("contactId")
    description: SessionDescription = _wire("description")
    as_received: str = _as_received()

    def partner_text(self) -> str:
        """The message the other side of the call is sent, as JSON text."""
        return self.as_received or dump(
            {
                "type": self.type,
                "contactId": self.contact_id,
                "description": self.description.to_wire(),
            }
        )


@dataclass(frozen=True, slots=True)
class SignalCandidate(ClientMessage):
    type: ClassVar[str] = "signal.candidate"
    contact_id: str = _wire("contactId")
    candidate: IceCandidate | None = _wire("candidate")
    as_received: str = _as_received()

    def partner_text(self) -> str:
        """The message the other side of the call is sent, as JSON text."""
        candidate = self.candidate.to_wire() if self.candidate else None
        return self.as_received or dump(
            {"type": self.type, "contactId": self.contact_id, "candidate": candidate}
        )


@dataclass(frozen=True, slots=True)
class WrapupSubmit(ClientMessage):
    type: ClassVar[str] = "wrapup.submit"
    contact_id: str = _wire("contactId")
    outcome: str = _wire("outcome")
    reason: str = _wire("reason")
    notes: str = _wire("notes", default="")
    then: str = _wire("then", default="available")


@dataclass(frozen=True, slots=True)
class CallTransfer(ClientMessage):
    type: ClassVar[str] = "call.transfer"
    contact_id: str = _wire("contactId")
    service: str = _wire("service")
    note: str = _wire("note", default="")


@dataclass(frozen=True, slots=True)
class ChatSend(ClientMessage):
    type: ClassVar[str] = "chat.send"
    contact_id: str = _wire("contactId")
    text: str = _wire("text")


@dataclass(frozen=True, slots=True)
class SurveySubmit(ClientMessage):
    type: ClassVar[str] = "survey.submit"
    contact_id: str = _wire("contactId")
    score: int = _wire("score")
    comment: str = _wire("comment", default="")


@dataclass(frozen=True, slots=True)
class CallAudioOnly(ClientMessage):
    """The citizen turned video off to save data (or back on); the executive is told why."""

    type: ClassVar[str] = "call.audio_only"
    contact_id: str = _wire("contactId")
    audio_only: bool = _wire("audioOnly")


@dataclass(frozen=True, slots=True)
class CallCamera(ClientMessage):
    """Either side turned its camera off (or back on): the other says so, and judges no picture."""

    type: ClassVar[str] = "call.camera"
    contact_id: str = _wire("contactId")
    camera_off: bool = _wire("cameraOff")


@dataclass(frozen=True, slots=True)
class SupervisorNotReady(ClientMessage):
    """A supervisor pauses an executive (by RUN), with an optional pause reason code."""

    type: ClassVar[str] = "supervisor.not_ready"
    executive: str = _wire("executive")
    reason: str = _wire("reason", default="")


@dataclass(frozen=True, slots=True)
class SupervisorPauseAfter(ClientMessage):
    """A supervisor asks for an executive in a contact to be paused once it is over."""

    type: ClassVar[str] = "supervisor.pause_after"
    executive: str = _wire("executive")
    pending: bool = _wire("pending", default=True)
    reason: str = _wire("reason", default="")


@dataclass(frozen=True, slots=True)
class SupervisorLogOut(ClientMessage):
    """A supervisor ends an executive's session and takes them off the floor."""

    type: ClassVar[str] = "supervisor.log_out"
    executive: str = _wire("executive")


@dataclass(frozen=True, slots=True)
class SupervisorBroadcast(ClientMessage):
    """A supervisor tells everyone waiting in a service something (e.g. delays)."""

    type: ClassVar[str] = "supervisor.broadcast"
    service: str = _wire("service")
    text: str = _wire("text")


@dataclass(frozen=True, slots=True)
class SupervisorClearNotice(ClientMessage):
    """A supervisor takes back the service's current message before it runs out."""

    type: ClassVar[str] = "supervisor.clear_notice"
    service: str = _wire("service")


def _score(raw: Any) -> int:
    if isinstance(raw, bool) or not isinstance(raw, int) or not 1 <= raw <= 5:
        raise BadMessage("survey.submit: score must be a whole number from 1 to 5")
    return raw


CLIENT_MESSAGES: dict[str, type[ClientMessage]] = {
    cls.type: cls
    for cls in (
        Ping,
        QueueJoin,
        QueueLeave,
        QueueReady,
        QueueResume,
        CallReclaim,
        AgentAvailable,
        AgentNotReady,
        AgentPauseAfter,
        OfferAccept,
        OfferDecline,
        CallHangup,
        SignalDescription,
        SignalCandidate,
        WrapupSubmit,
        CallTransfer,
        ChatSend,
        SurveySubmit,
        CallAudioOnly,
        CallCamera,
        SupervisorNotReady,
        SupervisorPauseAfter,
        SupervisorLogOut,
        SupervisorBroadcast,
        SupervisorClearNotice,
    )
}

_PARSERS: dict[str, Callable[[Any], Any]] = {
    "description": SessionDescription.from_wire,
    "candidate": IceCandidate.from_wire,
    "score": _score,
}
# Fields that are true or false, whatever the message.
_FLAGS = ("audioOnly", "cameraOff", "pending")
_IDS = ("contactId", "executive")
RELAYED = (SignalDescription, SignalCandidate)


@dataclass(frozen=True)
class _Field:
    """One wire field of a message type, worked out once rather than for every frame."""

    name: str
    wire: str
    required: bool
    parse: Callable[[Any], Any] | None  # None: plain text (ids are also checked for length)


def _fields_of(cls: type[ClientMessage]) -> tuple[_Field, ...]:
    return tuple(
        _Field(
            item.name,
            item.metadata["wire"],
            item.default is dataclasses.MISSING,
            _PARSERS.get(item.metadata["wire"]),
        )
        for item in dataclasses.fields(cls)
        if item.metadata["wire"] is not None
    )


_FIELDS = {kind: _fields_of(cls) for kind, cls in CLIENT_MESSAGES.items()}


_CANDIDATE_FIELDS = frozenset(("candidate", "sdpMid", "sdpMLineIndex", "usernameFragment"))


def _as_relayed(
    cls: type[ClientMessage], document: dict[str, Any], text: str
) -> SignalDescription | SignalCandidate | None:
    """The message when the frame is exactly what the partner gets, else None.

    The common case of a call's signaling, taken without the general field
    loop; anything else (an extra or missing field, an end-of-candidates
    marker spelled as an empty candidate, a bad value) goes the general way,
    which rewrites it or names what is wrong. A description's two fields are
    counted rather than compared as a set of names: with the count right, a
    missing name reads as a value the value objects refuse.
    """
    contact_id = document.get("contactId")
    if len(document) != 3 or type(contact_id) is not str or not 0 < len(contact_id) <= MAX_ID_CHARS:
        return None
    try:
        if cls is SignalDescription:
            raw = document.get("description")
            if type(raw) is not dict or len(raw) != 2 or type(sdp := raw.get("sdp")) is not str:
                return None
            return SignalDescription(contact_id, SessionDescription(raw.get("type", ""), sdp), text)
        raw = document.get("candidate", False)
        if raw is None:
            return SignalCandidate(contact_id, None, text)
        if type(raw) is not dict or raw.keys() != _CANDIDATE_FIELDS or raw["candidate"] == "":
            return None
        candidate = IceCandidate(
            raw["candidate"], raw["sdpMid"], raw["sdpMLineIndex"], raw["usernameFragment"]
        )
        return SignalCandidate(contact_id, candidate, text)
    except BadMessage:
        return None


def parse_client(raw: str | bytes, *, max_bytes: int) -> ClientMessage:
    """Validate one frame from a browser; raise BadMessage, UnknownMessageType or MessageTooLarge."""
    if len(raw) > max_bytes:
        raise MessageTooLarge(f"message of {len(raw)} bytes exceeds the limit of {max_bytes}")
    try:
        document = orjson.loads(raw)
    except orjson.JSONDecodeError:
        raise BadMessage("message is not valid JSON") from None
    if not isinstance(document, dict):
        raise BadMessage("message must be a JSON object")
    kind = document.get("type")
    if not isinstance(kind, str):
        raise BadMessage("message needs a text field 'type'")
    cls = CLIENT_MESSAGES.get(kind)
    if cls is None:
        raise UnknownMessageType(f"unknown message type {kind[:40]!r}")
    if cls in RELAYED:
        relayed = _as_relayed(cls, document, raw if isinstance(raw, str) else raw.decode())
        if relayed is not None:
            return relayed
    values: dict[str, Any] = {}
    for spec in _FIELDS[kind]:
        wire_name = spec.wire
        if wire_name not in document:
            if spec.required:
                raise BadMessage(f"{kind}: missing field '{wire_name}'")
            continue
        value = document[wire_name]
        if wire_name in _FLAGS:
            if not isinstance(value, bool):
                raise BadMessage(f"{kind}: {wire_name} must be true or false")
            values[spec.name] = value
            continue
        if spec.parse is not None:
            values[spec.name] = spec.parse(value)
            continue
        if not isinstance(value, str):
            raise BadMessage(f"{kind}: field '{wire_name}' must be text")
        if wire_name in _IDS:
            _check_text(f"{kind}: {wire_name}", value, limit=MAX_ID_CHARS, allow_empty=False)
        values[spec.name] = value
    return cls(**values)


# ---------------------------------------------------------------- server → client
# Server messages are plain dicts built by these functions, so every field
# name the browser reads is written in exactly one place.

SERVER_TYPES = (
    "welcome",
    "pong",
    "error",
    "queue.joined",
    "queue.position",
    "queue.offered",
    "queue.left",
    "queue.summary",
    "agent.state",
    "offer",
    "offer.history",
    "offer.cancelled",
    "call.started",
    "call.ended",
    "signal.description",
    "signal.candidate",
    "wrapup.saved",
    "survey.saved",
    "call.reconnecting",
    "call.resumed",
    "chat.message",
    "queue.skipped",
    "service.status",
    "call.audio_only",
    "call.camera",
    "queue.ticket",
    "queue.reclaim",
    "queue.notice",
    "queue.notice_cleared",
    "wallboard",
    "supervisor.done",
)


def message(kind: str, **fields: Any) -> dict[str, Any]:
    """A server message; camelCase keyword names are the wire names."""
    if kind not in SERVER_TYPES:
        raise ValueError(f"{kind!r} is not a server message type")
    return {"type": kind, **fields}


def dump(payload: dict[str, Any]) -> str:
    """Compact JSON, non-ASCII as is (UTF-8 on the wire)."""
    return orjson.dumps(payload, option=orjson.OPT_NON_STR_KEYS).decode()
