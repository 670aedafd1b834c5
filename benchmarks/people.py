"""Logged-in people for the load clients: the development login, then a bare websocket.

The login goes through `BranchClient` (the very redirects and cookie a browser
gets); the websocket is then opened on one shared HTTP session with that
session cookie, so ten thousand waiting citizens cost the load client sockets,
not ten thousand HTTP sessions.
"""

from __future__ import annotations

import asyncio
import json
import time
from dataclasses import dataclass, field
from typing import Any

import aiohttp
import orjson

from branch.auth.sessions import COOKIE_NAME
from branch.web.client import BranchClient, ClientError


@dataclass
class Person:
    """One logged-in page: its socket and what it has been told."""

    run: str
    socket: aiohttp.ClientWebSocketResponse
    welcome: dict[str, Any]
    contact_id: str = ""
    # Filled by the scenario's reader: (arrival time, message) of the kinds it watches.
    seen: list[tuple[float, dict[str, Any]]] = field(default_factory=list)

    async def send(self, kind: str, **fields: Any) -> None:
        await self.socket.send_str(json.dumps({"type": kind, **fields}))

    async def receive(self, *kinds: str, timeout: float = 30.0) -> dict[str, Any]:
        """The next message of one of ``kinds``, answering readiness checks on the way."""
        async with asyncio.timeout(timeout):
            while True:
                frame = await self.socket.receive()
                if frame.type is not aiohttp.WSMsgType.TEXT:
                    raise ClientError(f"{self.run}: socket ended while waiting for {kinds}")
                # orjson, as the relay's reader: the stdlib's decode is most of what a
                # small frame costs this client, and it would be counted in the figures.
                message: dict[str, Any] = orjson.loads(frame.data)
                kind = message["type"]
                if kind == "error":
                    raise ClientError(f"{self.run}: {message['code']}: {message['message']}")
                await self.answer_readiness(message)
                if kind in kinds:
                    return message

    async def answer_readiness(self, message: dict[str, Any]) -> None:
        if message["type"] == "queue.offered" and message.get("readySeconds"):
            await self.send("queue.ready", contactId=message["contactId"])

    async def arrival(self, kind: str) -> float:
        """The moment the next ``kind`` was read, on the clock every timed scenario uses."""
        await self.receive(kind)
        return time.perf_counter()


async def settle(*people: Person) -> None:
    """Each page in turn reads everything the node has sent it so far (a ping, its pong).

    A node handles a page's messages in order, so its pong comes after whatever
    handling that page's earlier messages sent to anyone; one page after the other,
    so what the first page's messages sent the second is read before the second's
    pong. A timed exchange started after this measures its own messages only, not
    the load client reading what a join or a wrap-up left behind.
    """
    for person in people:
        await person.send("ping")
        await person.receive("pong")


async def login_cookie(url: str, run: str, next_path: str) -> str:
    """The session cookie of a fresh development login."""
    async with BranchClient(url) as client:
        await client.login(run, "Carga", "Benchmark", next_path)
        for morsel in client.http.cookie_jar:
            if morsel.key == COOKIE_NAME:
                return morsel.value
    raise ClientError(f"login of {run} left no {COOKIE_NAME} cookie")


async def open_page(
    http: aiohttp.ClientSession,
    url: str,
    run: str,
    next_path: str = "/citizen",
    *,
    timeout: float = 30.0,
) -> Person:
    cookie = await login_cookie(url, run, next_path)
    socket = await http.ws_connect(
        f"{url}/ws", origin=url, headers={"Cookie": f"{COOKIE_NAME}={cookie}"}, heartbeat=None
    )
    person = Person(run, socket, {})
    person.welcome = await person.receive("welcome", timeout=timeout)
    return person


def first_reason(person: Person, service: str = "general") -> str:
    for entry in person.welcome["services"]:
        if entry["code"] == service:
            return str(entry["reasons"][0]["code"])
    raise ClientError(f"no service {service!r} in the welcome")


async def pair(citizen: Person, executive: Person) -> str:
    """Executive available, citizen joins, the offer accepted: the contact id of the call."""
    await executive.send("agent.available")
    await executive.receive("agent.state")
    await citizen.send("queue.join", service="general", reason=first_reason(citizen))
    joined = await citizen.receive("queue.joined")
    contact_id = str(joined["contactId"])
    # The citizen's page answers the readiness check before the executive is offered.
    await asyncio.gather(citizen.receive("queue.offered"), executive.receive("offer"))
    await executive.send("offer.accept", contactId=contact_id)
    await asyncio.gather(executive.receive("call.started"), citizen.receive("call.started"))
    citizen.contact_id = executive.contact_id = contact_id
    return contact_id
