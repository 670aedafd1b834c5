"""Calls through a real coturn with the branch's short-lived credentials."""

from __future__ import annotations

import base64
import hashlib
import hmac
import time

import pytest
from aiortc import RTCConfiguration, RTCIceServer, RTCPeerConnection

from branch.turn import turn_credentials, turn_user
from branch.web.client import BranchClient
from tests.conftest import StartBranch
from tests.media.support import connected_peers, pair_into_call
from tests.turn_server import TurnServer, coturn

__all__ = ["coturn"]  # the fixture, for the tests below


def test_credentials_follow_the_turn_rest_scheme() -> None:
    username, credential = turn_credentials("s3cret", "abc123", now=1_000_000.4, ttl=3600)
    assert username == "1003600:abc123"
    expected = hmac.new(b"s3cret", b"1003600:abc123", hashlib.sha1).digest()
    assert base64.b64decode(credential) == expected
    with pytest.raises(ValueError, match="secret"):
        turn_credentials("", "abc", 0, 10)
    with pytest.raises(ValueError, match="ttl"):
        turn_credentials("s", "abc", 0, 0)


def test_the_turn_user_is_opaque_and_stable() -> None:
    user = turn_user("citizen:44.444.444-4", "s3cret")
    assert user == turn_user("citizen:44.444.444-4", "s3cret")
    assert "444" not in user and len(user) == 16
    assert user != turn_user("citizen:44.444.444-4", "other")


@pytest.mark.media
async def test_a_relay_only_call_goes_through_coturn(
    start_branch: StartBranch, coturn: TurnServer
) -> None:
    node = await start_branch(
        webrtc_turn_urls=coturn.urls,
        webrtc_turn_secret=coturn.secret,
        webrtc_turn_ttl=600,
        webrtc_ice_transport_policy="relay",
    )
    async with (
        BranchClient(node.url, ca_file=node.ca_path) as citizen,
        BranchClient(node.url, ca_file=node.ca_path) as executive,
    ):
        contact_id = await pair_into_call(citizen, executive)
        assert citizen.welcome is not None
        [turn] = citizen.welcome["iceServers"]
        assert turn["urls"] == list(coturn.urls)
        expiry, _, user = turn["username"].partition(":")
        assert int(expiry) > 0 and "44.444.444-4" not in user
        assert citizen.welcome["iceTransportPolicy"] == "relay"

        async with connected_peers(citizen, executive, contact_id) as (
            citizen_peer,
            executive_peer,
        ):
            await citizen_peer.wait_frames(video=10, audio=10)
            await executive_peer.wait_frames(video=10, audio=10)
            assert citizen_peer.selected_candidate_types() == {("relay", "relay")}
            assert executive_peer.selected_candidate_types() == {("relay", "relay")}


async def relay_candidates(coturn: TurnServer, username: str, credential: str) -> int:
    """How many relay candidates aiortc gathers with these credentials."""
    server = RTCIceServer(urls=list(coturn.urls), username=username, credential=credential)
    pc = RTCPeerConnection(RTCConfiguration(iceServers=[server]))
    try:
        pc.addTransceiver("audio")
        await pc.setLocalDescription(await pc.createOffer())
        return pc.localDescription.sdp.count("typ relay")
    finally:
        await pc.close()


@pytest.mark.media
async def test_coturn_grants_a_fresh_credential_and_refuses_an_expired_one(
    coturn: TurnServer,
) -> None:
    now = time.time()
    fresh = turn_credentials(coturn.secret, "abc", now, ttl=600)
    expired = turn_credentials(coturn.secret, "abc", now - 700, ttl=600)
    forged = (fresh[0], turn_credentials("not-the-secret", "abc", now, ttl=600)[1])
    assert await relay_candidates(coturn, *fresh) == 1
    assert await relay_candidates(coturn, *expired) == 0
    assert await relay_candidates(coturn, *forged) == 0
