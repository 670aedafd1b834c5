"""Load clients for pairing, call setup and the draining waiting room."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import time
from dataclasses import dataclass, field
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
        _hang_up(executive, contact, first_reason(citizen)), citizen.receive("call.ended")
    )


class Speaker(Protocol):
    """A page the load client drives: a bare `Person` or a whole `BranchClient`."""

    async def send(self, kind: str, **fields: Any) -> None: ...
    async def receive(self, kind: str) -> dict[str, Any]: ...


async def _hang_up(executive: Speaker, contact: str, reason: str) -> None:
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
    """
    client = aioredis.Redis.from_url(args.redis)
    async with aiohttp.ClientSession() as http:
        me = Person("floor", await http.ws_connect(f"{args.url}?id=me"), {})
        wire = json.dumps({"to": "me", "type": "echo", "data": "x" * 200})
        await client.ping()
        _emit({"ready": True})
        async for command in _commands():
            samples = []
            for _ in range(command["samples"]):
                started = time.perf_counter()
                await me.socket.send_str(wire)
                await me.arrival("echo")
                await client.ping()
                samples.append((time.perf_counter() - started) * 1000)
            _emit(quantiles(samples))
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
    await _hang_up(executive, contact, reason)
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


@dataclass
class Watcher:
    """Keeps the positions a waiting page displays, and answers its readiness checks."""

    person: Person
    positions: list[tuple[float, int]] = field(default_factory=list)
    # From its offer on a page shows "connecting", no longer a place in line.
    offered_at: float = float("inf")
    # Until the drain begins only the place shown last matters: ten thousand pages
    # keeping every push of a long login phase grew the load client by millions of
    # tuples, and its garbage collector's pauses timed its own logins out.
    recording: bool = False
    last_push: tuple[float, str] | None = None

    def start_recording(self) -> int:
        """The place the page shows now; from now on every push is kept."""
        if self.last_push is not None:
            at, text = self.last_push
            self.positions = [(at, int(json.loads(text)["position"]))]
        self.recording = True
        return self.positions[-1][1] if self.positions else 0

    async def run(self) -> None:
        with contextlib.suppress(aiohttp.ClientError, ConnectionError):
            async for frame in self.person.socket:
                if frame.type is not aiohttp.WSMsgType.TEXT:
                    continue
                if not self.recording and '"queue.position"' in frame.data:
                    # Read only if it is still the last one when the drain begins.
                    self.last_push = (time.perf_counter(), frame.data)
                    continue
                message = json.loads(frame.data)
                if message["type"] == "queue.position":
                    self.positions.append((time.perf_counter(), int(message["position"])))
                else:
                    if message["type"] == "queue.offered":
                        self.offered_at = min(self.offered_at, time.perf_counter())
                    await self.person.answer_readiness(message)


async def drain_room(
    http: aiohttp.ClientSession, url: str, watchers: list[Watcher], command: dict[str, Any]
) -> dict[str, Any]:
    """Executives take ``rate`` citizens a second for ``seconds``; the staleness of positions."""
    executives = [
        await open_page(http, url, run, "/executive")
        for run in executive_runs(command["executives"])
    ]
    await asyncio.sleep(command.get("settle", 2.0))
    shown = {id(watcher): watcher.start_recording() for watcher in watchers}
    takes: list[float] = []
    interval = 1 / command["rate"]
    deadline = time.perf_counter() + command["seconds"]
    turn = asyncio.Semaphore(1)

    async def serve(executive: Person) -> None:
        while time.perf_counter() < deadline:
            async with turn:
                # One executive becomes available per interval: the pace of the takes.
                await executive.send("agent.available")
                await asyncio.sleep(interval)
            try:
                # Nobody left to take: the line is empty before the drain's end.
                offer = await executive.receive(
                    "offer", timeout=max(deadline - time.perf_counter(), 0) + 2
                )
            except TimeoutError:
                return
            contact = offer["contactId"]
            await executive.send("offer.accept", contactId=contact)
            await executive.receive("call.started")
            takes.append(time.perf_counter())
            await _hang_up(executive, contact, "otro")

    started = time.perf_counter()
    await asyncio.gather(*(serve(executive) for executive in executives))
    drained = time.perf_counter() - started
    await asyncio.sleep(command.get("settle", 2.0))
    end = time.perf_counter()
    stale = _staleness(watchers, shown, sorted(takes), end)
    for executive in executives:
        await executive.socket.close()
    return {
        "taken": len(takes),
        "rate": len(takes) / drained,
        "staleness_p50": percentile(stale, 0.5) if stale else 0.0,
        "staleness_p99": percentile(stale, 0.99) if stale else 0.0,
        "pairs": len(stale),
    }


def _staleness(
    watchers: list[Watcher], shown: dict[int, int], takes: list[float], end: float
) -> list[float]:
    """For every take k and every page still behind it: seconds until it showed its new place.

    Takes are counted as the executives see ``call.started``; a page offered before
    the takes ahead of it were counted stops showing a place at its offer.
    """
    stale = []
    for watcher in watchers:
        start = shown[id(watcher)]
        cursor = 0
        shown_at = watcher.positions
        for k, taken_at in enumerate(takes, start=1):
            target = start - k
            if target < 1 or taken_at >= watcher.offered_at:
                break
            while cursor < len(shown_at) and shown_at[cursor][1] > target:
                cursor += 1
            seen = shown_at[cursor][0] if cursor < len(shown_at) else end
            stale.append(max(0.0, min(seen, watcher.offered_at) - taken_at))
    return stale
