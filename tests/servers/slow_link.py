"""A slow link of the kernel's own: a network namespace behind a rate-limited veth pair.

Chromium's DevTools network throttling slows HTTP and the websocket but not WebRTC media
(RTP goes around the network service), so it cannot show what a weak mobile link does to a
call. Here the citizen's Chromium runs inside a namespace whose only way out is one veth
pair, and both ends of the pair are shaped with a token bucket (``tbf``: rate and the longest
a packet may queue). Every packet of the page — HTTP, websocket, ICE, DTLS, RTP — crosses it.

Needs root, ``ip`` and ``tc`` (Debian package iproute2) and the kernel's ``sch_tbf``; a
missing piece fails the test with the command that failed. (``netem`` would add a fixed delay
and loss, but the kernels this runs on do not always ship it; a full token bucket queue
delays packets by up to its latency and then drops, which is what a congested mobile
uplink does.)
"""

from __future__ import annotations

import os
import shlex
import shutil
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from ipaddress import IPv4Address
from pathlib import Path

import pytest


@dataclass(frozen=True)
class SlowLink:
    """A namespace ``namespace`` reached from the host at ``host_address`` over a shaped link."""

    namespace: str
    host_device: str
    inner_device: str
    host_address: str
    inner_address: str

    def chromium_wrapper(self, folder: Path, chromium: str) -> Path:
        """An executable that runs ``chromium`` with its arguments inside the namespace.

        Playwright drives Chromium over inherited pipes, which ``ip netns exec`` keeps, so
        the browser is controlled as usual while all its traffic takes the slow link.
        """
        ip = _tool("ip")
        script = folder / f"chromium-in-{self.namespace}"
        command = shlex.join([ip, "netns", "exec", self.namespace, chromium])
        script.write_text(f'#!/bin/sh\nexec {command} "$@"\n')
        script.chmod(0o755)
        return script


def _tool(name: str) -> str:
    path = shutil.which(name) or shutil.which(name, path="/usr/sbin:/sbin")
    if path is None:
        pytest.fail(
            f"`{name}` is not installed: the slow-link test needs iproute2 (run `make setup`)",
            pytrace=False,
        )
    return path


def _run(*command: str) -> None:
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        pytest.fail(
            f"cannot build the slow link: `{' '.join(command)}` exited with "
            f"{done.returncode}: {done.stderr.strip() or done.stdout.strip()}"
            " (the slow-link test must run as root on a kernel with veth and sch_tbf)",
            pytrace=False,
        )


def _wait_until_up(device: str) -> None:
    """The pair carries traffic (both ends up) before any browser starts behind it."""
    state = Path("/sys/class/net") / device / "operstate"
    for _attempt in range(100):
        if state.read_text().strip() == "up":
            return
        time.sleep(0.02)
    pytest.fail(f"the slow link's {device} did not come up within 2 s", pytrace=False)


def _addresses(pid: int) -> tuple[str, str]:
    """A /30 inside 10.0.0.0/8 of this process's own, so parallel runs never collide."""
    network = int(IPv4Address("10.0.0.0")) + (pid % (1 << 22)) * 4
    return str(IPv4Address(network + 1)), str(IPv4Address(network + 2))


@dataclass(frozen=True)
class Shaping:
    """Token-bucket settings, and which directions of the namespace's traffic they slow.

    ``upload`` shapes the namespace's end of the pair (what its browser sends), ``download``
    the host's end (what reaches the browser): a mobile link is often slow one way only.
    """

    rate: str = "400kbit"
    burst: str = "16kbit"
    latency: str = "400ms"
    upload: bool = True
    download: bool = True

    def __post_init__(self) -> None:
        if not (self.upload or self.download):
            raise ValueError("Shaping slows neither upload nor download: shape at least one")

    @property
    def qdisc(self) -> tuple[str, ...]:
        """The ``tc qdisc add dev <device>`` arguments for the root of one device."""
        return ("root", "tbf", "rate", self.rate, "burst", self.burst, "latency", self.latency)


def open_slow_link(shaping: Shaping) -> Iterator[SlowLink]:
    """Create namespace, veth pair and shaping; tear all of it down however the test ends."""
    if os.geteuid() != 0:
        pytest.fail(
            "the slow-link test needs root (network namespaces and tc); run it as root",
            pytrace=False,
        )
    ip, tc = _tool("ip"), _tool("tc")
    pid = os.getpid()
    host_address, inner_address = _addresses(pid)
    link = SlowLink(
        namespace=f"branch-slow-{pid}",
        host_device=f"bsl{pid}h",
        inner_device=f"bsl{pid}n",
        host_address=host_address,
        inner_address=inner_address,
    )
    # A run killed before its teardown may have left a namespace with this very pid.
    subprocess.run([ip, "netns", "delete", link.namespace], capture_output=True, check=False)
    subprocess.run([ip, "link", "delete", link.host_device], capture_output=True, check=False)
    try:
        _run(ip, "netns", "add", link.namespace)
        _run(ip, "link", "add", link.host_device, "type", "veth", "peer", "name", link.inner_device)
        _run(ip, "link", "set", link.inner_device, "netns", link.namespace)
        # No IPv6 on the pair: its link-local address, ready only seconds after the link
        # is up, would reach a browser already started as a network change, and
        # Chromium fails the page it is loading with ERR_NETWORK_CHANGED.
        in_namespace = (ip, "netns", "exec", link.namespace)
        for device, run_in in ((link.host_device, ()), (link.inner_device, in_namespace)):
            switch = f"/proc/sys/net/ipv6/conf/{device}/disable_ipv6"
            _run(*run_in, "sh", "-c", f"[ ! -e {switch} ] || echo 1 > {switch}")
        _run(ip, "addr", "add", f"{link.host_address}/30", "dev", link.host_device)
        _run(ip, "link", "set", link.host_device, "up")
        inside = (ip, "-n", link.namespace)
        _run(*inside, "addr", "add", f"{link.inner_address}/30", "dev", link.inner_device)
        _run(*inside, "link", "set", link.inner_device, "up")
        _run(*inside, "link", "set", "lo", "up")
        if shaping.download:
            _run(tc, "qdisc", "add", "dev", link.host_device, *shaping.qdisc)
        if shaping.upload:
            _run(tc, "-n", link.namespace, "qdisc", "add", "dev", link.inner_device, *shaping.qdisc)
        _wait_until_up(link.host_device)
        yield link
    finally:
        # Deleting the namespace deletes its end of the pair, and with it the host's end.
        subprocess.run([ip, "netns", "delete", link.namespace], capture_output=True, check=False)
        subprocess.run([ip, "link", "delete", link.host_device], capture_output=True, check=False)
