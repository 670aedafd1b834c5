"""A citizen and an executive, played by BranchClients, paired into one call."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator

from branch.web.client import BranchClient
from branch.web.peer import CallPeer
from tests.conftest import CITIZEN_RUN, EXECUTIVE_RUN


async def both_connected(citizen: BranchClient, executive: BranchClient) -> None:
    """Log in the citizen (CITIZEN_RUN) and the executive (EXECUTIVE_RUN); open both pages."""
    await citizen.login(CITIZEN_RUN, "María José", "González Pérez", "/citizen")
    await executive.login(EXECUTIVE_RUN, "Eva", "Díaz", "/executive")
    await citizen.connect()
    await executive.connect()


async def pair_into_call(citizen: BranchClient, executive: BranchClient) -> str:
    """Log both in, queue, offer, accept; returns the contact id once the call started."""
    await both_connected(citizen, executive)
    await citizen.send("queue.join", reason="licencias", text="Licencia rechazada")
    contact_id = str((await citizen.receive("queue.joined"))["contactId"])
    await executive.send("agent.available")
    await executive.receive("offer")
    await executive.send("offer.accept", contactId=contact_id)
    await executive.receive("call.started")
    await citizen.receive("call.started")
    return contact_id


@contextlib.asynccontextmanager
async def connected_peers(
    citizen: BranchClient, executive: BranchClient, contact_id: str
) -> AsyncIterator[tuple[CallPeer, CallPeer]]:
    """aiortc peers for both sides of the call, connected; closed on the way out."""
    citizen_peer = CallPeer(citizen, contact_id, initiator=False)
    executive_peer = CallPeer(executive, contact_id, initiator=True)
    try:
        await executive_peer.start()
        await citizen_peer.start()
        await citizen_peer.wait_connected()
        await executive_peer.wait_connected()
        yield citizen_peer, executive_peer
    finally:
        await citizen_peer.close()
        await executive_peer.close()
