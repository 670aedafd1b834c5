"""The client's address behind trusted proxies: believed from them only, right-most first."""

from __future__ import annotations

from ipaddress import ip_network

import pytest

from branch.web.forwarded import Network, client_address

PROXIES: tuple[Network, ...] = (ip_network("10.0.0.0/8"), ip_network("fd00::/8"))


@pytest.mark.parametrize(
    ("peer", "forwarded_for", "expected"),
    [
        # Not through a trusted proxy: the header is whatever the client wrote.
        ("198.51.100.7", ["203.0.113.9"], "198.51.100.7"),
        ("198.51.100.7", [], "198.51.100.7"),
        # Through one trusted proxy: the entry it appended.
        ("10.0.0.2", ["203.0.113.9"], "203.0.113.9"),
        # The client's own entries come first and are never believed.
        ("10.0.0.2", ["1.2.3.4, 203.0.113.9"], "203.0.113.9"),
        # Two trusted proxies in a row: past both.
        ("10.0.0.2", ["1.2.3.4, 203.0.113.9, 10.1.1.1"], "203.0.113.9"),
        # Several header lines are one list, in order.
        ("10.0.0.2", ["1.2.3.4", "203.0.113.9", " 10.1.1.1 "], "203.0.113.9"),
        # IPv6, and an IPv4 client seen through a dual-stack socket.
        ("fd00::1", ["2001:db8::5"], "2001:db8::5"),
        ("::ffff:10.0.0.2", ["203.0.113.9"], "203.0.113.9"),
        ("::ffff:198.51.100.7", [], "198.51.100.7"),
        # A trusted proxy without the header, or one that passed on garbage: the proxy itself.
        ("10.0.0.2", [], "10.0.0.2"),
        ("10.0.0.2", ["203.0.113.9, unknown"], "10.0.0.2"),
        ("10.0.0.2", ["not-an-address, 10.1.1.1"], "10.1.1.1"),
        # Only trusted proxies all the way: the left-most of them.
        ("10.0.0.2", ["10.3.3.3, 10.1.1.1"], "10.3.3.3"),
        # A socket without an address (a Unix socket).
        (None, ["203.0.113.9"], "?"),
    ],
)
def test_the_client_address(peer: str | None, forwarded_for: list[str], expected: str) -> None:
    assert client_address(peer, forwarded_for, PROXIES) == expected


def test_without_trusted_proxies_the_header_is_never_read() -> None:
    assert client_address("10.0.0.2", ["203.0.113.9"], ()) == "10.0.0.2"
