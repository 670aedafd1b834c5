"""Pending logins and sessions in Redis, so every node knows every login.

Behind a load balancer without sticky sessions, the login callback may reach
another node than the one that started the login, and a page that reconnects
after its node died lands on any node: both need the same records.

==================  ======  ===================================================
key (after prefix)  type    content and TTL
==================  ======  ===================================================
``login:<state>``   string  ``{"attempt": LoginAttempt, "expires": time}`` (JSON);
                            TTL the attempt's lifetime; taken with GETDEL, so it
                            is used at most once
``session:<id>``    string  Session (JSON); TTL the session's absolute lifetime
                            (the limits themselves are checked against ``now``)
==================  ======  ===================================================
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, replace

from redis.asyncio import Redis

from branch.auth.oidc import LoginAttempt
from branch.auth.sessions import Session
from branch.live.keys import DEFAULT_PREFIX
from branch.redis_retry import retrying_options


@dataclass(frozen=True)
class SessionKeys:
    prefix: str = DEFAULT_PREFIX

    def login(self, state: str) -> str:
        return f"{self.prefix}login:{state}"

    def session(self, session_id: str) -> str:
        return f"{self.prefix}session:{session_id}"


class RedisSessionStore:
    def __init__(self, url: str, prefix: str = DEFAULT_PREFIX) -> None:
        self.key = SessionKeys(prefix)
        self.redis = Redis.from_url(url, decode_responses=True, **retrying_options())

    async def close(self) -> None:
        await self.redis.aclose()

    async def put_login_attempt(self, attempt: LoginAttempt, ttl: float) -> None:
        record = {"attempt": attempt.to_dict(), "expires": attempt.created_at + ttl}
        await self.redis.set(
            self.key.login(attempt.state), json.dumps(record), px=max(1, math.ceil(ttl * 1000))
        )

    async def take_login_attempt(self, state: str, now: float) -> LoginAttempt | None:
        raw = await self.redis.getdel(self.key.login(state))
        if raw is None:
            return None
        record = json.loads(raw)
        if float(record["expires"]) < now:
            return None
        return LoginAttempt.from_dict(record["attempt"])

    async def put_session(self, session: Session) -> None:
        await self.redis.set(
            self.key.session(session.session_id),
            json.dumps(session.to_dict()),
            # Relative, so the key's life does not depend on this node's clock.
            ex=max(1, math.ceil(session.expires_at - session.created_at)),
        )

    async def get_session(self, session_id: str, now: float) -> Session | None:
        raw = await self.redis.get(self.key.session(session_id))
        if raw is None:
            return None
        session = Session.from_dict(json.loads(raw))
        return None if session.expires_at < now else session

    async def delete_session(self, session_id: str) -> None:
        await self.redis.delete(self.key.session(session_id))

    async def touch(self, session_id: str, now: float) -> None:
        key = self.key.session(session_id)
        raw = await self.redis.get(key)
        if raw is None:
            return
        touched = replace(Session.from_dict(json.loads(raw)), last_seen=now)
        # XX: a session deleted meanwhile (logout) stays deleted.
        await self.redis.set(key, json.dumps(touched.to_dict()), xx=True, keepttl=True)
