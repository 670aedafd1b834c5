"""`branch probe` against a running node, and against nothing."""

from __future__ import annotations

import socket

import pytest

from branch.probe import run_probe
from tests.conftest import CITIZEN_RUN, StartBranch


@pytest.mark.media
async def test_probe_passes_every_step(
    start_branch: StartBranch, capsys: pytest.CaptureFixture[str]
) -> None:
    node = await start_branch()
    assert await run_probe(node.url, ca_file=node.ca_path, timeout=20) == 0
    output = capsys.readouterr().out
    for step in (
        "login citizen",
        "login executive",
        "connect",
        "executive available",
        "citizen joins",
        "offer received",
        "call started",
        "media connected",
        "frames both ways",
        "hang up",
        "wrap-up",
    ):
        assert f"ok   {step}" in output
    assert "probe passed: contact " in output


async def test_probe_names_the_first_failed_step_when_nothing_listens(
    capsys: pytest.CaptureFixture[str],
) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    assert await run_probe(f"https://127.0.0.1:{port}", insecure=True, timeout=5) == 1
    output = capsys.readouterr().out
    assert output.startswith("FAIL login citizen: cannot reach")


async def test_probe_fails_when_the_executive_run_is_not_staff(
    start_branch: StartBranch, capsys: pytest.CaptureFixture[str]
) -> None:
    node = await start_branch()
    code = await run_probe(
        node.url, ca_file=node.ca_path, executive_run=CITIZEN_RUN, citizen_run="13.131.313-6"
    )
    assert code == 1
    output = capsys.readouterr().out
    assert f"FAIL executive role: {CITIZEN_RUN} has the role 'citizen', not executive" in output
