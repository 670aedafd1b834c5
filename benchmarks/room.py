"""Scenario 2, the waiting room at scale, and the Redis floor figures."""

from __future__ import annotations

import time

from benchmarks.harness import Row, median
from benchmarks.scenarios import Context, running
from benchmarks.servers import Started, start_branch, start_peerjs, start_raw, start_redis

TAKERS = 20  # executives taking citizens while the room waits
TAKE_RATE = 20.0  # citizens a second
# Citizens logging in and joining at the same time, as a crowd at opening time:
# one at a time, the room's setup would measure the load client's round trips.
LOGINS_IN_FLIGHT = 50


def _settled_rss(server: Started, seconds: float = 1.0) -> int:
    time.sleep(seconds)
    return server.process.rss()


def waiting_room(ctx: Context) -> list[Row]:
    """RSS per waiting citizen vs raw and PeerJS; staleness and CPU while executives take 20/s."""
    sizes = ctx.sizes
    count = sizes.waiting
    per_citizen: dict[str, float] = {}
    drain: dict[str, float] = {}
    for kind in ("raw", "peerjs", "branch"):
        if kind == "branch":
            # Nobody is refused for the size of the line, nor ends for waiting long.
            server = start_branch(ctx.folder, executives=TAKERS)
        else:
            server = start_raw(ctx.folder) if kind == "raw" else start_peerjs(ctx.folder)
        with running(server):
            empty = _settled_rss(server)
            client = ctx.client(
                f"waiting-{kind}", "waiting", "--kind", kind, "--url", server.url,
                "--count", str(count), "--parallel", str(LOGINS_IN_FLIGHT),
            )  # fmt: skip
            with running(client):
                full = _settled_rss(server, 2.0)
                per_citizen[kind] = (full - empty) / count
                per_citizen[f"{kind}_login_s"] = client.ready["seconds"]
                if kind == "branch":
                    cpu = server.process.cpu()
                    started = time.monotonic()
                    reply = client.request(
                        op="round",
                        executives=TAKERS,
                        rate=TAKE_RATE,
                        seconds=sizes.drain_seconds,
                        settle=2.0,
                    )
                    drain = {
                        **reply,
                        "cores": (server.process.cpu() - cpu) / (time.monotonic() - started),
                    }
    name = f"2 waiting room ({count:,} citizens)"
    rss = [
        Row(name, "rss_per_waiting", "KB", per_citizen["branch"] / 1024, base,
            per_citizen[base] / 1024, target, "lower", limit, 1)
        for base, target, limit in (("raw", "≤ 1.25x raw", 1.25), ("peerjs", "", None))
    ]  # fmt: skip
    note = f"{drain['taken']} taken at {drain['rate']:.1f}/s over {drain['pairs']:,} page-takes"
    return [
        *rss,
        Row(name, "position_staleness_p99", "s", drain["staleness_p99"], "", None, "≤ 2 s",
            "lower", 2.0, 1, note=note),
        Row(name, "position_staleness_p50", "s", drain["staleness_p50"], "", None, "", note=note),
        Row(name, "server_cpu_while_taking", "cores", drain["cores"], "", None, "< 1 core",
            "lower", 0.999, 1),
        Row(name, "login_and_join_all", "s", per_citizen["branch_login_s"], "raw connect",
            per_citizen["raw_login_s"], "", rounds=1),
    ]  # fmt: skip


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
