"""Scenario 2, the waiting room at scale, and the Redis floor figures."""

from __future__ import annotations

import time
from typing import Any

from benchmarks.harness import LoadClient, Row, median, percentile
from benchmarks.scenarios import Context, running
from benchmarks.servers import Started, start_branch, start_peerjs, start_raw, start_redis

TAKERS = 20  # executives taking citizens while the room waits
TAKE_RATE = 20.0  # citizens a second
# Citizens logging in and joining at the same time, as a crowd at opening time:
# one at a time, the room's setup would measure the load client's round trips.
LOGINS_IN_FLIGHT = 50
# Pages one load-client process holds: a long line is pushed to every page once a
# second, and at 10,000 pages in one process the client read 10,000 frames a second
# and set the pace of the logins and the takes, not the node.
PAGES_PER_WORKER = 2_500


def _settled_rss(server: Started, seconds: float = 1.0) -> int:
    time.sleep(seconds)
    return server.process.rss()


def shares(count: int) -> list[tuple[int, int]]:
    """(first index, how many) of each worker's citizens: as even as the count allows."""
    workers = max(1, -(-count // PAGES_PER_WORKER))
    return [
        (count * index // workers, count * (index + 1) // workers - count * index // workers)
        for index in range(workers)
    ]


def fill_room(ctx: Context, kind: str, url: str, count: int) -> tuple[list[LoadClient], float]:
    """The room's workers, all set up at once; and the seconds from the first start to the last ready."""
    room = shares(count)
    in_flight = str(max(1, -(-LOGINS_IN_FLIGHT // len(room))))
    workers: list[LoadClient] = []
    try:
        for index, (first, size) in enumerate(room):
            arguments = ["citizens", "--kind", kind, "--url", url, "--first", str(first)]
            arguments += ["--count", str(size), "--parallel", in_flight]
            workers.append(ctx.client(f"waiting-{kind}-{index}", *arguments, wait=False))
        readies = [worker.wait_ready() for worker in workers]
    except BaseException:
        for worker in workers:
            worker.stop()
        raise
    return workers, max(ready["at"] for ready in readies) - min(r["started"] for r in readies)


def waiting_room(ctx: Context) -> list[Row]:
    """RSS per waiting citizen vs raw and PeerJS; staleness and CPU while executives take 20/s."""
    sizes = ctx.sizes
    count = sizes.waiting
    per_citizen: dict[str, float] = {}
    drain: dict[str, Any] = {}
    for kind in ("raw", "peerjs", "branch"):
        if kind == "branch":
            # Nobody is refused for the size of the line, nor ends for waiting long.
            server = start_branch(ctx.folder, executives=TAKERS)
        else:
            server = start_raw(ctx.folder) if kind == "raw" else start_peerjs(ctx.folder)
        with running(server):
            empty = _settled_rss(server)
            workers, seconds = fill_room(ctx, kind, server.url, count)
            with running(*workers):
                full = _settled_rss(server, 2.0)
                per_citizen[kind] = (full - empty) / count
                per_citizen[f"{kind}_login_s"] = seconds
                if kind == "branch":
                    drain = _drain(ctx, server, workers)
    name = f"2 waiting room ({count:,} citizens)"
    rss = [
        Row(name, "rss_per_waiting", "KB", per_citizen["branch"] / 1024, base,
            per_citizen[base] / 1024, target, "lower", limit, 1)
        for base, target, limit in (("raw", "≤ 1.25x raw", 1.25), ("peerjs", "", None))
    ]  # fmt: skip
    note = (
        f"{drain['taken']} taken at {drain['rate']:.1f}/s over {drain['pairs']:,} page-takes, "
        f"{len(shares(count))} citizen workers"
    )
    clients = f"load clients at {drain['client_cores']:.2f} core"
    return [
        *rss,
        Row(name, "position_staleness_p99", "s", drain["staleness_p99"], "", None, "≤ 2 s",
            "lower", 2.0, 1, note=note),
        Row(name, "position_staleness_p50", "s", drain["staleness_p50"], "", None, "", note=note),
        Row(name, "server_cpu_while_taking", "cores", drain["cores"], "", None, "< 1 core",
            "lower", 0.999, 1, note=clients),
        Row(name, "login_and_join_all", "s", per_citizen["branch_login_s"], "raw connect",
            per_citizen["raw_login_s"], "", rounds=1),
    ]  # fmt: skip


def _drain(ctx: Context, server: Started, workers: list[LoadClient]) -> dict[str, Any]:
    """Executives take ``TAKE_RATE`` a second; every worker's page-takes, merged on one clock."""
    sizes = ctx.sizes
    takers = ctx.client("waiting-takers", "takers", "--kind", "branch", "--url", server.url,
                        "--count", str(TAKERS))  # fmt: skip
    with running(takers):
        # What opening the consoles sent (summaries, a push) is read before the drain.
        time.sleep(2.0)
        for worker in workers:
            worker.request(op="record")
        clients = [takers, *workers]
        cpu, client_cpu = server.process.cpu(), sum(client.cpu() for client in clients)
        started = time.monotonic()
        reply = takers.request(op="round", rate=TAKE_RATE, seconds=sizes.drain_seconds, settle=2.0)
        took = time.monotonic() - started
        cores = (server.process.cpu() - cpu) / took
        client_cores = (sum(client.cpu() for client in clients) - client_cpu) / took
    stale: list[float] = []
    for worker in workers:
        stale += worker.request(op="staleness", takes=reply["takes"], end=reply["end"])["stale"]
    return {
        "taken": len(reply["takes"]),
        "rate": reply["rate"],
        "staleness_p50": percentile(stale, 0.5) if stale else 0.0,
        "staleness_p99": percentile(stale, 0.99) if stale else 0.0,
        "pairs": len(stale),
        "cores": cores,
        "client_cores": client_cores,
    }


def redis_floor(ctx: Context) -> list[Row]:
    """Context: what one Redis command, one Lua pop-and-mark and one PUBLISH cost here."""
    sizes = ctx.sizes
    redis = start_redis(ctx.folder)
    with running(redis):
        client = ctx.client("floor", "floor", "--kind", "raw", "--redis", redis.url)
        with running(client):
            replies = [
                client.request(op="round", samples=sizes.samples * 10) for _ in range(sizes.rounds)
            ]
    return [
        Row("floor: Redis", f"{metric}_p50", "ms", median([reply[metric] for reply in replies]),
            "", None, rounds=len(replies), samples={"redis": [reply[metric] for reply in replies]})
        for metric in ("ping", "lua", "publish")
    ]  # fmt: skip
