"""A real OpenID provider on loopback: the certified `oidc-provider` package, ClaveÚnica-shaped.

`make test` installs it into tests/oidc/node_modules (npm ci); the provider is started once
per test session and each branch node registers its own client with its own redirect URI.
It runs on the `node` on PATH, or on the binary named by BRANCH_TEST_NODE (to try another
Node.js release, such as Debian 12's 18.x, without installing it).
"""

from __future__ import annotations

import html
import json
import os
import re
import secrets
import shutil
import subprocess
import threading
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from yarl import URL

from branch.tls import CertificatePaths, client_context
from tests.conftest import RunningBranch, StartBranch
from tests.processes import stop

PACKAGE_DIR = Path(__file__).parent / "oidc"


def _account(number: int, dv: str, given: list[str], surnames: list[str]) -> dict[str, Any]:
    return {
        "RolUnico": {"numero": number, "DV": dv, "tipo": "RUN"},
        "name": {"nombres": given, "apellidos": surnames},
    }


# Provider account ids are ClaveÚnica's internal `sub`, deliberately unlike the RUN.
ACCOUNTS: dict[str, dict[str, Any]] = {
    # Stray whitespace as the real provider may send it.
    "2594": _account(44444444, "4", [" María ", "José"], ["González", " Pérez "]),
    "7001": _account(11111111, "1", ["Pedro"], ["Soto"]),
    # A RUN whose check digit does not match: the branch must refuse it.
    "6020": _account(44444444, "5", ["Ana"], ["Rojas"]),
    # Userinfo for this one answers with another account's sub (see provider.mjs).
    "6030": {**_account(7000004, "0", ["Luis"], ["Vera"]), "userinfo_sub": "2594"},
}
CITIZEN, EXECUTIVE, BAD_CHECK_DIGIT, OTHER_SUB = "2594", "7001", "6020", "6030"


@dataclass(frozen=True)
class RegisteredClient:
    client_id: str
    client_secret: str


@dataclass(frozen=True)
class OidcProvider:
    port: int
    operator_token: str
    ca_path: Path

    @property
    def issuer(self) -> str:
        return f"https://127.0.0.1:{self.port}/openid"

    async def _control(self, action: str, **form: str) -> dict[str, Any]:
        connector = aiohttp.TCPConnector(ssl=client_context(self.ca_path))
        async with (
            aiohttp.ClientSession(connector=connector) as http,
            http.post(
                f"https://127.0.0.1:{self.port}/control/{action}",
                data=form,
                headers={"Authorization": f"Bearer {self.operator_token}"},
            ) as response,
        ):
            assert response.status == 200, await response.text()
            answer: dict[str, Any] = await response.json()
            return answer

    async def register(
        self,
        redirect_uri: str,
        client: RegisteredClient | None = None,
        post_logout_redirect_uri: str = "https://localhost:9/",
    ) -> RegisteredClient:
        """A client of the provider with one redirect URI, as ClaveÚnica registers them."""
        client = client or RegisteredClient(secrets.token_urlsafe(12), secrets.token_urlsafe(32))
        await self._control(
            "clients",
            client_id=client.client_id,
            client_secret=client.client_secret,
            redirect_uri=redirect_uri,
            post_logout_redirect_uri=post_logout_redirect_uri,
        )
        return client

    async def rotate(self, *, publish: bool = True) -> str:
        """Sign with a new key from now on; the new kid. Unpublished: left out of the JWKS."""
        answer = await self._control("rotate", publish="yes" if publish else "no")
        return str(answer["kid"])

    async def publish(self) -> None:
        await self._control("publish")

    async def jwks_downloads(self) -> int:
        return int((await self._control("stats"))["jwks_downloads"])


