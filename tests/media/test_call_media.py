"""Real media: aiortc peers as citizen and executive, through the branch's signaling."""

from __future__ import annotations

import pytest

from branch.web.app import RECORDS
from branch.web.client import BranchClient
from branch.web.peer import CallPeer
from tests.conftest import CITIZEN_RUN, EXECUTIVE_RUN, StartBranch


@pytest.mark.media
async def test_citizen_and_executive_exchange_video_and_audio(start_branch: StartBranch) -> None:
    node = await start_branch()
    async with (
        BranchClient(node.url, ca_file=node.ca_path) as citizen,
        BranchClient(node.url, ca_file=node.ca_path) as executive,
    ):
        await citizen.login(CITIZEN_RUN, "María José", "González Pérez", "/citizen")
        await executive.login(EXECUTIVE_RUN, "Eva", "Díaz", "/executive")
        await citizen.connect()
        await executive.connect()
        await citizen.send("queue.join", reason="licencias", text="Licencia rechazada")
        contact_id = (await citizen.receive("queue.joined"))["contactId"]
        await executive.send("agent.available")
        offer = await executive.receive("offer")
        assert offer["citizen"] == {"run": CITIZEN_RUN, "name": "María González"}
        await executive.send("offer.accept", contactId=contact_id)
        assert (await executive.receive("call.started"))["initiator"] is True
        assert (await citizen.receive("call.started"))["polite"] is True

        citizen_peer = CallPeer(citizen, contact_id, initiator=False)
        executive_peer = CallPeer(executive, contact_id, initiator=True)
        try:
            await citizen_peer.start()
            await executive_peer.start()
            await citizen_peer.wait_connected()
            await executive_peer.wait_connected()
            await citizen_peer.wait_frames(video=15, audio=15)
            await executive_peer.wait_frames(video=15, audio=15)
            assert (
                citizen_peer.pc.connectionState == executive_peer.pc.connectionState == "connected"
            )
        finally:
            await citizen_peer.close()
            await executive_peer.close()

        await executive.send("call.hangup", contactId=contact_id)
        assert (await citizen.receive("call.ended"))["by"] == "executive"
        await executive.receive("call.ended")
        await executive.send(
            "wrapup.submit",
            contactId=contact_id,
            outcome="resuelto",
            reason="licencias",
            notes="Se explicó el rechazo",
        )
        await executive.receive("wrapup.saved")

    record = (await node.app[RECORDS].recent(1))[0]
    assert (record.contact_id, record.citizen_run, record.executive_run) == (
        contact_id,
        CITIZEN_RUN,
        EXECUTIVE_RUN,
    )
    assert record.end_reason == "completed" and record.outcome_code == "resuelto"
    assert record.notes == "Se explicó el rechazo"
    assert (
        record.answered_at is not None
        and record.ended_at is not None
        and record.ended_at > record.answered_at
    )
