"""The waiting room's load clients: citizens spread over worker processes, executives in one.

A page's socket is read by one process, and a long line is pushed to every page
once a second: at 10,000 waiting one process reading every push (10,000 frames a
second) set the pace of the logins, of the readiness checks and so of the takes,
not the node. So ``citizens`` workers each hold a share of the room
(``--first`` .. ``--first + --count``), and ``takers`` holds the executives.
All times are ``time.monotonic()``, CLOCK_MONOTONIC, one clock for every process
of the machine, so a take counted by the takers and a position read by a worker
can be subtracted.

Citizens answer ``{"op": "record"}`` (keep every push from now on) and
``{"op": "staleness", "takes": [...], "end": t}`` (their pages' samples); the
takers answer ``{"op": "round", ...}`` with the moments of the takes.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import time
from dataclasses import dataclass, field
from typing import Any

import aiohttp
import orjson

from benchmarks.calls import hang_up
from benchmarks.people import Person, open_page
from benchmarks.servers import citizen_runs, executive_runs

SETUP_TIMEOUT = 180.0  # seconds for one waiting citizen's welcome or join


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
    shown: int = 0  # the place shown when the recording began

    def start_recording(self) -> None:
        """From now on every push is kept, after the place the page shows now."""
        if self.last_push is not None:
            at, text = self.last_push
            self.positions = [(at, int(orjson.loads(text)["position"]))]
        self.recording = True
        self.shown = self.positions[-1][1] if self.positions else 0

    async def run(self) -> None:
        with contextlib.suppress(aiohttp.ClientError, ConnectionError):
            async for frame in self.person.socket:
                if frame.type is not aiohttp.WSMsgType.TEXT:
                    continue
                if not self.recording and '"queue.position"' in frame.data:
                    # Read only if it is still the last one when the drain begins.
                    self.last_push = (time.monotonic(), frame.data)
                    continue
                message = orjson.loads(frame.data)
                if message["type"] == "queue.position":
                    self.positions.append((time.monotonic(), int(message["position"])))
                else:
                    if message["type"] == "queue.offered":
                        self.offered_at = min(self.offered_at, time.monotonic())
                    await self.person.answer_readiness(message)

    def staleness(self, takes: list[float], end: float) -> list[float]:
        """For take k (sorted) while this page is behind it: seconds until it showed its new place.

        Takes are counted as the executives see ``call.started``; a page offered before
        the takes ahead of it were counted stops showing a place at its offer.
        """
        stale = []
        cursor = 0
        shown_at = self.positions
        for k, taken_at in enumerate(takes, start=1):
            target = self.shown - k
            if target < 1 or taken_at >= self.offered_at:
                break
            while cursor < len(shown_at) and shown_at[cursor][1] > target:
                cursor += 1
            seen = shown_at[cursor][0] if cursor < len(shown_at) else end
            stale.append(max(0.0, min(seen, self.offered_at) - taken_at))
        return stale


def _emit(reply: dict[str, Any]) -> None:
    from benchmarks.load import emit

    emit(reply)


async def _command() -> dict[str, Any] | None:
    from benchmarks.load import next_command

    return await next_command()


def _session() -> aiohttp.ClientSession:
    return aiohttp.ClientSession(
        connector=aiohttp.TCPConnector(limit=0), timeout=aiohttp.ClientTimeout(total=120)
    )


async def citizens(args: argparse.Namespace) -> None:
    """A share of the room: registered ids (raw, PeerJS), or citizens logged in and in line."""
    async with _session() as http:
        sockets: list[aiohttp.ClientWebSocketResponse] = []
        # Read from the moment each page joins, as a browser does: an unread socket
        # fills up and stalls the node's pushes to everyone else.
        watchers: list[Watcher] = []
        reading: list[asyncio.Task[None]] = []
        semaphore = asyncio.Semaphore(args.parallel)

        async def one(index: int) -> None:
            async with semaphore:
                if args.kind == "branch":
                    run = citizen_runs(1, index)[0]
                    person = await open_page(http, args.url, run, timeout=SETUP_TIMEOUT)
                    await person.send("queue.join", service="general", reason="otro")
                    joined = await person.receive("queue.joined", timeout=SETUP_TIMEOUT)
                    person.contact_id = str(joined["contactId"])
                    watchers.append(Watcher(person))
                    reading.append(asyncio.create_task(watchers[-1].run()))
                    sockets.append(person.socket)
                    return
                own = f"w{index}"
                query = f"?id={own}" if args.kind == "raw" else f"?key=peerjs&id={own}&token=t"
                sockets.append(await http.ws_connect(args.url + query, heartbeat=None))

        started = time.monotonic()
        indexes = range(args.first, args.first + args.count)
        await asyncio.gather(*(one(index) for index in indexes))
        _emit(
            {"ready": True, "connected": len(sockets), "started": started, "at": time.monotonic()}
        )
        while (command := await _command()) is not None:
            if command["op"] == "record":
                for watcher in watchers:
                    watcher.start_recording()
                _emit({"recording": len(watchers)})
            elif command["op"] == "staleness":
                takes = sorted(command["takes"])
                stale = [
                    round(sample, 4)
                    for watcher in watchers
                    for sample in watcher.staleness(takes, command["end"])
                ]
                _emit({"stale": stale, "offered": sum(w.offered_at < 1e300 for w in watchers)})
            else:
                _emit({"error": f"unknown op {command['op']!r}"})
        for task in reading:
            task.cancel()
        for socket in sockets:
            await socket.close()


async def takers(args: argparse.Namespace) -> None:
    """The executives: on each round they take ``rate`` citizens a second for ``seconds``."""
    async with _session() as http:
        executives = [
            await open_page(http, args.url, run, "/executive") for run in executive_runs(args.count)
        ]
        _emit({"ready": True, "executives": len(executives)})
        while (command := await _command()) is not None:
            _emit(await _take(executives, command))
        for executive in executives:
            await executive.socket.close()


async def _take(executives: list[Person], command: dict[str, Any]) -> dict[str, Any]:
    takes: list[float] = []
    interval = 1 / command["rate"]
    deadline = time.monotonic() + command["seconds"]
    turn = asyncio.Semaphore(1)

    async def serve(executive: Person) -> None:
        while time.monotonic() < deadline:
            async with turn:
                # One executive becomes available per interval: the pace of the takes.
                await executive.send("agent.available")
                await asyncio.sleep(interval)
            try:
                # Nobody left to take: the line is empty before the drain's end.
                offer = await executive.receive(
                    "offer", timeout=max(deadline - time.monotonic(), 0) + 2
                )
            except TimeoutError:
                return
            contact = offer["contactId"]
            await executive.send("offer.accept", contactId=contact)
            await executive.receive("call.started")
            takes.append(time.monotonic())
            await hang_up(executive, contact, "otro")

    started = time.monotonic()
    await asyncio.gather(*(serve(executive) for executive in executives))
    drained = time.monotonic() - started
    # The pages have this long after the last take to show it.
    await asyncio.sleep(command.get("settle", 2.0))
    return {"takes": takes, "rate": len(takes) / drained, "end": time.monotonic()}
