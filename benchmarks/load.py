"""Load clients, each in its own process: ``python -m benchmarks.load MODE --kind K --url U``.

Setup happens once (logins, pairing, connections), then the process prints
``{"ready": ...}`` and answers one JSON line per ``{"op": "round", ...}`` line
on stdin until ``{"op": "quit"}``. Modes: ``relay`` (paired connections
bouncing SDP-sized messages), ``citizens`` and ``takers`` (a share of the
waiting room, its executives: see `benchmarks.waiting`), ``pairing`` and
``setup`` (see `benchmarks.calls`), ``crossnode`` (see `benchmarks.nodes`).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time
from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import dataclass, field
from typing import Any

import aiohttp
import orjson

from benchmarks.people import open_page, pair
from benchmarks.servers import citizen_runs, executive_runs

SDP_LINE = "a=candidate:1 1 udp 2122260223 192.0.2.10 54321 typ host generation 0\r\n"


def sdp_sized(size: int) -> str:
    """An SDP-looking text of ``size`` characters."""
    head = "v=0\r\no=- 4611731400430051336 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\n"
    body = head + SDP_LINE * (size // len(SDP_LINE) + 1)
    return body[:size]


@dataclass
class Link:
    """One end of a relayed pair: how to send to the other end, and what came in."""

    socket: aiohttp.ClientWebSocketResponse
    encode: Callable[[], str]
    accept: Callable[[dict[str, Any]], bool]
    other: Link | None = None


@dataclass
class CallLoad:
    """A closed loop over one call: each message received is answered until the budget ends."""

    ends: tuple[Link, Link]
    expected: int = 0
    remaining: int = 0
    received: int = 0
    done: asyncio.Event = field(default_factory=asyncio.Event)

    def start(self, budget: int, window: int) -> list[Awaitable[None]]:
        """Messages in flight to begin a round of ``budget`` messages."""
        first = min(window, budget)
        self.expected, self.remaining, self.received = budget, budget - first, 0
        self.done = asyncio.Event()
        return [self.ends[0].socket.send_str(self.ends[0].encode()) for _ in range(first)]

    async def on_message(self, end: Link) -> None:
        self.received += 1
        if self.remaining > 0:
            self.remaining -= 1
            await end.socket.send_str(end.encode())
        if self.received >= self.expected:
            self.done.set()


async def _read(load: CallLoad, end: Link) -> None:
    # orjson for every server alike: the stdlib's ≈ 8 µs per 2 KB frame was a fifth of
    # the client's cost per message, and the client, not the server, bounded the raw relay.
    async for frame in end.socket:
        if frame.type is aiohttp.WSMsgType.TEXT and end.accept(orjson.loads(frame.data)):
            await load.on_message(end)


async def relay_links(
    kind: str,
    url: str,
    calls: int,
    size: int,
    http: aiohttp.ClientSession,
    ready: Callable[[tuple[Link, Link]], None],
) -> None:
    """Connected pairs on the raw relay, PeerJS or the branch (logged in, in a call), each to ``ready``."""
    payload = sdp_sized(size)
    for index in range(calls):
        if kind == "branch":
            citizen = await open_page(http, url, citizen_runs(1, index)[0])
            executive = await open_page(http, url, executive_runs(calls)[index], "/executive")
            contact = await pair(citizen, executive)
            wire = json.dumps(
                {
                    "type": "signal.description",
                    "contactId": contact,
                    "description": {"type": "offer", "sdp": payload},
                }
            )

            def is_signal(message: dict[str, Any]) -> bool:
                return message.get("type") == "signal.description"

            a = Link(citizen.socket, lambda wire=wire: wire, is_signal)  # type: ignore[misc]
            b = Link(executive.socket, lambda wire=wire: wire, is_signal)  # type: ignore[misc]
        else:
            ids = (f"c{index}", f"e{index}")
            sockets = []
            for own in ids:
                query = f"?id={own}" if kind == "raw" else f"?key=peerjs&id={own}&token=t{own}"
                socket = await http.ws_connect(url + query)
                if kind == "peerjs":
                    opened = json.loads((await socket.receive()).data)
                    if opened.get("type") != "OPEN":
                        raise RuntimeError(f"PeerJS refused {own}: {opened}")
                sockets.append(socket)
            if kind == "raw":
                wires = [json.dumps({"to": other, "data": payload}) for other in reversed(ids)]

                def accept(message: dict[str, Any]) -> bool:
                    return "data" in message
            else:
                wires = [
                    json.dumps({"type": "OFFER", "dst": other, "payload": {"sdp": payload}})
                    for other in reversed(ids)
                ]

                def accept(message: dict[str, Any]) -> bool:
                    return message.get("type") == "OFFER"

            a = Link(sockets[0], lambda wire=wires[0]: wire, accept)  # type: ignore[misc]
            b = Link(sockets[1], lambda wire=wires[1]: wire, accept)  # type: ignore[misc]
        a.other, b.other = b, a
        ready((a, b))


async def relay(args: argparse.Namespace) -> None:
    async with aiohttp.ClientSession() as http:
        loads: list[CallLoad] = []
        readers: list[asyncio.Task[None]] = []

        def read_from_now(ends: tuple[Link, Link]) -> None:
            # Read from the moment a pair is set up, as a page does: an unread socket
            # answers no ping, and the node ends it while the other calls are set up.
            loads.append(CallLoad(ends))
            readers.extend(asyncio.create_task(_read(loads[-1], end)) for end in ends)

        await relay_links(args.kind, args.url, args.calls, args.size, http, read_from_now)
        emit({"ready": True, "calls": len(loads)})
        while (command := await next_command()) is not None:
            per_call = max(1, command["messages"] // len(loads))
            sends: list[Awaitable[None]] = []
            for load in loads:
                sends += load.start(per_call, command.get("window", 4))
            started = time.perf_counter()
            await asyncio.gather(*sends)
            await asyncio.wait_for(
                asyncio.gather(*(load.done.wait() for load in loads)), command.get("timeout", 120)
            )
            seconds = time.perf_counter() - started
            emit({"messages": per_call * len(loads), "seconds": seconds})
        for task in readers:
            task.cancel()


def emit(reply: dict[str, Any]) -> None:
    sys.stdout.write(json.dumps(reply) + "\n")
    sys.stdout.flush()


async def next_command() -> dict[str, Any] | None:
    line = await asyncio.to_thread(sys.stdin.readline)
    if not line:
        return None
    command: dict[str, Any] = json.loads(line)
    return None if command.get("op") == "quit" else command


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.load")
    parser.add_argument(
        "mode",
        choices=(
            "relay",
            "citizens",
            "takers",
            "pairing",
            "setup",
            "floor",
            "records",
            "crossnode",
        ),
    )
    parser.add_argument("--kind", choices=("branch", "raw", "peerjs", "direct"), required=True)
    parser.add_argument("--url", default="")
    parser.add_argument("--executive-url", default="", help="crossnode: the second node")
    parser.add_argument("--calls", type=int, default=50)
    parser.add_argument("--size", type=int, default=2048)
    parser.add_argument("--count", type=int, default=100)
    parser.add_argument("--first", type=int, default=0, help="citizens: index of the first")
    parser.add_argument("--parallel", type=int, default=20)
    parser.add_argument("--redis", default="")
    parser.add_argument("--records", default="")
    args = parser.parse_args()
    from benchmarks import calls, floor, nodes, waiting

    modes: dict[str, Callable[[argparse.Namespace], Coroutine[Any, Any, None]]] = {
        "relay": relay,
        "citizens": waiting.citizens,
        "takers": waiting.takers,
        "pairing": calls.pairing,
        "setup": calls.setup,
        "floor": floor.redis_floor,
        "records": floor.records,
        "crossnode": nodes.load,
    }
    try:
        asyncio.run(modes[args.mode](args))
    except Exception as exc:
        emit({"error": f"{type(exc).__name__}: {exc}"})
        raise


if __name__ == "__main__":
    main()
