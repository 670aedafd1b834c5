"""A private PostgreSQL cluster on loopback: one per test session, a fresh database per test.

PostgreSQL refuses to run as root, so as root the server programs run as the
``postgres`` user in a folder that user owns. The machine's own server (if
any) is never touched: the cluster listens on an ephemeral port of its own.
"""

from __future__ import annotations

import os
import secrets
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from tests.servers import free_port

MISSING = "PostgreSQL is not installed (Debian package postgresql): run `make test`"


def _bin_dir() -> Path:
    """The newest installed server's programs (Debian keeps one folder per major version)."""
    found = [
        path.parent
        for path in Path("/usr/lib/postgresql").glob("*/bin/initdb")
        if path.parent.parent.name.isdigit()
    ]
    if found:
        return max(found, key=lambda folder: int(folder.parent.name))
    initdb = shutil.which("initdb")
    if initdb is None:
        pytest.fail(MISSING)
    return Path(initdb).parent


@dataclass
class PostgresCluster:
    bin_dir: Path
    folder: Path
    port: int = 0
    running: bool = False
    as_owner: list[str] = field(default_factory=list)  # runuser prefix when we are root
    # CREATE DATABASE takes about half a second: the next test's is made while this one runs.
    _maker: ThreadPoolExecutor = field(default_factory=lambda: ThreadPoolExecutor(1))
    _spare: Future[str] | None = None

    @property
    def data(self) -> Path:
        return self.folder / "data"

    def url(self, database: str) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/{database}"

    def _server(self, program: str, *args: str) -> None:
        command = [*self.as_owner, str(self.bin_dir / program), *args]
        result = subprocess.run(command, capture_output=True, text=True, timeout=60, check=False)
        if result.returncode != 0:
            log = self.folder / "server.log"
            tail = log.read_text(errors="replace")[-2000:] if log.exists() else ""
            pytest.fail(f"{program} {' '.join(args)} failed: {result.stderr.strip()}\n{tail}")

    def _client(self, program: str, *args: str) -> None:
        command = [str(self.bin_dir / program), "-h", "127.0.0.1", "-p", str(self.port)]
        command += ["-U", "postgres", *args]
        subprocess.run(command, capture_output=True, text=True, timeout=60, check=True)

    def start(self) -> None:
        """Start (or restart, on the same port) the server and wait until it accepts connections."""
        self.port = self.port or free_port()
        options = (
            f"-p {self.port} -c listen_addresses=127.0.0.1 "
            f"-c unix_socket_directories={self.folder} "
            # Throwaway data: no need to wait for the disk.
            "-c fsync=off -c full_page_writes=off -c synchronous_commit=off"
        )
        log = str(self.folder / "server.log")
        self._server("pg_ctl", "-D", str(self.data), "-l", log, "-o", options, "-w", "start")
        self.running = True

    def stop(self) -> None:
        """Stop the server as an operator would (`pg_ctl stop -m fast`): connections are cut."""
        self._settle_spare()
        self._server("pg_ctl", "-D", str(self.data), "-m", "fast", "-w", "stop")
        self.running = False

    def _new_database(self) -> str:
        name = f"test_{secrets.token_hex(6)}"
        self._client("createdb", name)
        return name

    def _settle_spare(self) -> str | None:
        """The database made ahead, if it was made (the server may have been stopped)."""
        spare, self._spare = self._spare, None
        try:
            return None if spare is None else spare.result()
        except subprocess.CalledProcessError:
            return None

    def create_database(self) -> str:
        name = self._settle_spare() or self._new_database()
        self._spare = self._maker.submit(self._new_database)
        return name

    def close(self) -> None:
        self._settle_spare()
        self._maker.shutdown()
        if self.running:
            self.stop()

    def drop_database(self, name: str) -> None:
        self._client("dropdb", "--force", name)


@pytest.fixture(scope="session")
def postgres_cluster() -> Iterator[PostgresCluster]:
    """initdb once per session; stopped and removed at the end."""
    # Not under pytest's tmp folders: they are private to root, and the server runs as postgres.
    folder = Path(tempfile.mkdtemp(prefix="branch-postgres-"))
    cluster = PostgresCluster(_bin_dir(), folder)
    if os.geteuid() == 0:
        shutil.chown(folder, "postgres", "postgres")
        cluster.as_owner = ["runuser", "-u", "postgres", "--"]
    try:
        cluster._server(
            "initdb", "-D", str(cluster.data), "-U", "postgres", "-A", "trust", "-E", "UTF8",
            "--locale=C", "--no-sync",
        )  # fmt: skip
        cluster.start()
        yield cluster
    finally:
        cluster.close()
        shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture
def postgres_url(postgres_cluster: PostgresCluster) -> Iterator[str]:
    """A fresh, empty database for this test on the session's cluster."""
    name = postgres_cluster.create_database()
    yield postgres_cluster.url(name)
    if not postgres_cluster.running:  # a fault test left it stopped
        postgres_cluster.start()
    postgres_cluster.drop_database(name)
