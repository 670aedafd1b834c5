"""Shared fixtures: a real branch node over HTTPS on an ephemeral loopback port."""

from __future__ import annotations

import socket
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web

from branch.config import Settings, load_settings
from branch.hub import Hub
from branch.records.sqlite import SqliteRecordStore
from branch.tls import CertificatePaths, create_certificates, server_context
from branch.web.app import create_app
from tests.servers.postgres import postgres_cluster, postgres_url
from tests.servers.redis import redis_prefix, redis_server, start_redis

# Fixtures for every test.
__all__ = ["postgres_cluster", "postgres_url", "redis_prefix", "redis_server", "start_redis"]

CITIZEN_RUN = "44.444.444-4"
EXECUTIVE_RUN = "11.111.111-1"
SECOND_EXECUTIVE_RUN = "12.345.678-5"
SUPERVISOR_RUN = "22.222.222-2"
AUDITOR_RUN = "33.333.333-3"
ADMIN_RUN = "55.555.555-5"


@dataclass
class RunningBranch:
    settings: Settings
    url: str
    ca_path: Path
    app: web.Application
    runner: web.AppRunner

    async def stop(self) -> None:
        await self.runner.cleanup()


StartBranch = Callable[..., Awaitable[RunningBranch]]


@pytest.fixture(scope="session")
def certificates(tmp_path_factory: pytest.TempPathFactory) -> CertificatePaths:
    return create_certificates(tmp_path_factory.mktemp("certs"))


@pytest.fixture
async def start_branch(
    tmp_path: Path, certificates: CertificatePaths
) -> AsyncIterator[StartBranch]:
    """Factory: start a development-mode node; every node is stopped after the test."""
    running: list[RunningBranch] = []

    async def start(host: str = "127.0.0.1", **overrides: Any) -> RunningBranch:
        """``host``: the address to listen on; pages then open the node at that address."""
        listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind((host, 0))
        port = listener.getsockname()[1]
        # The node checks its own development login over HTTPS: the certificate must name
        # the address it is opened at.
        tls = (
            certificates
            if host == "127.0.0.1"
            else create_certificates(tmp_path / f"certs-{host}", [host])
        )
        options: dict[str, Any] = {
            "mode": "development",
            "host": host,
            "port": port,
            "public_url": f"https://{'localhost' if host == '127.0.0.1' else host}:{port}",
            "data_dir": str(tmp_path / f"data-{port}"),
            "certs_dir": str(tls.ca_cert.parent),
            "roles_executives": (EXECUTIVE_RUN, SECOND_EXECUTIVE_RUN),
            "roles_supervisors": (SUPERVISOR_RUN,),
            "roles_auditors": (AUDITOR_RUN,),
            "roles_admins": (ADMIN_RUN,),
        }
        options.update(overrides)
        settings = load_settings({}, **options)
        app = create_app(settings)
        runner = web.AppRunner(app, handle_signals=False)
        await runner.setup()
        site = web.SockSite(
            runner,
            listener,
            ssl_context=server_context(tls.server_cert, tls.server_key),
        )
        await site.start()
        node = RunningBranch(settings, settings.base_url, tls.ca_cert, app, runner)
        running.append(node)
        return node

    yield start
    for node in reversed(running):
        await node.stop()


@pytest.fixture
async def records(tmp_path: Path) -> AsyncIterator[SqliteRecordStore]:
    """An open SQLite record store in the test's own directory."""
    store = SqliteRecordStore(tmp_path / "records.sqlite3")
    await store.open()
    yield store
    await store.close()


@pytest.fixture
def hub() -> Hub:
    return Hub()
