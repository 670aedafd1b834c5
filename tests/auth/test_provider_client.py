"""The branch's OpenID client against the real provider, below the web routes."""

from __future__ import annotations

import dataclasses
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any
from urllib.parse import parse_qs, urlsplit

import aiohttp
import pytest

from branch.auth.oidc import (
    LoginAttempt,
    authorization_url,
    discovery_url,
    new_login_attempt,
    validate_id_token,
)
from branch.config import load_settings
from branch.errors import LoginFailed
from branch.tls import client_context
from branch.web.oidc_client import CODE_REFUSED, OidcClient
from tests.oidc_provider import CITIZEN, OidcProvider, authorize, new_browser

# Registered, but never opened: each test stops at the redirect back.
REDIRECT_URI = "https://localhost:9/auth/callback"
CodeFor = Callable[[LoginAttempt], Awaitable[str]]


@pytest.fixture
async def oidc(oidc_provider: OidcProvider) -> AsyncIterator[OidcClient]:
    registered = await oidc_provider.register(REDIRECT_URI)
    settings = load_settings({}, oidc_issuer=oidc_provider.issuer, oidc_redirect_uri=REDIRECT_URI)
    connector = aiohttp.TCPConnector(ssl=client_context(oidc_provider.ca_path))
    async with aiohttp.ClientSession(connector=connector) as http:
        yield OidcClient(settings, http, registered.client_id, registered.client_secret)


@pytest.fixture
async def code_for(oidc: OidcClient, oidc_provider: OidcProvider) -> AsyncIterator[CodeFor]:
    """Factory: a person logs in at the provider for this attempt; the code it sends back."""
    async with new_browser(oidc_provider.ca_path) as browser:

        async def code(attempt: LoginAttempt) -> str:
            start = authorization_url(
                await oidc.metadata(), oidc.client_id, REDIRECT_URI, "openid run name", attempt
            )
            callback = urlsplit(await authorize(browser, start, CITIZEN))
            assert f"{callback.scheme}://{callback.netloc}{callback.path}" == REDIRECT_URI
            query = parse_qs(callback.query)
            assert query["state"] == [attempt.state] and query["iss"] == [oidc_provider.issuer]
            return query["code"][0]

        yield code


async def test_a_code_is_good_once(
    oidc: OidcClient, code_for: CodeFor, caplog: pytest.LogCaptureFixture
) -> None:
    attempt = new_login_attempt("/", time.time())
    code = await code_for(attempt)
    claims, userinfo, _id_token = await oidc.exchange(code, attempt)
    assert claims["sub"] == userinfo["sub"] == CITIZEN
    assert userinfo["RolUnico"] == {"numero": 44444444, "DV": "4", "tipo": "RUN"}
    caplog.set_level(logging.INFO)
    with pytest.raises(LoginFailed) as caught:
        await oidc.exchange(code, attempt)
    assert str(caught.value) == CODE_REFUSED
    assert "invalid_grant" in caplog.text and code not in caplog.text


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda attempt: dataclasses.replace(attempt, code_verifier="w" * 64), CODE_REFUSED),
        (
            lambda attempt: dataclasses.replace(attempt, nonce="another-logins-nonce"),
            "ID token: nonce no coincide",
        ),
    ],
    ids=["pkce-verifier", "nonce"],
)
async def test_a_code_from_another_attempt_is_refused(
    oidc: OidcClient,
    code_for: CodeFor,
    change: Callable[[LoginAttempt], LoginAttempt],
    message: str,
) -> None:
    attempt = new_login_attempt("/", time.time())
    code = await code_for(attempt)
    with pytest.raises(LoginFailed) as caught:
        await oidc.exchange(code, change(attempt))
    assert str(caught.value) == message


@pytest.mark.parametrize(
    "issuer", ["https://accounts.example/openid", "https://accounts.example/openid/"]
)
def test_discovery_url_drops_the_issuers_trailing_slash(issuer: str) -> None:
    assert (
        discovery_url(issuer) == "https://accounts.example/openid/.well-known/openid-configuration"
    )


@pytest.mark.parametrize(
    ("expect", "message"),
    [
        ({"client_id": "another-client"}, "ID token: audiencia incorrecta"),
        ({"issuer": "https://accounts.example/openid"}, "ID token: emisor incorrecto"),
        ({"now": 3700}, "ID token: expirado"),
        ({"now": 900}, "ID token: emitido hace demasiado tiempo"),
    ],
    ids=["audience", "issuer", "expired", "too-old"],
)
async def test_the_providers_own_token_meets_each_expectation(
    oidc: OidcClient,
    code_for: CodeFor,
    oidc_provider: OidcProvider,
    expect: dict[str, Any],
    message: str,
) -> None:
    attempt = new_login_attempt("/", time.time())
    _claims, _userinfo, id_token = await oidc.exchange(await code_for(attempt), attempt)
    checks: dict[str, Any] = {
        "issuer": oidc_provider.issuer,
        "client_id": oidc.client_id,
        "nonce": attempt.nonce,
        "now": time.time(),
    }
    assert validate_id_token(id_token, await oidc.jwks(), **checks)["sub"] == CITIZEN
    # A clock in `expect` is seconds after this exchange, not a moment fixed when
    # the tests were collected (which goes stale on a long run).
    if "now" in expect:
        expect = {**expect, "now": checks["now"] + expect["now"]}
    with pytest.raises(LoginFailed) as caught:
        validate_id_token(id_token, await oidc.jwks(), **{**checks, **expect})
    assert str(caught.value) == message