@pytest.fixture(scope="session")
def oidc_provider(
    certificates: CertificatePaths, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[OidcProvider]:
    node = os.environ.get("BRANCH_TEST_NODE") or shutil.which("node")
    if node is None:
        pytest.fail("node (Debian package nodejs) is not installed: run `make test`")
    if not (PACKAGE_DIR / "node_modules" / "oidc-provider").is_dir():
        pytest.fail("the npm package oidc-provider is not installed in tests/oidc: run `make test`")
    folder = tmp_path_factory.mktemp("oidc-provider")
    token = secrets.token_urlsafe(24)
    config = folder / "config.json"
    config.write_text(
        json.dumps(
            {
                "tls_cert": str(certificates.server_cert),
                "tls_key": str(certificates.server_key),
                "host": "127.0.0.1",
                "operator_token": token,
                "accounts": ACCOUNTS,
            }
        )
    )
    log_path = folder / "provider.log"
    process = subprocess.Popen(
        [node, str(PACKAGE_DIR / "provider.mjs"), str(config)],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    assert process.stdout is not None
    drain: threading.Thread | None = None
    try:
        port, seen = _wait_for_port(process)
        if port is None:
            pytest.fail(f"oidc-provider did not start: {''.join(seen)[-2000:]}")
        # Keep draining its output into a file, so the pipe never fills.
        drain = threading.Thread(target=_drain, args=(process, log_path, seen), name="oidc-log")
        drain.start()
        yield OidcProvider(port, token, certificates.ca_cert)
    finally:
        stop(process)
        if drain is not None:
            drain.join(timeout=5)
        process.stdout.close()


def _wait_for_port(process: subprocess.Popen[str]) -> tuple[int | None, list[str]]:
    assert process.stdout is not None
    seen: list[str] = []
    timer = threading.Timer(30, process.kill)  # a hung start fails instead of hanging
    timer.start()
    try:
        for line in process.stdout:
            seen.append(line)
            match = re.fullmatch(r"listening (\d+)\n", line)
            if match:
                return int(match.group(1)), seen
    finally:
        timer.cancel()
    return None, seen


def _drain(process: subprocess.Popen[str], path: Path, seen: list[str]) -> None:
    assert process.stdout is not None
    with path.open("w") as log:
        log.writelines(seen)
        for line in process.stdout:
            log.write(line)
            log.flush()


async def start_with_provider(
    start_branch: StartBranch, provider: OidcProvider, **overrides: Any
) -> RunningBranch:
    """A branch node whose login is the real provider, with a client registered for it.

    The redirect URI names the node's port, so the client is registered once it listens;
    the branch first talks to the provider at the first login.
    """
    client = RegisteredClient(secrets.token_urlsafe(12), secrets.token_urlsafe(32))
    options: dict[str, Any] = {
        "oidc_dev_login": False,
        "oidc_issuer": provider.issuer,
        "oidc_client_id": client.client_id,
        "oidc_client_secret": client.client_secret,
        "oidc_ca_file": str(provider.ca_path),
    }
    options.update(overrides)
    node = await start_branch(**options)
    await provider.register(node.settings.redirect_uri, client, f"{node.settings.base_url}/")
    return node


@dataclass(frozen=True)
class Landing:
    status: int
    url: str
    text: str

    @property
    def alert(self) -> str:
        """The catalog key of what the branch's failure page tells the person."""
        match = re.search(r'<p role="alert" data-words="([\w.]+)">', self.text)
        assert match is not None, self.text[:500]
        return match.group(1)

    @property
    def detail(self) -> str:
        """The server's own account of why, folded away on the failure page."""
        match = re.search(r'<p class="detail"[^>]*>(.*?)</p>', self.text, re.S)
        assert match is not None, self.text[:500]
        return html.unescape(match.group(1))


async def authorize(http: aiohttp.ClientSession, start_url: str, account: str) -> str:
    """From a login start to the redirect back to the relying party, returned unfollowed.

    Redirects are followed one by one, as a browser would; the provider's login form is
    filled in with the account when the provider shows it (not when its session is live).
    """
    response = await http.get(start_url, allow_redirects=False)
    while True:
        async with response:
            if response.status == 200 and "/interaction/" in response.url.path:
                form = await response.text()
                match = re.search(r'<form method="post" action="([^"]+)"', form)
                assert match is not None, form[:500]
                target, data = response.url.join(URL(match.group(1))), {"account": account}
            else:
                assert response.status in (302, 303), await response.text()
                target = response.url.join(URL(response.headers["Location"]))
                if not target.path.startswith("/openid/"):
                    return str(target)
                data = None
        if data is None:
            response = await http.get(target, allow_redirects=False)
        else:
            response = await http.post(target, data=data, allow_redirects=False)


async def log_in(
    http: aiohttp.ClientSession, node: RunningBranch, account: str, next_path: str = "/"
) -> Landing:
    """What a browser does: /login, the provider's login form, and every redirect after it."""
    return await visit(http, await authorize(http, f"{node.url}/login?next={next_path}", account))


async def visit(http: aiohttp.ClientSession, url: str) -> Landing:
    """Open a URL, following redirects; where it ended and what it showed."""
    async with http.get(url) as landing:
        return Landing(landing.status, str(landing.url), await landing.text())


def new_browser(ca_path: Path) -> aiohttp.ClientSession:
    """An HTTP client like a browser: trusts the test CA, keeps cookies for both hosts."""
    connector = aiohttp.TCPConnector(ssl=client_context(ca_path))
    return aiohttp.ClientSession(connector=connector, cookie_jar=aiohttp.CookieJar(unsafe=True))


@pytest.fixture
async def browser_like(oidc_provider: OidcProvider) -> AsyncIterator[aiohttp.ClientSession]:
    async with new_browser(oidc_provider.ca_path) as http:
        yield http
