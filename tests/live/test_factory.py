"""Choosing the live store from config, and failing loudly when Redis is not there."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from branch.core.floor import FloorRules
from branch.errors import ConfigError, StoreUnreachable
from branch.live.factory import open_live_store
from branch.live.memory import MemoryLiveStore
from branch.live.redisstore import RedisLiveStore
from tests.servers import free_port
from tests.servers.redis import RedisServer


def test_the_url_picks_the_implementation(redis_server: RedisServer) -> None:
    assert isinstance(open_live_store("memory://", FloorRules()), MemoryLiveStore)
    store = open_live_store(redis_server.url, FloorRules(), "{x}:")
    assert isinstance(store, RedisLiveStore) and store.keys.prefix == "{x}:"


def test_an_unsupported_url_is_refused() -> None:
    with pytest.raises(ConfigError) as raised:
        open_live_store("mongodb://db", FloorRules())
    assert str(raised.value) == (
        "stores.live: unsupported URL 'mongodb://db' (use memory:// or redis://host:port/db)"
    )


async def test_unreachable_redis_names_the_url_without_the_password() -> None:
    port = free_port()
    store = open_live_store(f"redis://:hunter2@127.0.0.1:{port}/0", FloorRules())
    with pytest.raises(StoreUnreachable) as raised:
        await store.open()
    assert str(raised.value) == (
        f"stores.live: cannot reach Redis at redis://:***@127.0.0.1:{port}/0: "
        f"Error 111 connecting to 127.0.0.1:{port}. Connect call failed ('127.0.0.1', {port})."
    )


def test_serve_exits_non_zero_when_redis_is_unreachable(tmp_path: Path) -> None:
    port = free_port()
    env = {
        **os.environ,
        "BRANCH_STORES_LIVE": f"redis://127.0.0.1:{port}/0",
        "BRANCH_DATA_DIR": str(tmp_path / "data"),
        "BRANCH_CERTS_DIR": str(tmp_path / "certs"),
        "BRANCH_PORT": str(free_port()),
        "BRANCH_HOST": "127.0.0.1",
    }
    done = subprocess.run(
        [sys.executable, "-m", "branch", "serve", "--dev"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 3, done.stderr
    assert f"branch: stores.live: cannot reach Redis at redis://127.0.0.1:{port}/0: " in done.stderr
