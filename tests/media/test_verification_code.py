"""Verification codes over real DTLS: equal on a direct call, different with a man in the middle."""

from __future__ import annotations

import asyncio
import contextlib

import pytest
from aiortc import RTCConfiguration, RTCPeerConnection, RTCSessionDescription
from aiortc.contrib.media import MediaRelay
from aiortc.mediastreams import AudioStreamTrack, MediaStreamTrack
from av import VideoFrame

from branch.verification import verification_code
from branch.web.client import BranchClient
from branch.web.peer import TestPatternTrack as PatternTrack
from branch.web.peer import dtls_fingerprints
from tests.conftest import StartBranch
from tests.media.support import connected_peers, pair_into_call

pytestmark = pytest.mark.media


async def test_both_ends_of_a_call_through_the_branch_read_the_same_code(
    start_branch: StartBranch,
) -> None:
    node = await start_branch()
    async with (
        BranchClient(node.url, ca_file=node.ca_path) as citizen,
        BranchClient(node.url, ca_file=node.ca_path) as executive,
    ):
        contact_id = await pair_into_call(citizen, executive)
        async with connected_peers(citizen, executive, contact_id) as (
            citizen_peer,
            executive_peer,
        ):
            local, remote = citizen_peer.fingerprints()
            assert (remote, local) == executive_peer.fingerprints()
            assert citizen_peer.verification_code() == executive_peer.verification_code()


def new_peer() -> RTCPeerConnection:
    return RTCPeerConnection(RTCConfiguration(iceServers=[]))


async def connect(offerer: RTCPeerConnection, answerer: RTCPeerConnection) -> None:
    """Signaling as a compromised server would carry it: straight between the two given."""
    await offerer.setLocalDescription(await offerer.createOffer())
    await answerer.setRemoteDescription(
        RTCSessionDescription(offerer.localDescription.sdp, offerer.localDescription.type)
    )
    await answerer.setLocalDescription(await answerer.createAnswer())
    await offerer.setRemoteDescription(
        RTCSessionDescription(answerer.localDescription.sdp, answerer.localDescription.type)
    )


async def connected(*peers: RTCPeerConnection) -> None:
    async def one(pc: RTCPeerConnection) -> None:
        while pc.connectionState != "connected":
            if pc.connectionState == "failed":
                raise AssertionError("a connection failed")
            await asyncio.sleep(0.02)

    await asyncio.wait_for(asyncio.gather(*(one(pc) for pc in peers)), 20)


async def test_a_man_in_the_middle_makes_the_codes_differ() -> None:
    """The server rewrites signaling so each person's media ends at its own relay.

    Both people get "connected" and real media, and the relay sees everything:
    only the codes tell, because each side's DTLS ends at a different certificate.
    """
    executive, citizen = new_peer(), new_peer()
    to_executive, to_citizen = new_peer(), new_peer()  # the attacker's two ends
    relay = MediaRelay()
    received: list[MediaStreamTrack] = []
    citizen_tracks: list[MediaStreamTrack] = []
    tracks = [PatternTrack(), AudioStreamTrack(), PatternTrack(), AudioStreamTrack()]

    @to_executive.on("track")
    def forward_to_citizen(track: MediaStreamTrack) -> None:
        received.append(track)

    @citizen.on("track")
    def citizen_sees(track: MediaStreamTrack) -> None:
        citizen_tracks.append(track)

    try:
        executive.addTrack(tracks[0])
        executive.addTrack(tracks[1])
        await connect(executive, to_executive)  # the executive's offer is answered by the relay
        await connected(executive, to_executive)
        for track in [t for t in received if t.kind in ("video", "audio")]:
            to_citizen.addTrack(relay.subscribe(track))
        await connect(to_citizen, citizen)  # the relay offers to the citizen
        await connected(to_citizen, citizen)

        # The citizen really sees the executive's video, through the attacker.
        video = next(track for track in citizen_tracks if track.kind == "video")
        frame = await asyncio.wait_for(video.recv(), 10)
        assert isinstance(frame, VideoFrame) and frame.width > 0

        executive_code = verification_code(*dtls_fingerprints(executive))
        citizen_code = verification_code(*dtls_fingerprints(citizen))
        assert executive_code != citizen_code
        # Each person's code is the one shared with the attacker's end they reached.
        assert executive_code == verification_code(*dtls_fingerprints(to_executive))
        assert citizen_code == verification_code(*dtls_fingerprints(to_citizen))
    finally:
        for track in tracks:
            track.stop()
        for pc in (executive, citizen, to_executive, to_citizen):
            with contextlib.suppress(Exception):
                await pc.close()
