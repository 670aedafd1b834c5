"""The benchmark harness: child processes, rounds in alternation, medians, the ratio table.

Every scenario measures the branch and its baselines in the same run, one
round of each in turn (the order flips every round), because the machines are
shared and noisy: only ratios of medians mean much, absolute figures are
context. Servers and load clients are separate processes on loopback; a load
client speaks line-delimited JSON on stdin/stdout (`ready`, then one reply per
`round` request) so its setup (logins, pairing) happens once, outside the
measured rounds.
"""

from __future__ import annotations

import json
import os
import platform
import resource
import shutil
import socket
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from importlib import metadata
from pathlib import Path
from typing import IO, Any

ROOT = Path(__file__).resolve().parent.parent
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
PAGE_BYTES = os.sysconf("SC_PAGE_SIZE")


class BenchError(Exception):
    """A benchmark could not run; the message names the process and what it said."""


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _more_files() -> None:
    # Thousands of waiting sockets need more descriptors than the usual soft limit.
    _soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS


def rss_bytes(pid: int) -> int:
    """Resident memory of a process now."""
    return int(Path(f"/proc/{pid}/statm").read_text().split()[1]) * PAGE_BYTES


class Process:
    """A child process on loopback, stopped for sure when the benchmark ends."""

    def __init__(self, name: str, command: Sequence[str], log: Path, env: dict[str, str]) -> None:
        self.name = name
        self.log = log
        with log.open("ab") as out:
            self.popen: subprocess.Popen[bytes] = subprocess.Popen(
                list(command),
                stdout=out,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                env={**os.environ, **env},
                cwd=ROOT,
                preexec_fn=_more_files,
            )

    @property
    def pid(self) -> int:
        return self.popen.pid

    def tail(self) -> str:
        return self.log.read_text(errors="replace")[-1500:]

    def alive(self) -> None:
        if self.popen.poll() is not None:
            raise BenchError(f"{self.name} exited with {self.popen.returncode}:\n{self.tail()}")

    def wait_listening(self, port: int, timeout: float = 60.0) -> float:
        """Seconds until the port accepts connections; a process that never does is stopped."""
        started = time.monotonic()
        try:
            while time.monotonic() - started < timeout:
                self.alive()
                try:
                    socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
                    return time.monotonic() - started
                except OSError:
                    time.sleep(0.01)
        except BaseException:
            self.stop()
            raise
        self.stop()
        raise BenchError(
            f"{self.name} did not listen on {port} within {timeout:g} s:\n{self.tail()}"
        )

    def cpu(self) -> float:
        return cpu_seconds(self.pid)

    def rss(self) -> int:
        return rss_bytes(self.pid)

    def stop(self) -> None:
        if self.popen.poll() is None:
            self.popen.terminate()
            try:
                self.popen.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.popen.kill()
                self.popen.wait()


class LoadClient:
    """A load client process (``python -m benchmarks.load``) driven line by line."""

    def __init__(
        self, name: str, arguments: Sequence[str], log: Path, timeout: float, *, wait: bool = True
    ) -> None:
        """Started, and its ``ready`` read unless ``wait`` is false (then `wait_ready` reads it)."""
        self.name = name
        self.timeout = timeout
        self._log = log.open("ab")
        self.popen: subprocess.Popen[str] = subprocess.Popen(
            [sys.executable, "-m", "benchmarks.load", *arguments],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self._log,
            text=True,
            cwd=ROOT,
            preexec_fn=_more_files,
        )
        self.log = log
        self.ready: dict[str, Any] = {}
        if wait:
            self.wait_ready()

    def wait_ready(self) -> dict[str, Any]:
        """Its ``ready`` line: several clients started at once set up at the same time."""
        try:
            self.ready = self._read()
        except BaseException:
            self.stop()
            raise
        return self.ready

    def _read(self) -> dict[str, Any]:
        stdout = self.popen.stdout
        assert stdout is not None  # created with PIPE
        line = _readline(stdout, self.timeout)
        if not line:
            self._log.flush()
            tail = self.log.read_text(errors="replace")[-1500:]
            raise BenchError(f"load client {self.name} stopped:\n{tail}")
        reply: dict[str, Any] = json.loads(line)
        if "error" in reply:
            raise BenchError(f"load client {self.name}: {reply['error']}")
        return reply

    def request(self, **command: Any) -> dict[str, Any]:
        stdin = self.popen.stdin
        assert stdin is not None  # created with PIPE
        stdin.write(json.dumps(command) + "\n")
        stdin.flush()
        return self._read()

    def cpu(self) -> float:
        return cpu_seconds(self.popen.pid)

    def stop(self) -> None:
        if self.popen.poll() is None:
            try:
                self.request(op="quit")
            except (BenchError, OSError, ValueError):
                pass
            try:
                self.popen.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.popen.kill()
                self.popen.wait()
        for pipe in (self.popen.stdin, self.popen.stdout):
            if pipe is not None:
                pipe.close()
        self._log.close()


def _readline(stream: IO[str], timeout: float) -> str:
    import selectors

    with selectors.DefaultSelector() as selector:
        selector.register(stream, selectors.EVENT_READ)
        if not selector.select(timeout):
            raise BenchError(f"no answer from a load client within {timeout:g} s")
    return stream.readline()


