"""Pending logins and sessions: the same scenarios on memory and on a real Redis."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from branch.auth.identity import Person, Role
from branch.auth.oidc import new_login_attempt
from branch.auth.run import Run
from branch.auth.sessions import Session
from branch.live.redis_sessions import RedisSessionStore
from branch.live.sessions import MemorySessionStore, SessionStore, open_session_store
from tests.servers.redis import RedisServer

PERSON = Person(Run.parse("44.444.444-4"), ("Ana",), ("Rojas",))


@pytest.fixture(params=["memory", "redis"])
async def store(request: pytest.FixtureRequest) -> AsyncIterator[SessionStore]:
    if request.param == "memory":
        memory = MemorySessionStore()
        yield memory
        await memory.close()
        return
    server: RedisServer = request.getfixturevalue("redis_server")
    redis = RedisSessionStore(server.url, request.getfixturevalue("redis_prefix"))
    yield redis
    await redis.close()


async def test_a_login_attempt_is_taken_once_and_not_after_it_expired(
    store: SessionStore,
) -> None:
    attempt = new_login_attempt("/citizen", 100.0)
    await store.put_login_attempt(attempt, ttl=600)
    assert await store.take_login_attempt(attempt.state, 200.0) == attempt
    assert await store.take_login_attempt(attempt.state, 200.0) is None
    late = new_login_attempt("/", 100.0)
    await store.put_login_attempt(late, ttl=600)
    assert await store.take_login_attempt(late.state, 701.0) is None
    assert await store.take_login_attempt("never-issued", 200.0) is None


async def test_sessions_expire_touch_and_delete(store: SessionStore) -> None:
    session = Session("s1", PERSON, Role.CITIZEN, 100.0, 200.0)
    await store.put_session(session)
    assert await store.get_session("s1", 150.0) == session
    assert await store.get_session("s1", 201.0) is None
    await store.touch("s1", 160.0)
    touched = await store.get_session("s1", 170.0)
    assert touched is not None and touched.last_seen == 160.0
    await store.delete_session("s1")
    assert await store.get_session("s1", 150.0) is None
    # Touching a session that ended does not bring it back.
    await store.touch("s1", 180.0)
    assert await store.get_session("s1", 180.0) is None


async def test_a_session_written_by_one_node_is_read_by_another(
    redis_server: RedisServer, redis_prefix: str
) -> None:
    first = RedisSessionStore(redis_server.url, redis_prefix)
    second = RedisSessionStore(redis_server.url, redis_prefix)
    try:
        session = Session("s2", PERSON, Role.EXECUTIVE, 100.0, 28_900.0, "hint", 120.0)
        await first.put_session(session)
        assert await second.get_session("s2", 130.0) == session
        assert 0 < await second.redis.ttl(f"{redis_prefix}session:s2") <= 28_800
        attempt = new_login_attempt("/executive", 100.0)
        await first.put_login_attempt(attempt, ttl=600)
        assert await second.take_login_attempt(attempt.state, 101.0) == attempt
        assert await first.take_login_attempt(attempt.state, 101.0) is None
    finally:
        await first.close()
        await second.close()


def test_the_store_follows_the_live_state(redis_server: RedisServer) -> None:
    assert isinstance(open_session_store("memory://"), MemorySessionStore)
    assert isinstance(open_session_store(redis_server.url), RedisSessionStore)
