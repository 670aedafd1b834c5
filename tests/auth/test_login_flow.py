"""The development login over real HTTPS: sessions, cookies, logout and its own provider.

The relying party's refusals are tested against a real provider in test_provider_login.py.
"""

from __future__ import annotations

import base64
import gc
import hashlib
import re
import time
from collections.abc import AsyncIterator
from urllib.parse import parse_qs, urlsplit

import aiohttp
import pytest
from aiohttp import web
from yarl import URL

from branch.auth.sessions import COOKIE_NAME
from branch.tls import client_context
from branch.web.client import BranchClient, ClientError
from branch.web.devlogin import DEV_PROVIDER
from tests.conftest import CITIZEN_RUN, EXECUTIVE_RUN, SUPERVISOR_RUN, RunningBranch, StartBranch


@pytest.fixture
async def node(start_branch: StartBranch) -> RunningBranch:
    return await start_branch()


@pytest.fixture
async def http(node: RunningBranch) -> AsyncIterator[aiohttp.ClientSession]:
    connector = aiohttp.TCPConnector(ssl=client_context(node.ca_path))
    async with aiohttp.ClientSession(
        connector=connector, cookie_jar=aiohttp.CookieJar(unsafe=True)
    ) as session:
        yield session


async def authorize(
    http: aiohttp.ClientSession, node: RunningBranch, run: str = CITIZEN_RUN
) -> str:
    """Start a login and submit the development form; returns the callback URL."""
    async with http.get(f"{node.url}/login?next=/citizen") as page:
        form = await page.text()
        authorize_url = str(page.url)
    fields = dict(re.findall(r'name="([a-z_]+)" value="([^"]*)"', form))
    fields.update(run=run, given_name="María José", family_name="González Pérez")
    async with http.post(
        f"{node.url}/dev-login/authorize",
        data=fields,
        headers={"Origin": node.url},
        allow_redirects=False,
    ) as answer:
        assert answer.status == 302, await answer.text()
        assert authorize_url.startswith(f"{node.url}/dev-login/authorize?")
        return answer.headers["Location"]


@pytest.mark.parametrize(
    ("run", "role", "landing"),
    [
        (CITIZEN_RUN, "citizen", "/citizen"),
        (EXECUTIVE_RUN, "executive", "/citizen"),
        (SUPERVISOR_RUN, "supervisor", "/citizen"),
    ],
)
async def test_login_sets_a_host_cookie_and_a_role(
    http: aiohttp.ClientSession, node: RunningBranch, run: str, role: str, landing: str
) -> None:
    callback = await authorize(http, node, run)
    assert callback.startswith(f"{node.url}/auth/callback?")
    assert parse_qs(urlsplit(callback).query)["iss"] == [node.settings.issuer]
    async with http.get(callback, allow_redirects=False) as response:
        assert response.status == 302 and response.headers["Location"] == landing
        [cookie] = [
            header
            for header in response.headers.getall("Set-Cookie")
            if header.startswith(f"{COOKIE_NAME}=")
        ]
    for flag in ("Secure", "HttpOnly", "SameSite=Lax", "Path=/"):
        assert flag in cookie
    assert "Domain" not in cookie
    async with http.get(f"{node.url}/api/me") as me:
        assert await me.json() == {"run": run, "name": "María González", "role": role}


async def test_a_login_leaves_no_request_to_the_cyclic_collector(
    http: aiohttp.ClientSession, node: RunningBranch
) -> None:
    # A request kept by a reference cycle waits, with its connection, for the collector,
    # and meanwhile the pages opened by earlier logins are allocated among them.
    gc.collect()
    gc.disable()
    try:
        callback = await authorize(http, node)
        async with http.get(callback) as landing:
            assert landing.status == 200
        gc.set_debug(gc.DEBUG_SAVEALL)
        gc.collect()
        kept = [type(thing).__name__ for thing in gc.garbage if isinstance(thing, web.Request)]
    finally:
        gc.set_debug(0)
        gc.garbage.clear()
        gc.enable()
    assert kept == []


async def test_logout_ends_the_session_server_side(
    http: aiohttp.ClientSession, node: RunningBranch
) -> None:
    async with http.get(await authorize(http, node), allow_redirects=False):
        pass
    stolen = http.cookie_jar.filter_cookies(URL(node.url))[COOKIE_NAME].value
    async with http.post(f"{node.url}/logout", allow_redirects=False) as refused:
        assert refused.status == 403 and (await refused.json())["code"] == "bad_origin"
    async with http.post(
        f"{node.url}/logout", headers={"Origin": node.url}, allow_redirects=False
    ) as response:
        assert response.status == 303
        target = urlsplit(response.headers["Location"])
        assert f"{target.scheme}://{target.netloc}{target.path}" == f"{node.url}/dev-login/logout"
        assert parse_qs(target.query) == {"redirect": [f"{node.url}/"]}
    async with http.get(f"{node.url}/api/me") as me:
        assert me.status == 401
    # The old cookie, replayed, is dead too: logout ended the session on the server.
    http.cookie_jar.update_cookies({COOKIE_NAME: stolen}, URL(node.url))
    async with http.get(f"{node.url}/api/me") as me:
        assert me.status == 401


