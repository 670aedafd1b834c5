"""Scenario 5, cross-node: relay and pairing with citizen and executive on two nodes, vs one.

Two nodes form one deployment as docs/operations.md sets it up for scale-out:
one Redis for the live state, logins and delivery, one PostgreSQL for the
records, one session secret. The baseline is the same deployment with both
people on one node, so the difference is what the hop between nodes (presence
lookup, PUBLISH, the other node's channel reader) adds.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import time

import aiohttp

from benchmarks.calls import arrival, end_call, quantiles
from benchmarks.harness import LoadClient, Row, alternate, compare
from benchmarks.load import emit, next_command, sdp_sized
from benchmarks.people import Person, first_reason, open_page
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
# (load client, its citizen's node, its executive's node); each has people of its own.
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
        clients: dict[str, LoadClient] = {}
        for index, (placement, citizen_node, executive_node) in enumerate(PLACEMENTS):
            clients[placement] = ctx.client(
                f"crossnode-{index}", "crossnode", "--kind", "branch",
                "--url", nodes[citizen_node].url, "--executive-url", nodes[executive_node].url,
                "--index", str(index),
            )  # fmt: skip
            stack.callback(clients[placement].stop)

        def measure(name: str, _round: int) -> dict[str, float]:
            reply = clients[name].request(op="round", samples=sizes.samples, trips=TRIPS_PER_CALL)
            return {key: value for key, value in reply.items() if not key.endswith("_n")}

        results = alternate(list(clients), sizes.rounds, measure)
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
        added = Row(
            scenario,
            "p50_added",
            "ms",
            p50.branch - (p50.baseline or 0.0),
            "",
            None,
            "≤ +1 ms",
            "lower",
            1.0,
            p50.rounds,
            note="two nodes' p50 minus one node's (medians over the rounds)",
        )
        rows += [p50, added, p99]
    return rows


async def load(args: argparse.Namespace) -> None:
    """Load client: the citizen on ``--url``, the executive on ``--executive-url``."""
    async with aiohttp.ClientSession() as http:
        citizen = await open_page(http, args.url, citizen_runs(1, 960_000 + args.index)[0])
        executive = await open_page(
            http, args.executive_url, executive_runs(len(PLACEMENTS))[args.index], "/executive"
        )
        sdp = sdp_sized(2048)
        # One call before the rounds, so first-use costs (connections, caches) are not measured.
        contact, _took = await _paired(citizen, executive)
        await _round_trip(citizen, executive, contact, sdp)
        await end_call(executive, citizen, contact)
        emit({"ready": True})
        while (command := await next_command()) is not None:
            pairings: list[float] = []
            one_way: list[float] = []
            for _ in range(command["samples"]):
                contact, took = await _paired(citizen, executive)
                pairings.append(took)
                for _trip in range(command["trips"]):
                    one_way += await _round_trip(citizen, executive, contact, sdp)
                await end_call(executive, citizen, contact)
            emit(
                {
                    **{f"pairing_{key}": value for key, value in quantiles(pairings).items()},
                    **{f"relay_{key}": value for key, value in quantiles(one_way).items()},
                }
            )


async def _paired(citizen: Person, executive: Person) -> tuple[str, float]:
    """The citizen waits, the executive becomes available: (contact, ms until both are told)."""
    await citizen.send("queue.join", service="general", reason=first_reason(citizen))
    contact = str((await citizen.receive("queue.joined"))["contactId"])
    started = time.perf_counter()
    await executive.send("agent.available")
    told = await asyncio.gather(arrival(citizen, "queue.offered"), arrival(executive, "offer"))
    took = (max(told) - started) * 1000
    await executive.send("offer.accept", contactId=contact)
    await asyncio.gather(executive.receive("call.started"), citizen.receive("call.started"))
    return contact, took


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
