"""`branch probe`: one synthetic contact, end to end, against a running branch.

A citizen and an executive played by aiortc peers log in through the
development login, queue, pair, exchange real media until frames arrive
on both sides, hang up and wrap up. Each step prints with its time; the
first failure is named and the exit code is non-zero. With an executive URL
the two sides connect to different nodes of one deployment, so the contact
crosses nodes the way real ones do.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, TypeVar

from branch.web.client import BranchClient, ClientError
from branch.web.peer import CallPeer

T = TypeVar("T")
FRAMES_VIDEO = 10
FRAMES_AUDIO = 10


class StepFailed(Exception):
    pass


class Steps:
    def __init__(self, timeout: float) -> None:
        self.timeout = timeout

    async def run(self, name: str, action: Callable[[], Awaitable[T]]) -> T:
        started = time.perf_counter()
        try:
            result = await asyncio.wait_for(action(), self.timeout)
        except TimeoutError:
            print(f"FAIL {name}: no answer within {self.timeout:g} s", flush=True)
            raise StepFailed(name) from None
        except (ClientError, OSError, ValueError, KeyError, RuntimeError) as exc:
            print(f"FAIL {name}: {exc}", flush=True)
            raise StepFailed(name) from None
        print(f"ok   {name:<22} {(time.perf_counter() - started) * 1000:8.1f} ms", flush=True)
        return result


async def run_probe(
    url: str,
    *,
    executive_url: str | None = None,
    insecure: bool = False,
    ca_file: str | Path | None = None,
    citizen_run: str = "44.444.444-4",
    executive_run: str = "11.111.111-1",
    timeout: float = 30.0,
) -> int:
    """Run the synthetic contact; 0 when every step passed, 1 otherwise."""
    steps = Steps(timeout)
    citizen = BranchClient(url, ca_file=ca_file, insecure=insecure)
    executive = BranchClient(executive_url or url, ca_file=ca_file, insecure=insecure)
    peers: list[CallPeer] = []
    try:
        await steps.run(
            "login citizen", lambda: citizen.login(citizen_run, "Prueba", "Sintética", "/citizen")
        )
        me = await steps.run(
            "login executive",
            lambda: executive.login(executive_run, "Ejecutivo", "Sonda", "/executive"),
        )

        async def check_role() -> None:
            if me.get("role") != "executive":
                raise ClientError(f"{executive_run} has the role {me.get('role')!r}, not executive")

        await steps.run("executive role", check_role)
        await steps.run("connect", lambda: _connect_both(citizen, executive))

        async def available() -> dict[str, Any]:
            await executive.send("agent.available")
            while True:
                state = await executive.receive("agent.state")
                if state["state"] == "available":
                    return state

        await steps.run("executive available", available)

        service: dict[str, Any] = {}

        async def join() -> dict[str, Any]:
            service.update(probe_service(citizen, executive))
            await citizen.send(
                "queue.join",
                service=service["code"],
                reason=service["reasons"][0]["code"],
                text="branch probe",
            )
            return await citizen.receive("queue.joined")

        joined = await steps.run("citizen joins", join)
        contact_id = joined["contactId"]

        async def offered() -> dict[str, Any]:
            while True:
                offer = await executive.receive("offer")
                if offer["contactId"] == contact_id:
                    return offer

        await steps.run("offer received", offered)

        async def accept() -> None:
            await executive.send("offer.accept", contactId=contact_id)
            await executive.receive("call.started")
            await citizen.receive("call.started")

        await steps.run("call started", accept)
        citizen_peer = CallPeer(citizen, contact_id, initiator=False)
        executive_peer = CallPeer(executive, contact_id, initiator=True)
        peers += [citizen_peer, executive_peer]

        async def media() -> None:
            await citizen_peer.start()
            await executive_peer.start()
            await asyncio.gather(
                citizen_peer.wait_connected(timeout), executive_peer.wait_connected(timeout)
            )

        await steps.run("media connected", media)
        await steps.run(
            "frames both ways",
            lambda: asyncio.gather(
                citizen_peer.wait_frames(FRAMES_VIDEO, FRAMES_AUDIO, timeout),
                executive_peer.wait_frames(FRAMES_VIDEO, FRAMES_AUDIO, timeout),
            ),
        )

        async def hang_up() -> None:
            await citizen.send("call.hangup", contactId=contact_id)
            await citizen.receive("call.ended")
            await executive.receive("call.ended")

        await steps.run("hang up", hang_up)

        async def wrap_up() -> None:
            welcome = executive.welcome or {}
            outcome = welcome["outcomes"][0]["code"]
            await executive.send(
                "wrapup.submit",
                contactId=contact_id,
                outcome=outcome,
                reason=service["reasons"][0]["code"],
                notes="Contacto sintético de branch probe",
                then="not_ready",
            )
            await executive.receive("wrapup.saved")

        await steps.run("wrap-up", wrap_up)
    except StepFailed:
        return 1
    finally:
        for peer in peers:
            await peer.close()
        await citizen.close()
        await executive.close()
    print(f"probe passed: contact {joined.get('folio')}", flush=True)
    return 0


def probe_service(citizen: BranchClient, executive: BranchClient) -> dict[str, Any]:
    """An open service the probe's executive serves, first skill tier first."""
    services = {s["code"]: s for s in (citizen.welcome or {}).get("services", []) if s["open"]}
    skills = (executive.welcome or {}).get("skills", [])
    for code in (code for tier in skills for code in tier):
        if code in services:
            return dict(services[code])
    raise ClientError("no open service that the probe's executive serves")


async def _connect_both(citizen: BranchClient, executive: BranchClient) -> None:
    await citizen.connect()
    await executive.connect()
