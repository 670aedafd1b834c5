"""Pending logins and sessions: the same scenarios on memory and on a real Redis."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import replace

import pytest

from branch.auth.identity import Person, Role
from branch.auth.oidc import new_login_attempt
from branch.auth.run import Run
from branch.auth.sessions import Session
from branch.live.keys import DEFAULT_PREFIX
from branch.live.redis_sessions import RedisSessionStore
from branch.live.sessions import MemorySessionStore, SessionStore, open_session_store
from tests.servers.redis import RedisServer, StartRedis

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


async def test_ending_a_person_ends_every_login_of_theirs_and_only_those(
    store: SessionStore,
) -> None:
    other = Person(Run.parse("11.111.111-1"), ("Eva",), ("Díaz",))
    mine = [Session(f"mine-{n}", PERSON, Role.CITIZEN, 100.0, 10_000.0) for n in range(3)]
    theirs = Session("theirs", other, Role.EXECUTIVE, 100.0, 10_000.0)
    for session in (*mine, theirs):
        await store.put_session(session)
    store.hold(mine[0])  # a page is open on one of them
    await store.delete_session("mine-2")  # logged out on its own before

    assert await store.end_person(PERSON.run.format()) == ["mine-0", "mine-1"]
    for session in mine:
        assert await store.get_session(session.session_id, 150.0) is None
    assert await store.get_session("theirs", 150.0) == theirs
    # A login after the log-out is not the log-out's; ending nobody ends nothing.
    later = Session("later", PERSON, Role.CITIZEN, 200.0, 10_000.0)
    await store.put_session(later)
    assert await store.get_session("later", 250.0) == later
    assert await store.end_person("9.999.999-3") == []
    assert await store.end_person(PERSON.run.format()) == ["later"]
    store.release("mine-0")


async def test_the_list_of_a_persons_logins_lives_as_long_as_the_longest(
    redis_server: RedisServer, redis_prefix: str
) -> None:
    store = RedisSessionStore(redis_server.url, redis_prefix)
    try:
        logins = f"{redis_prefix}logins:{PERSON.run.format()}"
        await store.put_session(Session("long", PERSON, Role.CITIZEN, 100.0, 7300.0))
        assert 7_100_000 < await store.redis.pttl(logins) <= 7_200_000
        await store.put_session(Session("short", PERSON, Role.CITIZEN, 100.0, 400.0))
        assert 7_100_000 < await store.redis.pttl(logins) <= 7_200_000
        assert await store.redis.smembers(logins) == {"long", "short"}
    finally:
        await store.close()


def test_the_store_follows_the_live_state(redis_server: RedisServer) -> None:
    assert isinstance(open_session_store("memory://"), MemorySessionStore)
    assert isinstance(open_session_store(redis_server.url), RedisSessionStore)


async def test_a_held_session_deleted_stays_deleted(store: SessionStore) -> None:
    session = Session("s3", PERSON, Role.CITIZEN, 100.0, 10_000.0)
    await store.put_session(session)
    store.hold(session)  # a page is open on it
    assert await store.get_session("s3", 150.0) == session
    await store.delete_session("s3")  # logged out
    assert await store.get_session("s3", 160.0) is None
    await store.touch("s3", 170.0)
    assert await store.get_session("s3", 180.0) is None
    store.release("s3")
    store.release("s3")  # the page's close after the logout forgot it already: no error


async def test_the_sessions_of_open_pages_outlive_redis_restarting_empty(
    start_redis: StartRedis,
) -> None:
    server = start_redis()
    here, there = RedisSessionStore(server.url), RedisSessionStore(server.url)
    try:
        held = Session("held", PERSON, Role.EXECUTIVE, 100.0, 1100.0)
        twice = Session("twice", PERSON, Role.CITIZEN, 100.0, 1100.0)
        ended = Session("ended", PERSON, Role.CITIZEN, 100.0, 400.0)
        loose = Session("loose", PERSON, Role.CITIZEN, 100.0, 1100.0)
        logged_out = Session("logged-out", PERSON, Role.CITIZEN, 100.0, 1100.0)
        for session in (held, twice, ended, loose, logged_out):
            await here.put_session(session)
            assert await here.get_session(session.session_id, 200.0) == session
        for session in (held, twice, twice, ended, logged_out):
            here.hold(session)
        here.release("twice")  # one of its two pages closed; the other is still open
        await here.touch("held", 300.0)
        await there.delete_session("logged-out")  # on another node: its page here is closing
        assert await here.get_session("logged-out", 300.0) is None

        server.restart_empty()
        # A login after the restart, read first by another node: nothing to write back there.
        fresh = Session("fresh", PERSON, Role.CITIZEN, 500.0, 1500.0)
        await there.put_session(fresh)
        assert await there.get_session("fresh", 500.0) == fresh
        # The first read here that notices the restart writes back what its pages hold.
        back = await here.get_session("held", 500.0)
        assert back == replace(held, last_seen=300.0)
        assert 0 < await here.redis.pttl(f"{DEFAULT_PREFIX}session:held") <= 600_000
        assert await there.get_session("twice", 500.0) == twice
        # Past its lifetime, never held, or logged out before the restart: not written back.
        for gone in ("ended", "loose", "logged-out"):
            assert await there.get_session(gone, 500.0) is None
            assert await here.get_session(gone, 500.0) is None
        assert await here.get_session("fresh", 500.0) == fresh
        # Listed again among the person's logins: a supervisor's log-out still ends them.
        assert await there.end_person(PERSON.run.format()) == ["fresh", "held", "twice"]
    finally:
        await here.close()
        await there.close()


async def test_a_newer_record_is_not_overwritten_by_a_written_back_one(
    start_redis: StartRedis,
) -> None:
    server = start_redis()
    here, there = RedisSessionStore(server.url), RedisSessionStore(server.url)
    try:
        session = Session("s4", PERSON, Role.CITIZEN, 100.0, 1100.0, last_seen=150.0)
        await here.put_session(session)
        assert await here.get_session("s4", 200.0) == session
        here.hold(session)
        server.restart_empty()
        # Another node wrote it back first, with a later activity: that record stays.
        newer = replace(session, last_seen=450.0)
        await there.put_session(newer)
        assert await here.get_session("s4", 500.0) == newer
        # Many reads noticing at once (pages' requests): each finds its session back.
        many = [Session(f"m{n}", PERSON, Role.CITIZEN, 100.0, 1100.0) for n in range(20)]
        for one in many:
            await here.put_session(one)
            here.hold(one)
        server.restart_empty()
        assert await there.get_session("s4", 500.0) is None  # that node sets the new epoch
        found = await asyncio.gather(*(here.get_session(one.session_id, 500.0) for one in many))
        assert found == many
        # Released, it is no longer this node's to keep: a second restart loses it.
        here.release("s4")
        server.restart_empty()
        assert await here.get_session("s4", 600.0) is None
    finally:
        await here.close()
        await there.close()
