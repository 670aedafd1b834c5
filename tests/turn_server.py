"""A real coturn on loopback, started by the tests with the branch's shared-secret scheme."""

from __future__ import annotations

import random
import secrets
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.processes import stop


@dataclass(frozen=True)
class TurnServer:
    port: int
    secret: str

    @property
    def urls(self) -> tuple[str, ...]:
        return (f"turn:127.0.0.1:{self.port}?transport=udp",)


def _free_port() -> int:
    """A port free for both UDP and TCP: coturn listens on both, and a busy TCP side
    (another process's connection on this machine) keeps it from ever starting."""
    for _attempt in range(50):
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
            probe.bind(("127.0.0.1", 0))
            port = int(probe.getsockname()[1])
            with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as stream:
                try:
                    stream.bind(("127.0.0.1", port))
                except OSError:
                    continue
                return port
    pytest.fail("no loopback port free for both UDP and TCP in 50 tries")


@pytest.fixture(scope="session")
def coturn(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TurnServer]:
    binary = shutil.which("turnserver")
    if binary is None:
        pytest.fail("turnserver (Debian package coturn) is not installed: run `make test`")
    port = _free_port()
    # Relay ports from a random window, so parallel runs on one machine rarely meet.
    low = random.randrange(40_000, 60_000, 200)
    secret = secrets.token_hex(16)
    folder: Path = tmp_path_factory.mktemp("coturn")
    config = folder / "turnserver.conf"
    config.write_text(
        "\n".join(
            [
                "listening-ip=127.0.0.1",
                "relay-ip=127.0.0.1",
                f"listening-port={port}",
                f"min-port={low}",
                f"max-port={low + 199}",
                "use-auth-secret",
                f"static-auth-secret={secret}",
                "realm=branch.test",
                # Loopback tests only: a real deployment never relays to loopback.
                "allow-loopback-peers",
                "no-tls",
                "no-dtls",
                "no-cli",
                "fingerprint",
                "simple-log",
                f"log-file={folder / 'turn.log'}",
                f"pidfile={folder / 'turn.pid'}",
            ]
        )
        + "\n"
    )
    process = subprocess.Popen(
        [binary, "-c", str(config), "--no-stdout-log"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.STDOUT,
    )
    try:
        for _attempt in range(100):
            if process.poll() is not None:
                pytest.fail(f"turnserver exited with {process.returncode}; see {folder}")
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
            except OSError:
                time.sleep(0.05)
                continue
            break
        else:
            pytest.fail(f"turnserver did not listen on {port} within 5 s; see {folder}")
        yield TurnServer(port, secret)
    finally:
        stop(process)
