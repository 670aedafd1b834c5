"""Several real branch nodes, each its own `branch serve` process, sharing one Redis.

The nodes are subprocesses so a test can SIGKILL one, as an operator's worst
day would, while the others and the people's pages carry on.
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from branch.tls import CertificatePaths, client_context
from branch.web.client import BranchClient
from tests.conftest import EXECUTIVE_RUN, SECOND_EXECUTIVE_RUN
from tests.servers import free_port
from tests.servers.redis import RedisServer

# Short, so a killed node is noticed in a couple of seconds, and long enough
# that a loaded test machine does not take a living node for dead.
NODE_TIMEOUT_SECONDS = 2
READY_SECONDS = 30.0
BRANCH = Path(sys.executable).with_name("branch")


@dataclass
class Node:
    name: str
    port: int
    folder: Path
    process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"https://localhost:{self.port}"

    @property
    def log(self) -> str:
        path = self.folder / "node.log"
        return path.read_text(errors="replace") if path.exists() else ""

    def kill(self) -> None:
        """SIGKILL: no shutdown, no goodbye to Redis; the others must notice on their own."""
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait(timeout=10)

    def terminate(self) -> None:
        """SIGTERM: the clean stop an operator uses to roll a node."""
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=30)


def _toml(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(_toml(item) for item in value) + "]"
    return '"' + str(value).replace("\\", "\\\\").replace('"', '\\"') + '"'


def node_config(
    node: Node, origins: list[str], certs_dir: str, shared: dict[str, dict[str, Any]]
) -> str:
    top = {
        "mode": "development",
        "host": "127.0.0.1",
        "port": node.port,
        "public_url": node.url,
        "data_dir": str(node.folder / "data"),
        "certs_dir": certs_dir,
        "allowed_origins": origins,
    }
    lines = [f"{key} = {_toml(value)}" for key, value in top.items()]
    for section, values in shared.items():
        lines.append(f"[{section}]")
        lines.extend(f"{key} = {_toml(value)}" for key, value in values.items())
    return "\n".join(lines) + "\n"


class Cluster:
    """Nodes of one deployment: same Redis, same records, same session secret."""

    def __init__(
        self,
        folder: Path,
        certificates: CertificatePaths,
        redis_url: str,
        redis_prefix: str,
        records_url: str,
    ) -> None:
        self.folder = folder
        self.certificates = certificates
        self.redis_url = redis_url
        self.redis_prefix = redis_prefix
        self.records_url = records_url
        self.nodes: list[Node] = []

    def settings(self) -> dict[str, dict[str, Any]]:
        return {
            "oidc": {"dev_login": True},
            "roles": {"executives": [EXECUTIVE_RUN, SECOND_EXECUTIVE_RUN]},
            "session": {"secret": "a shared secret for every node of the test deployment"},
            "service": {"grace_seconds": 60},
            "stores": {
                "live": self.redis_url,
                "live_prefix": self.redis_prefix,
                "records": self.records_url,
                "node_timeout_seconds": NODE_TIMEOUT_SECONDS,
            },
        }

    async def start(self, count: int) -> list[Node]:
        first = len(self.nodes)
        fresh = [
            Node(f"node-{first + index}", free_port(), self.folder / f"node-{first + index}")
            for index in range(count)
        ]
        self.nodes += fresh
        # Every node accepts pages from every node's address, as behind one public name.
        origins = [node.url for node in self.nodes]
        for node in fresh:
            self._spawn(node, origins)
        await asyncio.gather(*(self._ready(node) for node in fresh))
        return fresh

    def _spawn(self, node: Node, origins: list[str]) -> None:
        (node.folder / "data").mkdir(parents=True)
        config = node.folder / "branch.toml"
        certs = str(self.certificates.ca_cert.parent)
        config.write_text(node_config(node, origins, certs, self.settings()))
        environment = {
            key: value for key, value in os.environ.items() if not key.startswith("BRANCH_")
        }
        with (node.folder / "node.log").open("wb") as log:
            node.process = subprocess.Popen(
                [str(BRANCH), "--config", str(config), "serve"],
                stdout=log,
                stderr=subprocess.STDOUT,
                env=environment,
                cwd=node.folder,
            )

    async def _ready(self, node: Node) -> None:
        ssl = client_context(self.certificates.ca_cert)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + READY_SECONDS
        async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(ssl=ssl)) as http:
            while loop.time() < deadline:
                if node.process is not None and node.process.poll() is not None:
                    pytest.fail(f"{node.name} exited with {node.process.returncode}:\n{node.log}")
                try:
                    async with http.get(f"{node.url}/readyz") as response:
                        if response.status == 200:
                            return
                except aiohttp.ClientError:
                    pass
                await asyncio.sleep(0.1)
        pytest.fail(f"{node.name} was not ready within {READY_SECONDS:g} s:\n{node.log}")

    def client(self, node: Node) -> BranchClient:
        return BranchClient(node.url, ca_file=self.certificates.ca_cert)

    def stop_all(self) -> None:
        # All at once: each node's clean stop waits on its own pages' goodbyes.
        running = [node.process for node in self.nodes if node.process is not None]
        for process in running:
            if process.poll() is None:
                process.terminate()
        for process in running:
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


StartCluster = Callable[[int], Awaitable[list[Node]]]


async def move(client: BranchClient, node: Node) -> dict[str, Any]:
    """The page reconnects and lands on ``node`` (as behind a load balancer); returns the welcome."""
    await client.disconnect()
    client.url = node.url
    client.origin = node.url
    return await client.connect()


@pytest.fixture
async def cluster(
    tmp_path: Path,
    certificates: CertificatePaths,
    redis_server: RedisServer,
    redis_prefix: str,
    postgres_url: str,
) -> AsyncIterator[Cluster]:
    """Nodes sharing the session's Redis (under a prefix of the test's own) and a fresh database."""
    running = Cluster(tmp_path, certificates, redis_server.url, redis_prefix, postgres_url)
    try:
        yield running
    finally:
        running.stop_all()
        # Shown by pytest when the test failed: what each node said.
        for node in running.nodes:
            print(f"----- {node.name} ({node.url})\n{node.log}")
