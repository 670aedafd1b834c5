"""An aiortc peer that takes a citizen's or an executive's side of a call.

For the probe, tests and load clients: it speaks the branch's signaling as
the browser pages do (the executive offers, the citizen answers) and counts
the frames it receives, so "media flows both ways" is a number, not a hope.
aiortc gathers all its candidates before it returns a local description, so
it sends no trickle of its own, but it accepts the other side's.
"""

from __future__ import annotations

import asyncio
import contextlib
import fractions
from typing import Any

import av
from aiortc import (
    MediaStreamTrack,
    RTCConfiguration,
    RTCIceServer,
    RTCIceTransportPolicy,
    RTCPeerConnection,
    RTCSessionDescription,
)
from aiortc.mediastreams import AudioStreamTrack, MediaStreamError, VideoStreamTrack
from aiortc.sdp import candidate_from_sdp
from cryptography.hazmat.primitives import hashes

from branch.verification import normalize, verification_code
from branch.web.client import BranchClient

SIGNALS = ("signal.description", "signal.candidate")


class TestPatternTrack(VideoStreamTrack):
    """Small frames with a moving bar: cheap to encode, visibly alive."""

    def __init__(self, width: int = 320, height: int = 240) -> None:
        super().__init__()
        self.width, self.height = width, height
        self.count = 0

    async def recv(self) -> av.VideoFrame:
        pts, time_base = await self.next_timestamp()
        frame = av.VideoFrame(width=self.width, height=self.height, format="yuv420p")
        for plane in frame.planes:
            plane.update(bytes([(self.count * 7) % 256]) * plane.buffer_size)
        frame.pts = pts
        frame.time_base = time_base if time_base else fractions.Fraction(1, 90000)
        self.count += 1
        return frame


def ice_servers(welcome: dict[str, Any]) -> list[RTCIceServer]:
    """The node's ICE servers, always explicit: aiortc's default public STUN stalls a closed network."""
    servers = []
    for server in welcome.get("iceServers", []):
        servers.append(
            RTCIceServer(
                urls=server["urls"],
                username=server.get("username"),
                credential=server.get("credential"),
            )
        )
    return servers


def dtls_fingerprints(pc: RTCPeerConnection) -> tuple[str, str]:
    """(local, remote) fingerprints, as upper-case hex, of the first established DTLS transport."""
    for transceiver in pc.getTransceivers():
        dtls = transceiver.sender.transport
        if dtls is None or dtls.state != "connected":
            continue
        local = next(
            f.value for f in dtls.getLocalParameters().fingerprints if f.algorithm == "sha-256"
        )
        # The certificate the peer presented in the handshake, not the one signaling announced.
        connection = dtls._ssl
        peer = connection.get_peer_certificate(as_cryptography=True) if connection else None
        if peer is None:
            continue
        remote = peer.fingerprint(hashes.SHA256()).hex()
        return normalize(local), normalize(remote)
    raise RuntimeError("no established DTLS transport yet")


