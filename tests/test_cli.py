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


async def test_serve_dev_starts_with_fresh_certificates_and_answers_health(tmp_path: Path) -> None:
    port = free_port()
    env = {
        **os.environ,
        "BRANCH_HOST": "127.0.0.1",
        "BRANCH_PORT": str(port),
        "BRANCH_DATA_DIR": str(tmp_path / "data"),
        "BRANCH_CERTS_DIR": str(tmp_path / "certs"),
    }
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "branch",
        "serve",
        "--dev",
        env=env,
        stdout=asyncio.subprocess.PIPE,
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
