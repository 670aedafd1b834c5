"""Whom a request comes from when reverse proxies stand in front: for per-client limits.

Behind a proxy that terminates TLS every request's socket peer is the proxy, so a
limit keyed on the peer puts every citizen in one bucket. A proxy listed in
``trusted_proxies`` appends the address it was connected from to X-Forwarded-For;
walking that list from the right, past the trusted proxies, the first entry that
is not one of them is the client as the nearest trusted proxy saw it. Anything
further left was written by the client and is never believed, nor is the header
at all when the peer is not a trusted proxy.

Not aiohttp-remotes: its strict middleware answers 400 to every request whose
peer is not a trusted proxy and expects a fixed number of hops, and its relaxed
one believes the header from anyone; the limits need neither.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from ipaddress import IPv4Address, IPv4Network, IPv6Address, IPv6Network, ip_address

Address = IPv4Address | IPv6Address
Network = IPv4Network | IPv6Network

UNKNOWN = "?"  # a peer without an address (a Unix socket): one bucket for all of them


def client_address(
    peer: str | None, forwarded_for: Iterable[str], trusted: Sequence[Network]
) -> str:
    """The address to count a request against: the peer, unless it is a trusted proxy."""
    nearest = _parse(peer)
    if nearest is None:
        return peer or UNKNOWN
    # Several headers count as one list, in order (RFC 9110 field lines).
    hops = [hop.strip() for value in forwarded_for for hop in value.split(",")]
    while _is_trusted(nearest, trusted) and hops:
        written = _parse(hops.pop())
        if written is None:
            # A trusted proxy passed on something that is not an address: keep to the proxy.
            break
        nearest = written
    return str(nearest)


def _is_trusted(address: Address, trusted: Sequence[Network]) -> bool:
    return any(address in network for network in trusted)


def _parse(text: str | None) -> Address | None:
    try:
        address = ip_address((text or "").strip())
    except ValueError:
        return None
    # An IPv4 client seen through a dual-stack socket is the same client.
    if isinstance(address, IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped
    return address