@dataclass
class Row:
    """One line of the table: the branch's median, a baseline's median and their ratio."""

    scenario: str
    metric: str
    unit: str
    branch: float
    baseline_name: str
    baseline: float | None
    target: str = ""
    # "higher" when more is better (throughput); the ratio is branch/baseline either way.
    better: str = "lower"
    limit: float | None = None
    rounds: int = 0
    samples: dict[str, list[float]] = field(default_factory=dict)
    note: str = ""

    @property
    def ratio(self) -> float | None:
        if self.baseline in (None, 0):
            return None
        assert self.baseline is not None
        return self.branch / self.baseline

    @property
    def met(self) -> bool | None:
        if self.limit is None:
            return None
        value = self.ratio if self.baseline_name else self.branch
        if value is None:
            return None
        return value >= self.limit if self.better == "higher" else value <= self.limit

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data.update(ratio=self.ratio, met=self.met)
        return data


def median(values: Sequence[float]) -> float:
    return float(statistics.median(values))


def percentile(values: Sequence[float], fraction: float) -> float:
    """Nearest-rank percentile (p99 of 100 values is the 99th)."""
    if not values:
        raise BenchError("no samples for a percentile")
    ordered = sorted(values)
    rank = max(1, -(-int(fraction * 1000) * len(ordered) // 1000))
    return float(ordered[min(rank, len(ordered)) - 1])


def alternate(
    names: Sequence[str], rounds: int, measure: Callable[[str, int], dict[str, float]]
) -> dict[str, dict[str, list[float]]]:
    """Run ``measure(name, round)`` for each name, in flipped order every round.

    Returns name -> metric -> one value per round.
    """
    results: dict[str, dict[str, list[float]]] = {name: {} for name in names}
    for index in range(rounds):
        order = list(names) if index % 2 == 0 else list(reversed(names))
        for name in order:
            for metric, value in measure(name, index).items():
                results[name].setdefault(metric, []).append(value)
    return results


def compare(
    scenario: str,
    results: dict[str, dict[str, list[float]]],
    metric: str,
    unit: str,
    baselines: Sequence[tuple[str, str, float | None]],
    *,
    better: str = "lower",
    branch: str = "branch",
) -> list[Row]:
    """Rows of ``metric``: the branch against each (baseline, target text, ratio limit)."""
    ours = results[branch][metric]
    rows = []
    for name, target, limit in baselines:
        theirs = results[name][metric] if name else None
        rows.append(
            Row(
                scenario,
                metric,
                unit,
                median(ours),
                name,
                median(theirs) if theirs else None,
                target,
                better,
                limit,
                len(ours),
                {branch: ours, **({name: theirs} if theirs else {})},
            )
        )
    return rows


def _figure(value: float | None) -> str:
    if value is None:
        return "—"
    if abs(value) >= 100:
        return f"{value:,.0f}"
    if abs(value) >= 10:
        return f"{value:.1f}"
    if abs(value) >= 1:
        return f"{value:.2f}"
    return f"{value:.3f}"


def table(rows: Sequence[Row]) -> str:
    """A Markdown table: the same text goes to stdout and into docs/performance.md."""
    lines = [
        "| scenario | metric | branch | baseline | baseline value | ratio | target | met |",
        "| --- | --- | ---: | --- | ---: | ---: | --- | --- |",
    ]
    for row in rows:
        met = {True: "**yes**", False: "**no**", None: "—"}[row.met]
        ratio = "—" if row.ratio is None else f"{row.ratio:.2f}x"
        lines.append(
            f"| {row.scenario} | {row.metric} ({row.unit}) | {_figure(row.branch)} | "
            f"{row.baseline_name or '—'} | {_figure(row.baseline)} | {ratio} | "
            f"{row.target or 'context'} | {met} |"
        )
    return "\n".join(lines)


def _cpu_model() -> str:
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            return line.split(":", 1)[1].strip()
    return platform.processor() or "unknown"


def _version(command: Sequence[str]) -> str:
    if shutil.which(command[0]) is None:
        return "missing"
    done = subprocess.run(list(command), capture_output=True, text=True, check=False)
    return (done.stdout or done.stderr).strip().splitlines()[0] if done.returncode == 0 else "?"


def environment() -> dict[str, Any]:
    """Where the figures come from: the machine, its load, the versions."""
    packages = {}
    for name in ("aiohttp", "aiortc", "redis", "aiosqlite", "cryptography", "pyjwt"):
        try:
            packages[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            packages[name] = "missing"
    peer = ROOT / "benchmarks" / "peerjs" / "node_modules" / "peer" / "package.json"
    load = os.getloadavg()
    return {
        "when": time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime()),
        "cpus": os.cpu_count(),
        "cpu_model": _cpu_model(),
        "load_average": [round(value, 2) for value in load],
        "memory_gb": round(os.sysconf("SC_PHYS_PAGES") * PAGE_BYTES / 2**30, 1),
        "kernel": platform.release(),
        "python": platform.python_version(),
        "packages": packages,
        "node": _version(["node", "--version"]),
        "peer": json.loads(peer.read_text())["version"] if peer.exists() else "missing",
        "redis_server": _version(["redis-server", "--version"]),
    }


def describe(env: dict[str, Any]) -> str:
    packages = ", ".join(f"{name} {version}" for name, version in env["packages"].items())
    return (
        f"{env['when']} · {env['cpus']} CPUs ({env['cpu_model']}), load average "
        f"{' / '.join(str(value) for value in env['load_average'])}, {env['memory_gb']} GB · "
        f"Linux {env['kernel']} · Python {env['python']} ({packages}) · node {env['node']}, "
        f"peer {env['peer']} · {env['redis_server'].split(' sha=')[0]}"
    )
