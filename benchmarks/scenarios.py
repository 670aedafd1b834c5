"""The scenarios of issue 8: each starts its servers and load clients, alternates, compares."""

from __future__ import annotations

import contextlib
import time
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from benchmarks.calls import SETUP_STEPS
from benchmarks.harness import BenchError, LoadClient, Process, Row, alternate, compare, median
from benchmarks.servers import (
    Started,
    start_branch,
    start_peerjs,
    start_postgres,
    start_raw,
    start_redis,
)


@dataclass(frozen=True)
class Sizes:
    """How big and how long: ``smoke`` keeps the harness alive in the tests, ``full`` is issue 8."""

    rounds: int
    calls: int
    messages: int
    samples: int
    setups: int
    contacts: int
    waiting: int
    drain_seconds: float
    timeout: float


SIZES = {
    "smoke": Sizes(1, 2, 40, 3, 1, 50, 20, 1.0, 60),
    "quick": Sizes(3, 10, 2_000, 20, 3, 1_000, 500, 5.0, 300),
    "full": Sizes(5, 50, 10_000, 30, 10, 1_000, 10_000, 10.0, 1800),
}


@dataclass
class Context:
    folder: Path
    sizes: Sizes

    def client(self, name: str, *arguments: str, wait: bool = True) -> LoadClient:
        log = self.folder / f"load-{name}.log"
        return LoadClient(name, arguments, log, self.sizes.timeout, wait=wait)


@contextmanager
def running(*things: Started | LoadClient | Process) -> Iterator[None]:
    try:
        yield
    finally:
        for thing in reversed(things):
            thing.stop()


def relay(ctx: Context, kinds: tuple[str, ...] = ("branch", "raw", "peerjs")) -> list[Row]:
    """Scenario 1: 2 KB messages bounced over paired connections."""
    sizes = ctx.sizes
    servers: dict[str, Started] = {}
    clients: dict[str, LoadClient] = {}
    starters: dict[str, Callable[[], Started]] = {
        "branch": lambda: start_branch(ctx.folder, executives=sizes.calls),
        "raw": lambda: start_raw(ctx.folder),
        "peerjs": lambda: start_peerjs(ctx.folder),
    }
    try:
        for kind in kinds:
            servers[kind] = starters[kind]()
            clients[kind] = ctx.client(
                f"relay-{kind}", "relay", "--kind", kind, "--url", servers[kind].url,
                "--calls", str(sizes.calls),
            )  # fmt: skip

        def measure(kind: str, _round: int) -> dict[str, float]:
            before = servers[kind].process.cpu()
            client_before = clients[kind].cpu()
            reply = clients[kind].request(op="round", messages=sizes.messages)
            used = servers[kind].process.cpu() - before
            client_used = clients[kind].cpu() - client_before
            return {
                "msgs_per_s": reply["messages"] / reply["seconds"],
                "cpu_us_per_msg": used / reply["messages"] * 1e6,
                "server_cores": used / reply["seconds"],
                "client_us_per_msg": client_used / reply["messages"] * 1e6,
            }

        results = alternate(kinds, sizes.rounds, measure)
    finally:
        for client in clients.values():
            client.stop()
        for server in servers.values():
            server.stop()
    name = f"1 relay ({sizes.calls} calls, 2 KB)"
    baselines = [(kind, "", None) for kind in kinds if kind != "branch"]
    targets = {"peerjs": ("≥ 1.0x PeerJS", 1.0), "raw": ("≥ 0.8x raw", 0.8)}
    throughput = [(kind, *targets[kind]) for kind, _, _ in baselines]
    rows = compare(name, results, "msgs_per_s", "msg/s", throughput, better="higher")
    for metric, unit in (
        ("cpu_us_per_msg", "µs/msg"),
        ("server_cores", "cores"),
        ("client_us_per_msg", "µs/msg"),
    ):
        rows += compare(name, results, metric, unit, baselines)
    return rows


def pairing(ctx: Context) -> list[Row]:
    """Scenario 3: executive available → both sides told, memory and Redis live store."""
    sizes = ctx.sizes
    # Without the readiness check, which adds a round trip to the citizen's page by design.
    direct = "[service]\nreadiness_seconds = 0\n"
    with contextlib.ExitStack() as stack:
        redis = start_redis(ctx.folder)
        stack.callback(redis.stop)
        memory = start_branch(ctx.folder, executives=1, extra=direct)
        stack.callback(memory.stop)
        on_redis = start_branch(ctx.folder, executives=1, live=redis.url, extra=direct)
        stack.callback(on_redis.stop)
        raw = start_raw(ctx.folder)
        stack.callback(raw.stop)
        clients: dict[str, LoadClient] = {}
        for name, arguments in (
            ("branch", ["pairing-memory", "pairing", "--kind", "branch", "--url", memory.url]),
            ("branch+redis", ["pairing-redis", "pairing", "--kind", "branch", "--url", on_redis.url]),
            ("ws+redis RTT", ["pairing-floor", "pairing", "--kind", "raw", "--url", raw.url, "--redis", redis.url]),
        ):  # fmt: skip
            clients[name] = ctx.client(*arguments)
            stack.callback(clients[name].stop)
        results = alternate(
            list(clients),
            sizes.rounds,
            lambda name, _round: clients[name].request(op="round", samples=sizes.samples),
        )
    rows = []
    for live in ("branch", "branch+redis"):
        for metric in ("p50", "p99"):
            rows += compare(
                f"3 pairing, {'Redis' if live != 'branch' else 'memory'} live store, no readiness check",
                {**results, "branch": results[live]},
                metric,
                "ms",
                [("ws+redis RTT", "≤ 2x", 2.0)],
            )
    # A Redis pairing does what the memory one does plus the round trip of the commit
    # that takes the citizen, before anyone is told: no Redis store can go under this.
    floor = results["ws+redis RTT"]
    least = [
        memory + ping
        for memory, ping in zip(results["branch"]["p50"], floor["ping_p50"], strict=True)
    ]
    rows += compare(
        "3 pairing, the least a Redis store can take: the memory pairing plus one Redis PING",
        {"least": {"p50": least}, "ws+redis RTT": floor},
        "p50",
        "ms",
        [("ws+redis RTT", "context", None)],
        branch="least",
    )
    return rows


