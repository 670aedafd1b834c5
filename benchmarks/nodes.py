"""Scenario 5, cross-node: relay and pairing with citizen and executive on two nodes, vs one.

Two nodes form one deployment as docs/operations.md sets it up for scale-out:
one Redis for the live state, logins and delivery, one PostgreSQL for the
records, one session secret. The baseline is the same deployment with both
people on one node, so the difference is what the hop between nodes adds (the
presence lookup and PUBLISH, the other node's channel reader, its send).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import time

import aiohttp

from benchmarks.calls import end_call, paired, quantiles
from benchmarks.harness import Row, compare, median
from benchmarks.load import emit, next_command, sdp_sized
from benchmarks.people import Person, open_page
from benchmarks.scenarios import Context
from benchmarks.servers import (
    citizen_runs,
    executive_runs,
    start_branch,
    start_postgres,
    start_redis,
)

# Round trips of one 2 KB description each way in every call a round sets up.
TRIPS_PER_CALL = 10
NAME = "5 cross-node"
SHARED = """[service]
readiness_seconds = 0

[session]
secret = "one secret for every node of the benchmark deployment"
"""
# Where each pair of people is: (placement, citizen's node, executive's node).
PLACEMENTS = (("two nodes", "a", "b"), ("one node", "a", "a"))


def crossnode(ctx: Context) -> list[Row]:
    """Scenario 5: p50 of pairing and of one relayed message, two nodes vs one."""
    sizes = ctx.sizes
    with contextlib.ExitStack() as stack:
        redis = start_redis(ctx.folder)
        stack.callback(redis.stop)
        postgres = start_postgres(ctx.folder)
        stack.callback(postgres.stop)
        nodes = {}
        for name in ("a", "b"):
            nodes[name] = start_branch(
                ctx.folder,
                executives=len(PLACEMENTS),
                live=redis.url,
                live_prefix="{bench-deployment}:",
                records=postgres.url,
                extra=SHARED,
            )
            stack.callback(nodes[name].stop)
        # One load client for both placements: it interleaves them call by call, so a
        # burst of load on the shared machine falls on both alike.
        client = ctx.client(
            "crossnode", "crossnode", "--kind", "branch",
            "--url", nodes["a"].url, "--executive-url", nodes["b"].url,
        )  # fmt: skip
        stack.callback(client.stop)
        results: dict[str, dict[str, list[float]]] = {name: {} for name, _, _ in PLACEMENTS}
        for _round in range(sizes.rounds):
            reply = client.request(op="round", samples=sizes.samples, trips=TRIPS_PER_CALL)
            for placement, figures in reply["placements"].items():
                for metric, value in figures.items():
                    results[placement].setdefault(metric, []).append(value)
    rows = []
    for kind, what in (("pairing", "pairing"), ("relay", "relay, 2 KB message one way")):
        prefix = f"{kind}_"
        figures = {
            placement: {
                metric.removeprefix(prefix): values
                for metric, values in found.items()
                if metric.startswith(prefix)
            }
            for placement, found in results.items()
        }
        scenario = f"{NAME}: {what}"
        p50, p99 = (
            compare(scenario, figures, metric, "ms", [("one node", "", None)], branch="two nodes")[
                0
            ]
            for metric in ("p50", "p99")
        )
        # Each round's calls interleave the placements, so a round's two p50s are a pair.
        ours, theirs = p50.samples["two nodes"], p50.samples["one node"]
        added = Row(
            scenario,
            "p50_added",
            "ms",
            median([two - one for two, one in zip(ours, theirs, strict=True)]),
            "",
            None,
            "≤ +1 ms",
            "lower",
            1.0,
            p50.rounds,
            note="median over the rounds of two nodes' p50 minus one node's",
        )
        rows += [p50, added, p99]
    return rows


async def load(args: argparse.Namespace) -> None:
    """Load client: node A is ``--url``, node B ``--executive-url``; people as PLACEMENTS says."""
    urls = {"a": args.url, "b": args.executive_url}
    async with aiohttp.ClientSession() as http:
        people: dict[str, tuple[Person, Person]] = {}
        for index, (placement, citizen_node, executive_node) in enumerate(PLACEMENTS):
            people[placement] = (
                await open_page(http, urls[citizen_node], citizen_runs(1, 960_000 + index)[0]),
                await open_page(
                    http, urls[executive_node], executive_runs(len(PLACEMENTS))[index], "/executive"
                ),
            )
        sdp = sdp_sized(2048)
        # One call each before the rounds: first-use costs (connections, caches) are not measured.
        for citizen, executive in people.values():
            await _one_call(citizen, executive, sdp, 1)
        emit({"ready": True})
        while (command := await next_command()) is not None:
            pairings: dict[str, list[float]] = {placement: [] for placement in people}
            one_way: dict[str, list[float]] = {placement: [] for placement in people}
            for sample in range(command["samples"]):
                order = list(people) if sample % 2 == 0 else list(reversed(people))
                for placement in order:
                    took, trips = await _one_call(*people[placement], sdp, command["trips"])
                    pairings[placement].append(took)
                    one_way[placement] += trips
            emit(
                {
                    "placements": {
                        placement: {
                            **{
                                f"pairing_{k}": v for k, v in quantiles(pairings[placement]).items()
                            },
                            **{f"relay_{k}": v for k, v in quantiles(one_way[placement]).items()},
                        }
                        for placement in people
                    }
                }
            )


async def _one_call(
    citizen: Person, executive: Person, sdp: str, trips: int
) -> tuple[float, list[float]]:
    """Pair, relay ``trips`` round trips, end: (pairing ms, every one-way ms)."""
    contact, took = await paired(citizen, executive)
    one_way = []
    for _trip in range(trips):
        one_way += await _round_trip(citizen, executive, contact, sdp)
    await end_call(executive, citizen, contact)
    return took, one_way


async def _round_trip(citizen: Person, executive: Person, contact: str, sdp: str) -> list[float]:
    """One description citizen → executive and one back: both one-way times in ms."""
    started = time.perf_counter()
    await citizen.socket.send_str(_description(contact, "offer", sdp))
    await executive.receive("signal.description")
    there = time.perf_counter()
    await executive.socket.send_str(_description(contact, "answer", sdp))
    await citizen.receive("signal.description")
    back = time.perf_counter()
    return [(there - started) * 1000, (back - there) * 1000]


def _description(contact: str, kind: str, sdp: str) -> str:
    return json.dumps(
        {
            "type": "signal.description",
            "contactId": contact,
            "description": {"type": kind, "sdp": sdp},
        }
    )