async def test_session_id_is_rotated_at_login(
    http: aiohttp.ClientSession, node: RunningBranch
) -> None:
    async with http.get(await authorize(http, node), allow_redirects=False):
        pass
    first = http.cookie_jar.filter_cookies(URL(node.url))[COOKIE_NAME].value
    async with http.get(await authorize(http, node), allow_redirects=False):
        pass
    second = http.cookie_jar.filter_cookies(URL(node.url))[COOKIE_NAME].value
    assert first != second
    http.cookie_jar.update_cookies({COOKIE_NAME: first}, URL(node.url))
    async with http.get(f"{node.url}/api/me") as me:
        assert me.status == 401


async def test_the_probe_client_reports_a_refused_login(node: RunningBranch) -> None:
    async with BranchClient(node.url, ca_file=node.ca_path) as client:
        with pytest.raises(ClientError) as caught:
            await client.login("44.444.444-5", "Ana", "Rojas")
    assert str(caught.value) == (
        "login refused (HTTP 400): El RUN 44.444.444-5 no es válido: el dígito verificador no corresponde"
    )


async def test_token_endpoint_refuses_code_replay_and_a_wrong_verifier(
    http: aiohttp.ClientSession, node: RunningBranch
) -> None:
    provider = node.app[DEV_PROVIDER]
    verifier = "v" * 50
    challenge = (
        base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    )
    fields = {
        "client_id": provider.client.client_id,
        "redirect_uri": node.settings.redirect_uri,
        "state": "s",
        "nonce": "n",
        "scope": "openid run name",
        "response_type": "code",
        "code_challenge": challenge,
        "code_challenge_method": "S256",
        "run": CITIZEN_RUN,
        "given_name": "Ana",
        "family_name": "Rojas",
    }

    async def code() -> str:
        async with http.post(
            f"{node.url}/dev-login/authorize",
            data=fields,
            headers={"Origin": node.url},
            allow_redirects=False,
        ) as answer:
            return parse_qs(urlsplit(answer.headers["Location"]).query)["code"][0]

    async def exchange(grant: str, code_verifier: str) -> tuple[int, dict[str, str]]:
        form = {
            "grant_type": "authorization_code",
            "code": grant,
            "redirect_uri": node.settings.redirect_uri,
            "client_id": provider.client.client_id,
            "client_secret": provider.client.client_secret,
            "code_verifier": code_verifier,
        }
        async with http.post(f"{node.url}/dev-login/token", data=form) as response:
            return response.status, await response.json()

    grant = await code()
    assert (await exchange(grant, verifier))[0] == 200
    assert await exchange(grant, verifier) == (
        400,
        {"error": "invalid_grant", "error_description": "unknown, used or expired code"},
    )
    assert await exchange(await code(), "w" * 50) == (
        400,
        {"error": "invalid_grant", "error_description": "PKCE verification failed"},
    )


async def test_userinfo_answers_its_own_unexpired_tokens_only(
    http: aiohttp.ClientSession, node: RunningBranch
) -> None:
    provider = node.app[DEV_PROVIDER]
    userinfo = {"sub": "s1", "RolUnico": {"numero": 11111111, "DV": "1", "tipo": "RUN"}}
    token = provider.access_token(userinfo, time.time() + 60)
    payload, _, mac = token.partition(".")
    other = provider.access_token({**userinfo, "sub": "s2"}, time.time() + 60)
    refused = {"error": "invalid_token", "error_description": "unknown or expired access token"}

    async def ask(bearer: str) -> tuple[int, dict[str, object]]:
        headers = {"Authorization": f"Bearer {bearer}"}
        async with http.get(f"{node.url}/dev-login/userinfo", headers=headers) as response:
            return response.status, await response.json()

    assert await ask(token) == (200, userinfo)
    assert await ask(f"{other.partition('.')[0]}.{mac}") == (401, refused)
    assert await ask(f"{payload}.{'A' * len(mac)}") == (401, refused)
    assert await ask(payload) == (401, refused)
    assert await ask(provider.access_token(userinfo, time.time() - 1)) == (401, refused)


async def test_dev_login_refuses_a_foreign_redirect_uri(
    http: aiohttp.ClientSession, node: RunningBranch
) -> None:
    client_id = node.app[DEV_PROVIDER].client.client_id
    url = (
        f"{node.url}/dev-login/authorize?client_id={client_id}&response_type=code&scope=openid"
        "&redirect_uri=https://evil.example/cb&state=s&code_challenge=c&code_challenge_method=S256"
    )
    async with http.get(url) as page:
        assert page.status == 400
        assert "redirect_uri no registrado" in await page.text()
