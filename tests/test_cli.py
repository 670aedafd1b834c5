"""The `branch` command as operators run it: a real process."""

from __future__ import annotations

import asyncio
import os
import socket
import ssl
import sys
from pathlib import Path

import aiohttp
import pytest

from branch.cli import build_parser, main
from branch.records.sqlite import SqliteRecordStore
from branch.tls import certificate_hosts, client_context
from tests.servers.redis import RedisServer


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def test_certs_command_writes_ca_and_server_certificate(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("BRANCH_CERTS_DIR", str(tmp_path))
    assert main(["certs", "--host", "branch.lan"]) == 0
    assert {path.name for path in tmp_path.iterdir()} == {
        "ca.pem",
        "ca-key.pem",
        "server.pem",
        "server-key.pem",
    }
    assert oct((tmp_path / "server-key.pem").stat().st_mode & 0o777) == "0o600"
    assert {"localhost", "127.0.0.1", "branch.lan"} <= set(
        certificate_hosts(tmp_path / "server.pem")
    )
    assert "ca.pem" in capsys.readouterr().out


def test_bad_setting_exits_2_naming_the_key(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("BRANCH_PORT", "not-a-port")
    assert main(["records"]) == 2
    assert "configuration error: port:" in capsys.readouterr().err


def test_production_refuses_the_development_login(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("BRANCH_OIDC_DEV_LOGIN", "true")
    assert main(["serve"]) == 2
    assert "the development login cannot run in production mode" in capsys.readouterr().err


def test_records_on_an_empty_branch(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("BRANCH_DATA_DIR", str(tmp_path))
    assert main(["records"]) == 0
    assert "No hay atenciones registradas." in capsys.readouterr().out

    async def trail() -> list[tuple[str, str, dict[str, object]]]:
        store = SqliteRecordStore(tmp_path / "records.sqlite3")
        await store.open()
        try:
            return [(e.kind, e.actor, e.data) for e in await store.audit_entries()]
        finally:
            await store.close()

    assert asyncio.run(trail()) == [("records.read", "cli", {"limit": 20, "count": 0})]


def test_probe_takes_a_second_node_for_the_executive() -> None:
    parser = build_parser()
    args = parser.parse_args(
        ["probe", "https://node1:8443", "--executive-url", "https://node2:8443"]
    )
    assert (args.url, args.executive_url) == ("https://node1:8443", "https://node2:8443")
    assert parser.parse_args(["probe", "https://node1:8443"]).executive_url is None


async def serve_dev(
    tmp_path: Path, env: dict[str, str], stderr: int = asyncio.subprocess.PIPE
) -> asyncio.subprocess.Process:
    """`branch serve --dev` on loopback with its data in the test's folder, and ``env``."""
    return await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "branch",
        "serve",
        "--dev",
        env={
            **os.environ,
            "BRANCH_HOST": "127.0.0.1",
            "BRANCH_DATA_DIR": str(tmp_path / "data"),
            **env,
        },
        stdout=asyncio.subprocess.PIPE,
        stderr=stderr,
    )


async def test_serve_dev_starts_with_fresh_certificates_and_answers_health(tmp_path: Path) -> None:
    port = free_port()
    process = await serve_dev(
        tmp_path,
        {"BRANCH_PORT": str(port), "BRANCH_CERTS_DIR": str(tmp_path / "certs")},
        stderr=asyncio.subprocess.STDOUT,
    )
    try:
        ca = tmp_path / "certs" / "ca.pem"
        status = None
        for _attempt in range(150):
            assert process.returncode is None, "branch serve exited early"
            if ca.exists():
                try:
                    connector = aiohttp.TCPConnector(ssl=client_context(ca))
                    async with (
                        aiohttp.ClientSession(connector=connector) as http,
                        http.get(f"https://localhost:{port}/healthz") as response,
                    ):
                        status = response.status
                        break
                except (aiohttp.ClientConnectionError, ssl.SSLError):
                    pass
            await asyncio.sleep(0.1)
        assert status == 200
    finally:
        if process.returncode is None:
            process.terminate()
        output, _ = await asyncio.wait_for(process.communicate(), timeout=10)
    text = output.decode()
    assert f"abierta en https://localhost:{port}" in text
    assert "ingreso simulado de ClaveÚnica activo" in text


@pytest.mark.parametrize(
    ("setting", "url", "error"),
    [
        (
            "BRANCH_STORES_LIVE",
            "redis://127.0.0.1:{port}/0",
            "branch: stores.live: cannot reach Redis at redis://127.0.0.1:{port}/0: ",
        ),
        (
            "BRANCH_STORES_RECORDS",
            "postgresql://branch@127.0.0.1:{port}/branch",
            "branch: stores.records: PostgreSQL at postgresql://branch@127.0.0.1:{port}/branch "
            "is unreachable: ",
        ),
    ],
)
async def test_serve_with_an_unreachable_store_fails_in_one_line_and_announces_nothing(
    tmp_path: Path, setting: str, url: str, error: str
) -> None:
    store_port = free_port()  # bound, then let go: nothing listens there
    lines = await failed_start(tmp_path, {setting: url.format(port=store_port)})
    assert len(lines) == 1, lines
    assert lines[0].startswith(error.format(port=store_port)), lines[0]


async def test_a_live_store_that_opened_is_closed_when_the_records_cannot_be_reached(
    tmp_path: Path, redis_server: RedisServer
) -> None:
    port = free_port()
    records = f"postgresql://branch@127.0.0.1:{port}/branch"
    lines = await failed_start(
        tmp_path, {"BRANCH_STORES_LIVE": redis_server.url, "BRANCH_STORES_RECORDS": records}
    )
    # Nothing else on stderr: no warning about a Redis connection left open.
    assert len(lines) == 1, lines
    assert lines[0].startswith(f"branch: stores.records: PostgreSQL at {records} is unreachable")


async def failed_start(tmp_path: Path, stores: dict[str, str]) -> list[str]:
    """Run `branch serve --dev` with these store settings; it must exit 3 having printed
    nothing on stdout. Returns its stderr lines."""
    settings = {"BRANCH_PORT": str(free_port()), "BRANCH_TLS": "false", **stores}
    # A resource left open would say so on stderr.
    process = await serve_dev(tmp_path, {**settings, "PYTHONWARNINGS": "always"})
    stdout, stderr = await asyncio.wait_for(process.communicate(), timeout=60)
    assert process.returncode == 3
    assert stdout.decode() == ""  # no "abierta en <url>" for a node that never served
    return stderr.decode().splitlines()
