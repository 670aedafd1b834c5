"""Load clients for pairing and call setup."""

from __future__ import annotations

import argparse
import asyncio
import json
import time
from typing import Any, Protocol

import aiohttp
import redis.asyncio as aioredis
from aiortc import RTCConfiguration, RTCPeerConnection

from benchmarks.harness import percentile
from benchmarks.people import Person, first_reason, open_page, settle
from benchmarks.servers import citizen_runs, executive_runs
from branch.web.client import BranchClient
from branch.web.peer import CallPeer, TestPatternTrack


def _emit(reply: dict[str, Any]) -> None:
    from benchmarks.load import emit

    emit(reply)


async def _commands() -> Any:
    from benchmarks.load import next_command

    while (command := await next_command()) is not None:
        yield command


def quantiles(samples: list[float]) -> dict[str, float]:
    return {"p50": percentile(samples, 0.5), "p99": percentile(samples, 0.99), "n": len(samples)}


async def end_call(executive: Person, citizen: Person, contact: str) -> None:
    await asyncio.gather(
        hang_up(executive, contact, first_reason(citizen)), citizen.receive("call.ended")
    )


class Speaker(Protocol):
    """A page the load client drives: a bare `Person` or a whole `BranchClient`."""

    async def send(self, kind: str, **fields: Any) -> None: ...
    async def receive(self, kind: str) -> dict[str, Any]: ...


async def hang_up(executive: Speaker, contact: str, reason: str) -> None:
    """The executive hangs up and wraps up, then pauses (not_ready)."""
    await executive.send("call.hangup", contactId=contact)
    await executive.receive("call.ended")
    await executive.send(
        "wrapup.submit",
        contactId=contact,
        outcome="resuelto",
        reason=reason,
        notes="",
        then="not_ready",
    )
    await executive.receive("wrapup.saved")


async def pairing(args: argparse.Namespace) -> None:
    """Executive available → both sides told (branch), or ws + Redis round trips (floor)."""
    if args.kind == "raw":
        await _round_trips(args)
        return
    async with aiohttp.ClientSession() as http:
        citizen = await open_page(http, args.url, citizen_runs(1, 900_000)[0])
        executive = await open_page(http, args.url, executive_runs(1)[0], "/executive")
        _emit({"ready": True})
        async for command in _commands():
            samples = []
            for _ in range(command["samples"]):
                contact, took = await paired(citizen, executive)
                samples.append(took)
                await end_call(executive, citizen, contact)
            _emit(quantiles(samples))


async def paired(citizen: Person, executive: Person) -> tuple[str, float]:
    """The citizen waits, the executive becomes available: (contact, ms until both are told).

    The call is then accepted and started, ready for `end_call`.
    """
    await citizen.send("queue.join", service="general", reason=first_reason(citizen))
    contact = str((await citizen.receive("queue.joined"))["contactId"])
    # What the join and the last wrap-up sent (ticket, position, summary, state) is
    # read first: a waiting page has long read it when its executive comes.
    await settle(citizen, executive)
    started = time.perf_counter()
    await executive.send("agent.available")
    told = await asyncio.gather(citizen.arrival("queue.offered"), executive.arrival("offer"))
    took = (max(told) - started) * 1000
    await executive.send("offer.accept", contactId=contact)
    await asyncio.gather(executive.receive("call.started"), citizen.receive("call.started"))
    return contact, took


async def _round_trips(args: argparse.Namespace) -> None:
    """One websocket echo through the raw relay plus one Redis PING, per sample.

    The echo is read as the branch's pages are (`Person.arrival`: the frame decoded
    and its type checked), so both sides of the ratio pay the same client work.
    The PING's own median comes too, for the least a Redis pairing can take.
    """
    client = aioredis.Redis.from_url(args.redis)
    async with aiohttp.ClientSession() as http:
        me = Person("floor", await http.ws_connect(f"{args.url}?id=me"), {})
        wire = json.dumps({"to": "me", "type": "echo", "data": "x" * 200})
        await client.ping()
        _emit({"ready": True})
        async for command in _commands():
            samples, pings = [], []
            for _ in range(command["samples"]):
                started = time.perf_counter()
                await me.socket.send_str(wire)
                echoed = await me.arrival("echo")
                await client.ping()
                done = time.perf_counter()
                samples.append((done - started) * 1000)
                pings.append((done - echoed) * 1000)
            _emit({**quantiles(samples), "ping_p50": percentile(pings, 0.5)})
        await me.socket.close()
    await client.aclose()


# The moments of a call's setup, in order: the figure of each step is the time since the
# moment before it that happened (the direct peers have no call.started).
SETUP_STEPS = (
    ("call.started", "accept → call.started at both pages"),
    ("offer ready", "→ offer created (offerer have-local-offer)"),
    ("offer applied", "→ offer at the answerer, applied (have-remote-offer)"),
    ("answer ready", "→ answer created (answerer stable)"),
    ("answer applied", "→ answer at the offerer, applied (offerer stable)"),
    ("connected", "→ ICE and DTLS connected on both peers"),
)


