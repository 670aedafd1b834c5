"""A script on a connection of its own: answers as redis-py's would, through restarts and cancels."""

from __future__ import annotations

import asyncio
import errno
import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from redis.asyncio import Redis
from redis.exceptions import AuthenticationError, ConnectionError, ResponseError, TimeoutError

from branch.live import script_connection
from branch.live.script_connection import ScriptConnection
from branch.redis_packing import packed
from branch.tls import create_certificates
from tests.servers import free_port
from tests.servers.redis import RedisServer, StartRedis

ECHO = "return {KEYS[1], ARGV[1], #ARGV}"
# Busy for ARGV[1] ms inside Redis, then answers ARGV[2].
SLOW = """local t = redis.call('TIME')
local start = t[1] * 1000000 + t[2]
repeat
  t = redis.call('TIME')
until t[1] * 1000000 + t[2] - start >= tonumber(ARGV[1]) * 1000
return ARGV[2]"""
# As SLOW, but only the first time KEYS[1] is named.
SLOW_ONCE = """if redis.call('SET', KEYS[1], 1, 'NX') then
  local t = redis.call('TIME')
  local start = t[1] * 1000000 + t[2]
  repeat
    t = redis.call('TIME')
  until t[1] * 1000000 + t[2] - start >= tonumber(ARGV[1]) * 1000
end
return ARGV[2]"""
PUT = "redis.call('SET', KEYS[1], ARGV[1]) return redis.call('GET', KEYS[1])"


def live_client(url: str) -> Redis:
    """A client as the live store makes it (decoded replies, hiredis packer)."""
    client = Redis.from_url(url, decode_responses=True, socket_connect_timeout=5)
    pool = client.connection_pool
    pool.connection_class = packed(pool.connection_class)
    return client


@pytest.fixture
async def opened(redis_server: RedisServer) -> AsyncIterator[Redis]:
    client = live_client(redis_server.url)
    yield client
    await client.aclose()


async def test_answers_as_the_client_s_own_script_call(opened: Redis) -> None:
    call = ScriptConnection(opened, ECHO)
    assert await call(keys=["k"], args=["é", 2.5]) == ["k", "é", 2]
    assert await call(keys=["k"], args=["a"]) == await opened.register_script(ECHO)(
        keys=["k"], args=["a"]
    )
    failing = ScriptConnection(opened, "return redis.error_reply('step: no')")
    with pytest.raises(ResponseError) as raised:
        await failing(keys=[], args=[])
    assert str(raised.value) == "step: no"
    assert await call(keys=["k"], args=["z"]) == ["k", "z", 1], "an error leaves it usable"
    # False is a whole reply in RESP3, not the parser's "more bytes wanted".
    falsy = ScriptConnection(opened, "redis.setresp(3) return false")
    assert await falsy(keys=[], args=[]) is False
    for closing in (call, failing, falsy):
        await closing.close()


async def test_loads_the_script_again_when_redis_forgot_it(opened: Redis) -> None:
    call = ScriptConnection(opened, ECHO)
    assert await call(keys=["k"], args=["x"]) == ["k", "x", 1]
    await opened.script_flush()
    assert await call(keys=["k"], args=["y"]) == ["k", "y", 1]
    await call.close()


async def test_a_redis_restarted_is_reconnected_to(start_redis: StartRedis) -> None:
    server = start_redis()
    client = live_client(server.url)
    call = ScriptConnection(client, ECHO)
    assert await call(keys=["k"], args=["x"]) == ["k", "x", 1]
    server.stop()
    server.start()  # the same port, empty: no connection, no script
    assert await call(keys=["k"], args=["y"]) == ["k", "y", 1]
    await call.close()
    await client.aclose()


async def connections_made(client: Redis) -> int:
    """How many connections the server has taken so far."""
    return int((await client.info("stats"))["total_connections_received"])


async def test_a_cancelled_call_leaves_no_reply_for_the_next(opened: Redis) -> None:
    call = ScriptConnection(opened, SLOW)
    before = await connections_made(opened)
    waiting = asyncio.create_task(call(keys=[], args=[80, "late"]))
    await asyncio.sleep(0.03)  # written, its reply not yet there
    waiting.cancel()
    with pytest.raises(asyncio.CancelledError):
        await waiting
    assert await call(keys=[], args=[0, "mine"]) == "mine"
    assert await connections_made(opened) >= before + 2, "the cancelled call's one was closed"
    await call.close()


async def test_overlapping_calls_each_get_their_own_reply(opened: Redis) -> None:
    call = ScriptConnection(opened, ECHO)
    replies = await asyncio.gather(*(call(keys=[f"k{n}"], args=[n]) for n in range(20)))
    assert replies == [[f"k{n}", str(n), 1] for n in range(20)]
    await call.close()