class CallPeer:
    def __init__(self, client: BranchClient, contact_id: str, *, initiator: bool) -> None:
        if client.welcome is None:
            raise RuntimeError("connect the client before starting a call peer")
        self.client = client
        self.contact_id = contact_id
        self.initiator = initiator
        self.pc = RTCPeerConnection(
            RTCConfiguration(
                iceServers=ice_servers(client.welcome),
                iceTransportPolicy=RTCIceTransportPolicy(
                    client.welcome.get("iceTransportPolicy", "all")
                ),
            )
        )
        self.frames: dict[str, int] = {"video": 0, "audio": 0}
        self.connected = asyncio.Event()
        self._tracks_added = False
        self._tasks: list[asyncio.Task[None]] = []
        self._outgoing: list[MediaStreamTrack] = []

        @self.pc.on("track")
        def on_track(track: MediaStreamTrack) -> None:
            self._tasks.append(asyncio.create_task(self._count(track)))

        @self.pc.on("connectionstatechange")
        async def on_state() -> None:
            if self.pc.connectionState == "connected":
                self.connected.set()

    async def _count(self, track: MediaStreamTrack) -> None:
        # Reading every frame keeps memory flat and proves decoding works.
        with contextlib.suppress(MediaStreamError):
            while True:
                await track.recv()
                self.frames[track.kind] += 1

    def _add_tracks(self) -> None:
        if not self._tracks_added:
            self._outgoing = [TestPatternTrack(), AudioStreamTrack()]
            for track in self._outgoing:
                self.pc.addTrack(track)
            self._tracks_added = True

    async def start(self) -> None:
        """Begin signaling: the initiator sends its offer; both then follow the other side."""
        if self.initiator:
            self._add_tracks()
            await self.pc.setLocalDescription(await self.pc.createOffer())
            await self._send_description()
        self.follow()

    def follow(self) -> None:
        """Follow the other side's signaling on the client's socket (again, after a reconnect)."""
        self._tasks.append(asyncio.create_task(self._follow()))

    async def renegotiate(self) -> None:
        """Offer again over the established connection: a round trip of signaling, media untouched."""
        await self.pc.setLocalDescription(await self.pc.createOffer())
        await self._send_description()

    async def wait_stable(self, timeout: float = 10.0) -> None:
        """Until the last offer has its answer."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while self.pc.signalingState != "stable":
            if loop.time() > deadline:
                raise TimeoutError(f"signaling still {self.pc.signalingState} after {timeout:g} s")
            await asyncio.sleep(0.05)

    async def _send_description(self) -> None:
        local = self.pc.localDescription
        await self.client.send(
            "signal.description",
            contactId=self.contact_id,
            description={"type": local.type, "sdp": local.sdp},
        )

    async def _follow(self) -> None:
        while True:
            message = await self.client.receive(SIGNALS, timeout=3600, raise_errors=False)
            if message.get("contactId") != self.contact_id:
                continue
            if message["type"] == "signal.description":
                await self._on_description(message["description"])
            else:
                await self._on_candidate(message["candidate"])

    async def _on_description(self, description: dict[str, str]) -> None:
        await self.pc.setRemoteDescription(
            RTCSessionDescription(description["sdp"], description["type"])
        )
        if description["type"] == "offer":
            # aiortc answers sendrecv only when the tracks come after the remote offer.
            self._add_tracks()
            await self.pc.setLocalDescription(await self.pc.createAnswer())
            await self._send_description()

    async def _on_candidate(self, candidate: dict[str, Any] | None) -> None:
        if candidate is None:
            return
        text = candidate["candidate"].removeprefix("candidate:")
        parsed = candidate_from_sdp(text)
        parsed.sdpMid = candidate.get("sdpMid")
        parsed.sdpMLineIndex = candidate.get("sdpMLineIndex")
        await self.pc.addIceCandidate(parsed)

    def fingerprints(self) -> tuple[str, str]:
        """(local, remote) SHA-256 fingerprints of the certificates DTLS actually used."""
        return dtls_fingerprints(self.pc)

    def verification_code(self) -> str:
        return verification_code(*self.fingerprints())

    def selected_candidate_types(self) -> set[tuple[str, str]]:
        """(local, remote) candidate types of the pairs ICE nominated, e.g. ("relay", "relay")."""
        types = set()
        for transceiver in self.pc.getTransceivers():
            transport = transceiver.sender.transport
            if transport is None:
                continue
            # aioice keeps the nominated pairs to itself; aiortc's getStats has no candidate pairs.
            connection = transport.transport._connection
            for pair in connection._nominated.values():
                types.add((pair.local_candidate.type, pair.remote_candidate.type))
        return types

    async def wait_connected(self, timeout: float = 20.0) -> None:
        await asyncio.wait_for(self.connected.wait(), timeout)

    async def wait_frames(self, video: int, audio: int, timeout: float = 20.0) -> None:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while self.frames["video"] < video or self.frames["audio"] < audio:
            if loop.time() > deadline:
                raise TimeoutError(
                    f"received {self.frames} frames, expected {video} video and {audio} audio"
                )
            await asyncio.sleep(0.05)

    async def close(self) -> None:
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        for track in self._outgoing:
            track.stop()
        await self.pc.close()