class SetupTimeline:
    """When each step of one call's setup happened, read from the peers' own events."""

    def __init__(self, started: float) -> None:
        self.started = started
        self.moments: dict[str, float] = {}
        self.connected = asyncio.Event()
        self._connected: set[int] = set()

    def mark(self, moment: str) -> None:
        self.moments.setdefault(moment, time.perf_counter())

    def watch(self, pc: RTCPeerConnection, *, offerer: bool) -> None:
        states = (
            {"have-local-offer": "offer ready", "stable": "answer applied"}
            if offerer
            else {"have-remote-offer": "offer applied", "stable": "answer ready"}
        )

        @pc.on("signalingstatechange")
        def on_signaling() -> None:
            if pc.signalingState in states:
                self.mark(states[pc.signalingState])

        @pc.on("connectionstatechange")
        def on_connection() -> None:
            if pc.connectionState == "connected":
                self._connected.add(id(pc))
                if len(self._connected) == 2:
                    self.mark("connected")
                    self.connected.set()

    def steps(self) -> dict[str, float]:
        """Milliseconds of each step that happened."""
        figures, previous = {}, self.started
        for moment, _label in SETUP_STEPS:
            if moment in self.moments:
                figures[moment] = (self.moments[moment] - previous) * 1000
                previous = self.moments[moment]
        return figures


def _setup_reply(timelines: list[SetupTimeline]) -> dict[str, float]:
    totals = [(t.moments["connected"] - t.started) * 1000 for t in timelines]
    reply = quantiles(totals)
    for moment, _label in SETUP_STEPS:
        found = [t.steps()[moment] for t in timelines if moment in t.moments]
        if found:
            reply[f"step {moment}"] = percentile(found, 0.5)
    return reply


async def setup(args: argparse.Namespace) -> None:
    """Accept → ICE connected through the branch, or two aiortc peers wired directly."""
    if args.kind == "direct":
        await _direct_once()  # the first call loads codecs and warms caches: not measured
        _emit({"ready": True})
        async for command in _commands():
            _emit(_setup_reply([await _direct_once() for _ in range(command["samples"])]))
        return
    citizen, executive = BranchClient(args.url), BranchClient(args.url)
    await citizen.login(citizen_runs(1, 950_000)[0], "Carga", "Benchmark", "/citizen")
    await executive.login(executive_runs(1)[0], "Carga", "Benchmark", "/executive")
    await citizen.connect()
    await executive.connect()
    await _branch_once(citizen, executive)  # as for the direct peers, the first is not measured
    _emit({"ready": True})
    async for command in _commands():
        timelines = []
        for _ in range(command["samples"]):
            timelines.append(await _branch_once(citizen, executive))
        _emit(_setup_reply(timelines))
    await citizen.close()
    await executive.close()


async def _branch_once(citizen: BranchClient, executive: BranchClient) -> SetupTimeline:
    await executive.send("agent.available")
    reason = (citizen.welcome or {})["services"][0]["reasons"][0]["code"]
    await citizen.send("queue.join", service="general", reason=reason)
    contact = (await citizen.receive("queue.joined"))["contactId"]
    await executive.receive("offer")
    timeline = SetupTimeline(time.perf_counter())
    await executive.send("offer.accept", contactId=contact)
    await executive.receive("call.started")
    await citizen.receive("call.started")
    timeline.mark("call.started")
    peers = [
        CallPeer(citizen, contact, initiator=False),
        CallPeer(executive, contact, initiator=True),
    ]
    try:
        for peer in peers:
            timeline.watch(peer.pc, offerer=peer.initiator)
            await peer.start()
        await asyncio.gather(*(peer.wait_connected(30) for peer in peers))
        timeline.mark("connected")
    finally:
        for peer in peers:
            await peer.close()
    await hang_up(executive, contact, reason)
    await citizen.receive("call.ended")
    return timeline


async def _direct_once() -> SetupTimeline:
    from aiortc.mediastreams import AudioStreamTrack

    # Started before the peer connections exist, as the branch's peers are made after call.started.
    timeline = SetupTimeline(time.perf_counter())
    offerer = RTCPeerConnection(RTCConfiguration(iceServers=[]))
    answerer = RTCPeerConnection(RTCConfiguration(iceServers=[]))
    timeline.watch(offerer, offerer=True)
    timeline.watch(answerer, offerer=False)
    tracks = [TestPatternTrack(), AudioStreamTrack(), TestPatternTrack(), AudioStreamTrack()]
    offerer.addTrack(tracks[0])
    offerer.addTrack(tracks[1])
    await offerer.setLocalDescription(await offerer.createOffer())
    await answerer.setRemoteDescription(offerer.localDescription)
    answerer.addTrack(tracks[2])
    answerer.addTrack(tracks[3])
    await answerer.setLocalDescription(await answerer.createAnswer())
    await offerer.setRemoteDescription(answerer.localDescription)
    await asyncio.wait_for(timeline.connected.wait(), 30)
    for track in tracks:
        track.stop()
    await offerer.close()
    await answerer.close()
    return timeline
