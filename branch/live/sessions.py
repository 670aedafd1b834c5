"""Where pending logins and sessions live: server-side, with expiry."""

from __future__ import annotations

from dataclasses import replace
from typing import Protocol

from branch.auth.oidc import LoginAttempt
from branch.auth.sessions import Session
from branch.live.keys import DEFAULT_PREFIX
from branch.live.redis_sessions import RedisSessionStore


class SessionStore(Protocol):
    async def close(self) -> None: ...
    async def put_login_attempt(self, attempt: LoginAttempt, ttl: float) -> None: ...
    async def take_login_attempt(self, state: str, now: float) -> LoginAttempt | None:
        """Single use: the attempt is gone after this, found or not."""
        ...

    async def put_session(self, session: Session) -> None: ...
    async def get_session(self, session_id: str, now: float) -> Session | None: ...
    async def delete_session(self, session_id: str) -> None: ...
    async def end_person(self, run: str) -> list[str]:
        """End every session of the person (``run`` as formatted), on every node.

        A supervisor's log-out: the person, not one login. Returns the ids of the
        sessions that were there, so the pages they opened can be closed.
        """
        ...

    async def touch(self, session_id: str, now: float) -> None:
        """Record activity now, for the idle timeout."""
        ...

    def hold(self, session: Session) -> None:
        """An open page on this node stands on the session: keep it through an empty restart."""
        ...

    def release(self, session_id: str) -> None:
        """That page closed (one ``release`` per ``hold``)."""
        ...


class MemorySessionStore:
    def __init__(self) -> None:
        self._attempts: dict[str, tuple[LoginAttempt, float]] = {}
        self._sessions: dict[str, Session] = {}
        self._swept_at = 0.0

    async def close(self) -> None:
        return None

    async def put_login_attempt(self, attempt: LoginAttempt, ttl: float) -> None:
        self._sweep(attempt.created_at)
        self._attempts[attempt.state] = (attempt, attempt.created_at + ttl)

    async def take_login_attempt(self, state: str, now: float) -> LoginAttempt | None:
        found = self._attempts.pop(state, None)
        if found is None or found[1] < now:
            return None
        return found[0]

    async def put_session(self, session: Session) -> None:
        self._sweep(session.created_at)
        self._sessions[session.session_id] = session

    async def get_session(self, session_id: str, now: float) -> Session | None:
        session = self._sessions.get(session_id)
        if session is None or session.expires_at < now:
            return None
        return session

    async def delete_session(self, session_id: str) -> None:
        self._sessions.pop(session_id, None)

    async def end_person(self, run: str) -> list[str]:
        # A rare action: a scan is cheaper than keeping an index at every login.
        ended = sorted(
            key for key, session in self._sessions.items() if session.person.run.format() == run
        )
        for key in ended:
            del self._sessions[key]
        return ended

    async def touch(self, session_id: str, now: float) -> None:
        session = self._sessions.get(session_id)
        if session is not None:
            self._sessions[session_id] = replace(session, last_seen=now)

    # The sessions are in this process: they can only be lost with the pages on them.
    def hold(self, session: Session) -> None:
        return None

    def release(self, session_id: str) -> None:
        return None

    def _sweep(self, now: float) -> None:
        # Abandoned logins and expired sessions would otherwise pile up forever;
        # once a minute keeps a login burst from sweeping thousands of times.
        if now - self._swept_at < 60:
            return
        self._swept_at = now
        self._attempts = {key: value for key, value in self._attempts.items() if value[1] >= now}
        self._sessions = {
            key: value for key, value in self._sessions.items() if value.expires_at >= now
        }


def open_session_store(url: str, prefix: str = DEFAULT_PREFIX) -> SessionStore:
    """Sessions go where the live state goes: in Redis they are shared by every node."""
    if url.startswith(("redis://", "rediss://", "unix://")):
        return RedisSessionStore(url, prefix)
    return MemorySessionStore()