def call_setup(ctx: Context) -> list[Row]:
    """Scenario 4: accept → ICE connected through the branch vs aiortc peers wired directly."""
    sizes = ctx.sizes
    node = start_branch(ctx.folder, executives=1)
    with running(node):
        clients = {
            "branch": ctx.client("setup-branch", "setup", "--kind", "branch", "--url", node.url),
            "aiortc direct": ctx.client("setup-direct", "setup", "--kind", "direct"),
        }
        with running(*clients.values()):
            results = alternate(
                list(clients),
                sizes.rounds,
                lambda name, _round: clients[name].request(op="round", samples=sizes.setups),
            )
    rows = compare(
        "4 call setup (accept → ICE connected)",
        results,
        "p50",
        "ms",
        [("aiortc direct", "≤ 1.2x", 1.2)],
    )
    # Where the time goes: each step's median, the direct peers' beside it where they have it.
    for moment, label in SETUP_STEPS:
        ours = results["branch"].get(f"step {moment}")
        if ours is None:
            continue
        theirs = results["aiortc direct"].get(f"step {moment}")
        rows.append(
            Row(
                "4 call setup, step by step",
                label,
                "ms",
                median(ours),
                "aiortc direct",
                median(theirs) if theirs else None,
                rounds=len(ours),
                samples={"branch": ours, **({"aiortc direct": theirs} if theirs else {})},
            )
        )
    return rows


# Contacts in progress at once on one node: a branch with hundreds of citizens has a few
# hundred steps in flight; 10 shows what one commit at a time would give.
RECORD_WRITERS = (200, 10)


def records(ctx: Context) -> list[Row]:
    """Scenario 6: whole contacts with their audit entries, durable: SQLite WAL and PostgreSQL."""
    sizes = ctx.sizes
    rows = []
    with contextlib.ExitStack() as stack:
        postgres = start_postgres(ctx.folder)
        stack.callback(postgres.stop)
        sqlite = f"sqlite:///{ctx.folder / f'records-{time.monotonic_ns()}.sqlite3'}"
        for name, url in (("SQLite WAL, synchronous=FULL", sqlite), ("PostgreSQL", postgres.url)):
            client = ctx.client(
                f"records-{name[:6]}", "records", "--kind", "branch", "--records", url
            )
            with running(client):
                for writers in RECORD_WRITERS:
                    parallel = min(writers, sizes.contacts)
                    rates: dict[str, list[float]] = {"branch": [], "raw": []}
                    for _ in range(sizes.rounds):  # the branch and its floor in turn
                        for kind, rate in rates.items():
                            reply = client.request(
                                op="round",
                                contacts=sizes.contacts,
                                parallel=parallel,
                                raw=kind == "raw",
                            )
                            rate.append(reply["contacts"] / reply["seconds"])
                    rows.append(
                        Row(
                            f"6 records, {name}, {parallel} writers "
                            "(5 steps, each with its audit entry)",
                            "contacts_per_s",
                            "contacts/s",
                            median(rates["branch"]),
                            "",
                            None,
                            "≥ 1,000/s",
                            "higher",
                            1000.0,
                            len(rates["branch"]),
                            {"branch": rates["branch"]},
                        )
                    )
                    rows.append(
                        Row(
                            f"6 records floor, {name}, {parallel} writers: the plain driver, "
                            "5 autocommitted statements each, no trail",
                            "contacts_per_s",
                            "contacts/s",
                            median(rates["raw"]),
                            "",
                            None,
                            "context",
                            "higher",
                            None,
                            len(rates["raw"]),
                            {"raw": rates["raw"]},
                        )
                    )
    return rows


def _ready(url: str, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"{url}/readyz", timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.01)
    raise BenchError(f"{url} was not ready within {timeout:g} s")


def startup(ctx: Context) -> list[Row]:
    """Scenario 7: process start → ready (the branch's /readyz; the others' listening port)."""
    sizes = ctx.sizes

    def measure(kind: str, _round: int) -> dict[str, float]:
        started = time.monotonic()
        if kind == "branch":
            node = start_branch(ctx.folder, executives=1)
            _ready(node.url)
        else:
            node = start_raw(ctx.folder) if kind == "raw" else start_peerjs(ctx.folder)
        seconds = time.monotonic() - started
        node.stop()
        return {"ready_s": seconds}

    results = alternate(("branch", "raw", "peerjs"), sizes.rounds, measure)
    return compare(
        "7 start-up (start → ready)",
        results,
        "ready_s",
        "s",
        [("raw", "", None), ("peerjs", "", None)],
    )