async def test_a_redis_killed_mid_call_gets_the_call_again_once_back(
    start_redis: StartRedis, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Pauses long enough for a new redis-server to come up on a loaded machine.
    monkeypatch.setattr(script_connection, "FIRST_PAUSE", 0.25)
    server = start_redis()
    client = live_client(server.url)
    call = ScriptConnection(client, SLOW)
    waiting = asyncio.create_task(call(keys=[], args=[300, "again"]))
    await asyncio.sleep(0.1)  # written, Redis busy with it
    server.kill()  # no reply: the connection drops under the call
    await asyncio.to_thread(server.start)  # the same port, empty: no script either
    assert await waiting == "again"
    assert await call(keys=[], args=[0, "next"]) == "next"
    await call.close()
    await client.aclose()


async def test_a_call_past_the_socket_timeout_is_made_again_on_a_new_connection(
    redis_server: RedisServer, redis_prefix: str
) -> None:
    client = live_client(f"{redis_server.url}?socket_timeout=0.1")
    call = ScriptConnection(client, SLOW_ONCE)
    before = await connections_made(client)
    started = time.monotonic()
    # Busy 0.3 s the first time: that attempt times out, the next answers.
    assert await call(keys=[f"{redis_prefix}once"], args=[300, "first"]) == "first"
    assert time.monotonic() - started >= 0.1
    assert await call(keys=[f"{redis_prefix}twice"], args=[0, "second"]) == "second"
    assert await connections_made(client) >= before + 2, "the timed-out one was closed"
    await call.close()
    await client.aclose()


async def test_a_call_always_past_the_socket_timeout_raises_redis_py_s_timeout(
    redis_server: RedisServer,
) -> None:
    client = live_client(f"{redis_server.url}?socket_timeout=0.05")
    call = ScriptConnection(client, SLOW)
    with pytest.raises(TimeoutError) as raised:
        await call(keys=[], args=[100, "late"])
    assert str(raised.value) == f"Timeout reading from 127.0.0.1:{redis_server.port}"
    # Every attempt's late reply went with its connection: this one gets its own.
    assert await call(keys=[], args=[0, "mine"]) == "mine"
    await call.close()
    await client.aclose()


async def test_no_redis_there_raises_redis_py_s_connection_error() -> None:
    port = free_port()
    client = live_client(f"redis://127.0.0.1:{port}/0")
    call = ScriptConnection(client, ECHO)
    with pytest.raises(ConnectionError) as raised:
        await call(keys=["k"], args=["x"])
    assert str(raised.value) == (
        f"Error {errno.ECONNREFUSED} connecting to 127.0.0.1:{port}. Connect call failed ('127.0.0.1', {port})."
    )
    await call.close()
    await client.aclose()


async def test_a_unix_socket_url_is_called_on_that_socket(
    start_redis: StartRedis, tmp_path: Path
) -> None:
    path = tmp_path / "redis.sock"
    start_redis("--unixsocket", str(path), "--unixsocketperm", "700")
    client = live_client(f"unix://{path}?db=2")
    call = ScriptConnection(client, PUT)
    assert await call(keys=["k"], args=["over the socket"]) == "over the socket"
    assert await client.get("k") == "over the socket", "db 2, as the URL says"
    other = live_client(f"unix://{path}?db=0")
    assert await other.get("k") is None
    await call.close()
    await client.aclose()
    await other.aclose()


async def test_the_url_s_user_password_and_database_are_used(start_redis: StartRedis) -> None:
    server = start_redis(
        "--user", "default", "off", "--user", "eva", "on", ">s3cret", "~*", "+@all"
    )
    client = live_client(f"redis://eva:s3cret@127.0.0.1:{server.port}/5")
    call = ScriptConnection(client, PUT)
    assert await call(keys=["k"], args=["in five"]) == "in five"
    assert await client.get("k") == "in five"
    other = live_client(f"redis://eva:s3cret@127.0.0.1:{server.port}/0")
    assert await other.get("k") is None, "not in database 0"
    wrong = live_client(f"redis://eva:wrong@127.0.0.1:{server.port}/5")
    refused = ScriptConnection(wrong, PUT)
    with pytest.raises(AuthenticationError):
        await refused(keys=["k"], args=["never"])
    assert await client.get("k") == "in five"
    for closing in (call, refused):
        await closing.close()
    for opened in (client, other, wrong):
        await opened.aclose()


async def test_a_rediss_url_is_called_over_tls(start_redis: StartRedis, tmp_path: Path) -> None:
    certificates = create_certificates(tmp_path / "certs")
    tls_port = free_port()
    tls = ["--tls-port", str(tls_port), "--tls-auth-clients", "no"]
    tls += ["--tls-cert-file", str(certificates.server_cert)]
    tls += ["--tls-key-file", str(certificates.server_key)]
    tls += ["--tls-ca-cert-file", str(certificates.ca_cert)]
    start_redis(*tls)
    url = f"rediss://localhost:{tls_port}/0?ssl_ca_certs={certificates.ca_cert}"
    client = live_client(url)
    call = ScriptConnection(client, ECHO)
    assert await call(keys=["k"], args=["sealed"]) == ["k", "sealed", 1]
    await call.close()
    await client.aclose()
    # The CA checked: a server this client cannot trust is refused.
    untrusting = live_client(f"rediss://localhost:{tls_port}/0")
    refused = ScriptConnection(untrusting, ECHO)
    with pytest.raises(ConnectionError) as raised:
        await refused(keys=["k"], args=["x"])
    assert "CERTIFICATE_VERIFY_FAILED" in str(raised.value)
    await refused.close()
    await untrusting.aclose()


async def test_a_call_opening_its_link_as_it_is_closed_leaves_no_connection(opened: Redis) -> None:
    """Closed while a call connects: the link that call opens is closed, not left to leak."""
    call = ScriptConnection(opened, ECHO)
    before = len(await opened.client_list())
    opening = asyncio.create_task(call(keys=["k"], args=["x"]))
    await asyncio.sleep(0)  # under way: connecting
    await call.close()
    with pytest.raises(ConnectionError, match="closed"):
        await opening
    with pytest.raises(ConnectionError, match="closed"):
        await call(keys=["k"], args=["y"])  # and no later call opens one either
    await asyncio.sleep(0.05)  # the server sees the close
    assert len(await opened.client_list()) == before
