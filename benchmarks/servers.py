"""The servers a benchmark starts: the branch, the raw relay, PeerJS and redis-server.

All on 127.0.0.1 and ephemeral ports, each in its own process so its CPU time
and memory can be read from /proc. The branch runs with plain HTTP (as behind
a TLS-terminating proxy) so that it carries no more transport work than the
baselines, and with rate limits raised for the load (never the defaults).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from benchmarks.harness import ROOT, BenchError, Process, free_port
from branch.auth.run import Run, compute_dv

PEERJS = ROOT / "benchmarks" / "peerjs"
FIRST_EXECUTIVE = 20_000_000
FIRST_CITIZEN = 30_000_000
# Enough for the load, far from the defaults a deployment runs with.
LOAD_LIMITS = """
[limits]
messages_per_second = 1000000
message_burst = 1000000
logins_per_minute = 1000000
joins_per_hour = 10000000
"""


def run_of(number: int) -> str:
    return Run(number, compute_dv(number)).format()


def executive_runs(count: int) -> list[str]:
    return [run_of(FIRST_EXECUTIVE + index) for index in range(count)]


def citizen_runs(count: int, start: int = 0) -> list[str]:
    return [run_of(FIRST_CITIZEN + start + index) for index in range(count)]


@dataclass
class Started:
    process: Process
    port: int
    url: str
    seconds_to_listen: float
    folder: Path | None = None  # the server's own data, removed when it stops

    def stop(self) -> None:
        self.process.stop()
        if self.folder is not None:
            shutil.rmtree(self.folder, ignore_errors=True)


def branch_config(
    folder: Path,
    port: int,
    executives: int,
    live: str,
    extra: str = "",
    *,
    live_prefix: str = "",
    records: str = "",
) -> Path:
    """A development-mode config for one benchmark node (its own live prefix unless given)."""
    runs = ", ".join(f'"{run}"' for run in executive_runs(executives))
    stores = f'live_prefix = "{live_prefix or f"{{bench-{port}}}:"}"\n'
    if records:
        stores += f'records = "{records}"\n'
    text = f"""mode = "development"
host = "127.0.0.1"
port = {port}
public_url = "http://127.0.0.1:{port}"
tls = false
data_dir = "{folder / f"data-{port}"}"
certs_dir = "{folder / "certs"}"
{extra}
[roles]
executives = [{runs}]

[stores]
live = "{live}"
{stores}{LOAD_LIMITS}"""
    path = folder / f"branch-{port}.toml"
    path.write_text(text)
    return path


def start_branch(
    folder: Path,
    *,
    executives: int = 50,
    live: str = "memory://",
    extra: str = "",
    live_prefix: str = "",
    records: str = "",
) -> Started:
    """One node; nodes given the same Redis, prefix, records and session secret form one deployment."""
    port = free_port()
    config = branch_config(
        folder, port, executives, live, extra, live_prefix=live_prefix, records=records
    )
    process = Process(
        f"branch on {port}",
        [sys.executable, "-m", "branch", "--config", str(config), "serve"],
        folder / f"branch-{port}.log",
        {},
    )
    seconds = process.wait_listening(port)
    return Started(process, port, f"http://127.0.0.1:{port}", seconds)


def start_raw(folder: Path) -> Started:
    port = free_port()
    process = Process(
        f"raw relay on {port}",
        [sys.executable, "-m", "benchmarks.raw_relay", str(port)],
        folder / f"raw-{port}.log",
        {},
    )
    seconds = process.wait_listening(port)
    return Started(process, port, f"ws://127.0.0.1:{port}/ws", seconds)


def start_peerjs(folder: Path, limit: int = 20_000) -> Started:
    node = shutil.which("node")
    if node is None or not (PEERJS / "node_modules" / "peer").exists():
        raise BenchError("PeerJS is not installed: run `make bench` (it runs npm ci first)")
    port = free_port()
    process = Process(
        f"peerjs on {port}",
        [node, str(PEERJS / "server.js"), str(port), str(limit)],
        folder / f"peerjs-{port}.log",
        {},
    )
    seconds = process.wait_listening(port)
    return Started(process, port, f"ws://127.0.0.1:{port}/peerjs", seconds)


def start_redis(folder: Path) -> Started:
    binary = shutil.which("redis-server")
    if binary is None:
        raise BenchError("redis-server is not installed (Debian package redis-server)")
    port = free_port()
    command = [binary, "--bind", "127.0.0.1", "--port", str(port), "--save", ""]
    command += ["--appendonly", "no", "--dir", str(folder), "--protected-mode", "yes"]
    process = Process(f"redis-server on {port}", command, folder / f"redis-{port}.log", {})
    seconds = process.wait_listening(port)
    time.sleep(0.05)
    return Started(process, port, f"redis://127.0.0.1:{port}/0", seconds)


def start_postgres(folder: Path) -> Started:
    """A PostgreSQL server of its own, durable as in production (fsync and synchronous commit on)."""
    found = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"), key=lambda p: p.parts[-3])
    if not found:
        raise BenchError("PostgreSQL is not installed (Debian package postgresql)")
    bin_dir = found[-1].parent
    data = Path(tempfile.mkdtemp(prefix="branch-bench-pg-"))
    owner: list[str] = []
    if os.geteuid() == 0:  # the server refuses to run as root
        shutil.chown(data, "postgres", "postgres")
        owner = ["runuser", "-u", "postgres", "--"]
    command = [*owner, str(bin_dir / "initdb"), "-D", str(data / "db"), "-U", "postgres"]
    subprocess.run([*command, "-A", "trust", "-E", "UTF8", "--locale=C"], check=True,
                   capture_output=True)  # fmt: skip
    port = free_port()
    process = Process(
        f"postgres on {port}",
        [*owner, str(bin_dir / "postgres"), "-D", str(data / "db"), "-p", str(port),
         "-c", "listen_addresses=127.0.0.1", "-c", f"unix_socket_directories={data}"],
        folder / f"postgres-{port}.log",
        {},
    )  # fmt: skip
    try:
        seconds = process.wait_listening(port)
    except BenchError:
        shutil.rmtree(data, ignore_errors=True)
        raise
    time.sleep(0.5)  # listening comes a moment before accepting logins
    return Started(process, port, f"postgresql://postgres@127.0.0.1:{port}/postgres", seconds, data)
