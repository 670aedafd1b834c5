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
``logins:<run>``    set     ids of the sessions made for that person (RUN as
                            formatted), so a supervisor's log-out ends them all;
                            TTL that of the longest-lived one. A session ended
                            on its own (logout, expiry) may stay listed until
                            then: ending a missing session does nothing
``epoch``           string  the live store's (``branch.live.keys``), read with
                            every session: a changed one means Redis restarted
                            empty
==================  ======  ===================================================

Sessions live in the same Redis as the floor, so a Redis restarted empty loses
them too. A node keeps the last record it read of every session one of its
open pages stands on (``hold``), and the first read that finds the epoch
changed writes those back: with their remaining lifetime, never more, and only
where no record exists, so a newer one is never overwritten. Those pages, which
carry on while the floor is rebuilt from their tickets, stay logged in. A
session deleted while Redis kept its data (logout, a supervisor's log-out) is
never written back: its page closes, which releases it here, and one read
missing in the same Redis life (the session watch reads every held one at least
every 15 s) is dropped too; only one ended in the moments before the restart,
its page not yet closed nor read, may be.
"""

from __future__ import annotations

import asyncio
import json
import logging
import math
from collections import Counter
from dataclasses import dataclass, replace

from redis.asyncio import Redis

from branch.auth.oidc import LoginAttempt
from branch.auth.sessions import Session
from branch.live.epoch import current_epoch
from branch.live.keys import DEFAULT_PREFIX, Keys
from branch.lua import lua_script
from branch.redis_packing import packing
from branch.redis_retry import retrying_options

log = logging.getLogger(__name__)

PUT_SCRIPT = lua_script("branch.live", "put_session")


@dataclass(frozen=True)
class SessionKeys:
    prefix: str = DEFAULT_PREFIX

    def login(self, state: str) -> str:
        return f"{self.prefix}login:{state}"

    def session(self, session_id: str) -> str:
        return f"{self.prefix}session:{session_id}"

    def logins(self, run: str) -> str:
        return f"{self.prefix}logins:{run}"

    @property
    def epoch(self) -> str:
        return Keys(self.prefix).epoch


class RedisSessionStore:
    def __init__(self, url: str, prefix: str = DEFAULT_PREFIX) -> None:
        self.key = SessionKeys(prefix)
        self.redis = packing(Redis.from_url(url, decode_responses=True, **retrying_options()))
        self._put = self.redis.register_script(PUT_SCRIPT)
        # Session id -> its last record read, and how many open pages here stand on it.
        self._held: dict[str, Session] = {}
        self._holds: Counter[str] = Counter()
        # The epoch of the Redis life the held records were read in; None before any read.
        self._epoch: str | None = None
        self._noticing = asyncio.Lock()

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
        # Relative, so the key's life does not depend on this node's clock.
        lifetime = max(1, math.ceil(session.expires_at - session.created_at))
        await self._put(keys=self._keys_of(session), args=[*self._record(session), lifetime * 1000])

    def _keys_of(self, session: Session) -> list[str]:
        return [self.key.session(session.session_id), self.key.logins(session.person.run.format())]

    @staticmethod
    def _record(session: Session) -> tuple[str, str]:
        return json.dumps(session.to_dict()), session.session_id

    async def get_session(self, session_id: str, now: float) -> Session | None:
        key = self.key.session(session_id)
        # Taken before the read: a write-back finishing meanwhile counts as one to re-read after.
        seen = self._epoch
        # One round trip tells both the record and whether Redis lost everything meanwhile.
        raw, epoch = await self.redis.mget([key, self.key.epoch])
        if epoch is None or epoch != seen:
            await self._notice(now)
            if raw is None:  # perhaps one of those written back just now
                raw = await self.redis.get(key)
        if raw is None:
            # Missing in the Redis life it was held in: ended for good (a logout or a
            # revocation on any node), never to be written back.
            self._held.pop(session_id, None)
            return None
        session = Session.from_dict(json.loads(raw))
        if session_id in self._held:
            self._held[session_id] = session
        return None if session.expires_at < now else session

    async def delete_session(self, session_id: str) -> None:
        # Forgotten here first: a restart right after must not bring it back.
        self._held.pop(session_id, None)
        await self.redis.delete(self.key.session(session_id))

    async def end_person(self, run: str) -> list[str]:
        logins = self.key.logins(run)
        found = sorted(str(session_id) for session_id in await self.redis.smembers(logins))
        if not found:
            return []
        for session_id in found:  # forgotten here first, as in delete_session
            self._held.pop(session_id, None)
        # SREM, not DEL: a login made since the read above is not this log-out's.
        async with self.redis.pipeline(transaction=True) as pipe:
            for session_id in found:
                pipe.delete(self.key.session(session_id))
            pipe.srem(logins, *found)
            *deleted, _removed = await pipe.execute()
        return [session_id for session_id, gone in zip(found, deleted, strict=True) if gone]

    async def touch(self, session_id: str, now: float) -> None:
        key = self.key.session(session_id)
        raw = await self.redis.get(key)
        if raw is None:
            return
        touched = replace(Session.from_dict(json.loads(raw)), last_seen=now)
        # XX: a session deleted meanwhile (logout) stays deleted.
        if await self.redis.set(key, json.dumps(touched.to_dict()), xx=True, keepttl=True):
            if session_id in self._held:
                self._held[session_id] = touched

    def hold(self, session: Session) -> None:
        self._held[session.session_id] = session
        self._holds[session.session_id] += 1

    def release(self, session_id: str) -> None:
        self._holds[session_id] -= 1
        if self._holds[session_id] <= 0:
            del self._holds[session_id]
            self._held.pop(session_id, None)

    async def _notice(self, now: float) -> None:
        """The epoch read was not the one remembered: write the held sessions back if Redis lost them."""
        async with self._noticing:  # one write-back per restart, however many reads noticed
            epoch = await current_epoch(self.redis, self.key.epoch)
            lost = self._epoch is not None and epoch != self._epoch
            if lost:
                await self._write_back(now)
            self._epoch = epoch

    async def _write_back(self, now: float) -> None:
        held = [session for session in self._held.values() if session.expires_at > now]
        async with self.redis.pipeline(transaction=False) as pipe:
            for session in held:
                # What was left of its lifetime, never more; NX: a newer record stays.
                # Listed again among its person's logins, which were lost with it.
                left = max(1, math.ceil((session.expires_at - now) * 1000))
                await self._put(
                    keys=self._keys_of(session),
                    args=[*self._record(session), left, "nx"],
                    client=pipe,
                )
            written = await pipe.execute()
        log.warning(
            "Redis restarted empty: %d sessions of this node's open pages written back",
            sum(1 for done in written if done),
        )
