"""Login sessions: server-side records behind a signed, HttpOnly cookie."""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from branch.auth.identity import Person, Role
from branch.auth.run import Run
from branch.config import Settings

# __Host-: the browser only accepts it Secure, with Path=/ and no Domain, so a
# sibling subdomain cannot plant or read it.
COOKIE_NAME = "__Host-branch"
# Holds the state of the login this browser started, so a callback URL made in
# another browser (login CSRF: someone else's account forced on you) is refused.
LOGIN_COOKIE_NAME = "__Host-branch-login"


@dataclass(frozen=True, slots=True)
class Session:
    session_id: str
    person: Person
    role: Role
    created_at: float
    expires_at: float  # the absolute limit, whatever the activity
    id_token_hint: str = ""
    last_seen: float = 0.0  # the last request or open page; 0: not since login

    def idle_since(self) -> float:
        return self.last_seen or self.created_at

    def is_live(self, now: float, idle_seconds: float) -> bool:
        """Within its absolute lifetime and not idle longer than allowed."""
        return now < self.expires_at and now - self.idle_since() < idle_seconds

    def to_dict(self) -> dict[str, Any]:
        return {
            "session_id": self.session_id,
            "run": self.person.run.format(),
            "given_names": list(self.person.given_names),
            "surnames": list(self.person.surnames),
            "role": self.role.value,
            "created_at": self.created_at,
            "expires_at": self.expires_at,
            "id_token_hint": self.id_token_hint,
            "last_seen": self.last_seen,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Session:
        person = Person(Run.parse(data["run"]), tuple(data["given_names"]), tuple(data["surnames"]))
        return cls(
            data["session_id"],
            person,
            Role(data["role"]),
            float(data["created_at"]),
            float(data["expires_at"]),
            data.get("id_token_hint", ""),
            float(data.get("last_seen", 0.0)),
        )


def new_session_id() -> str:
    return secrets.token_urlsafe(32)


def _mac(session_id: str, key: bytes) -> str:
    digest = hmac.new(key, session_id.encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def sign(session_id: str, key: bytes) -> str:
    return f"{session_id}.{_mac(session_id, key)}"


def unsign(value: str, key: bytes) -> str | None:
    session_id, _, mac = value.rpartition(".")
    if not session_id or not hmac.compare_digest(mac.encode(), _mac(session_id, key).encode()):
        return None
    return session_id


def session_key(settings: Settings) -> bytes:
    """The cookie-signing key: configured, or made once and kept in the data folder."""
    if settings.session_secret:
        return settings.session_secret.encode()
    path = Path(settings.data_dir) / "session.key"
    if path.exists():
        return path.read_bytes()
    path.parent.mkdir(parents=True, exist_ok=True)
    key = secrets.token_bytes(32)
    try:
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        # Another node process made it first; use theirs.
        return path.read_bytes()
    with os.fdopen(descriptor, "wb") as handle:
        handle.write(key)
    return key
