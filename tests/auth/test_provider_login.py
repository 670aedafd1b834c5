"""The branch's real login routes against a real OpenID provider (oidc-provider on node)."""

from __future__ import annotations

import asyncio
import re
from urllib.parse import parse_qs, urlencode, urlsplit

import aiohttp
import pytest
from yarl import URL

from branch.auth.sessions import COOKIE_NAME, LOGIN_COOKIE_NAME
from tests.conftest import CITIZEN_RUN, EXECUTIVE_RUN, RunningBranch, StartBranch
from tests.oidc_provider import (
    BAD_CHECK_DIGIT,
    CITIZEN,
    EXECUTIVE,
    OTHER_SUB,
    Landing,
    OidcProvider,
    authorize,
    log_in,
    new_browser,
    start_with_provider,
    visit,
)

EXPIRED = "El ingreso expiró o ya fue usado; vuelve a intentarlo desde el inicio"


@pytest.fixture
async def node(start_branch: StartBranch, oidc_provider: OidcProvider) -> RunningBranch:
    return await start_with_provider(start_branch, oidc_provider)


async def me(http: aiohttp.ClientSession, node: RunningBranch) -> dict[str, str]:
    async with http.get(f"{node.url}/api/me") as response:
        assert response.status == 200, await response.text()
        answer: dict[str, str] = await response.json()
        return answer


def refused(landing: Landing) -> str:
    """The server's detail of a refused callback; the person is shown the catalog's words."""
    assert landing.status == 400 and urlsplit(landing.url).path == "/auth/callback", landing.url
    assert landing.alert in ("error.login_failed", "error.invalid_run"), landing.alert
    return landing.detail


@pytest.mark.parametrize(
    ("account", "run", "name", "role", "page"),
    [
        (CITIZEN, CITIZEN_RUN, "María González", "citizen", "/citizen"),
        (EXECUTIVE, EXECUTIVE_RUN, "Pedro Soto", "executive", "/executive"),
    ],
)
async def test_a_person_logs_in_through_the_provider(
    browser_like: aiohttp.ClientSession,
    node: RunningBranch,
    account: str,
    run: str,
    name: str,
    role: str,
    page: str,
) -> None:
    landing = await log_in(browser_like, node, account)
    assert (landing.status, landing.url) == (200, f"{node.url}{page}")
    assert await me(browser_like, node) == {"run": run, "name": name, "role": role}
    assert LOGIN_COOKIE_NAME not in {cookie.key for cookie in browser_like.cookie_jar}


async def test_the_authorization_request_is_claveunica_shaped(
    browser_like: aiohttp.ClientSession, node: RunningBranch, oidc_provider: OidcProvider
) -> None:
    async with browser_like.get(f"{node.url}/login", allow_redirects=False) as start:
        target = urlsplit(start.headers["Location"])
        binding = start.cookies[LOGIN_COOKIE_NAME]
    assert f"{target.scheme}://{target.netloc}{target.path}" == f"{oidc_provider.issuer}/authorize/"
    query = {key: values[0] for key, values in parse_qs(target.query).items()}
    assert query["scope"] == "openid run name"
    assert query["response_type"] == "code" and query["code_challenge_method"] == "S256"
    assert query["redirect_uri"] == f"{node.url}/auth/callback"
    assert min(len(query["state"]), len(query["nonce"]), len(query["code_challenge"])) >= 43
    # The browser that started the login keeps its state, for the callback to match.
    assert binding.value == query["state"]
    assert (binding["secure"], binding["httponly"], binding["samesite"]) == (True, True, "Lax")
    assert (binding["path"], binding["max-age"], binding["domain"]) == ("/", "600", "")


async def test_state_cannot_be_replayed_or_swapped(
    browser_like: aiohttp.ClientSession, node: RunningBranch
) -> None:
    callback = await authorize(browser_like, f"{node.url}/login", CITIZEN)
    swapped = callback.replace("state=", "state=x")
    assert refused(await visit(browser_like, swapped)) == EXPIRED
    first = await visit(browser_like, callback)
    assert (first.status, first.url) == (200, f"{node.url}/citizen")
    assert refused(await visit(browser_like, callback)) == EXPIRED


async def test_a_login_finished_in_another_browser_is_refused(
    browser_like: aiohttp.ClientSession, node: RunningBranch, oidc_provider: OidcProvider
) -> None:
    """Login CSRF: the attacker logs in, and sends the victim the callback URL to open."""
    async with new_browser(oidc_provider.ca_path) as attacker:
        forced = await authorize(attacker, f"{node.url}/login", EXECUTIVE)
        assert refused(await visit(browser_like, forced)) == (
            "Este ingreso se inició en otro navegador o en otra pestaña; vuelve a intentarlo "
            "desde el inicio"
        )
        async with browser_like.get(f"{node.url}/api/me") as me:
            assert me.status == 401
        # Used up by the refusal: the attacker's own browser cannot finish it either.
        assert refused(await visit(attacker, forced)) == EXPIRED


async def test_a_stolen_code_is_useless_in_another_login(
    browser_like: aiohttp.ClientSession, node: RunningBranch, oidc_provider: OidcProvider
) -> None:
    """Code injection: the attacker's own state, the victim's code. PKCE refuses it."""
    victim = parse_qs(urlsplit(await authorize(browser_like, f"{node.url}/login", CITIZEN)).query)
    async with new_browser(oidc_provider.ca_path) as attacker:
        async with attacker.get(f"{node.url}/login", allow_redirects=False) as start:
            own_state = parse_qs(urlsplit(start.headers["Location"]).query)["state"][0]
        query = urlencode({"code": victim["code"][0], "state": own_state, "iss": victim["iss"][0]})
        landing = await visit(attacker, f"{node.url}/auth/callback?{query}")
        assert refused(landing) == (
            "ClaveÚnica no aceptó el código de ingreso: ya fue usado, expiró o pertenece a otro "
            "intento; vuelve a intentarlo desde el inicio"
        )
        assert COOKIE_NAME not in {cookie.key for cookie in attacker.cookie_jar}


@pytest.mark.parametrize(
    ("account", "message"),
    [
        (
            BAD_CHECK_DIGIT,
            "El RUN 44.444.444-5 no es válido: el dígito verificador no corresponde",
        ),
        (OTHER_SUB, "Los datos de ClaveÚnica no corresponden a la misma persona (sub)"),
        ("nobody", "El ingreso con ClaveÚnica fue cancelado o rechazado"),
    ],
)
async def test_what_the_provider_says_is_checked(
    browser_like: aiohttp.ClientSession, node: RunningBranch, account: str, message: str
) -> None:
    landing = await log_in(browser_like, node, account)
    assert refused(landing) == message
    # Told in the words of the catalog by the error's code, not the server's detail.
    assert landing.alert == (
        "error.invalid_run" if account == BAD_CHECK_DIGIT else "error.login_failed"
    )
    async with browser_like.get(f"{node.url}/api/me") as answer:
        assert answer.status == 401


async def test_a_forged_iss_parameter_is_refused(
    browser_like: aiohttp.ClientSession, node: RunningBranch
) -> None:
    callback = await authorize(browser_like, f"{node.url}/login", CITIZEN)
    forged = re.sub(r"iss=[^&]+", "iss=https%3A%2F%2Fevil.example%2Fopenid", callback)
    assert refused(await visit(browser_like, forged)) == (
        "La respuesta de ingreso viene de un emisor distinto al configurado"
    )


async def test_an_issuer_other_than_the_configured_one_is_refused(
    browser_like: aiohttp.ClientSession, start_branch: StartBranch, oidc_provider: OidcProvider
) -> None:
    # The same server under another name: its discovery names its real issuer.
    alias = oidc_provider.issuer.replace("127.0.0.1", "localhost")
    node = await start_with_provider(start_branch, oidc_provider, oidc_issuer=alias)
    landing = await visit(browser_like, f"{node.url}/login")
    assert (landing.status, landing.url) == (400, f"{node.url}/login")
    assert landing.alert == "error.login_failed"
    assert landing.detail == (
        "El proveedor de identidad respondió con un emisor (issuer) distinto al configurado"
    )


async def test_key_rotation_without_restarting_the_branch(
    browser_like: aiohttp.ClientSession, node: RunningBranch, oidc_provider: OidcProvider
) -> None:
    assert (await log_in(browser_like, node, CITIZEN)).status == 200
    downloads = await oidc_provider.jwks_downloads()
    # The provider signs with a key it has not announced yet: one fresh look, then refusal.
    kid = await oidc_provider.rotate(publish=False)
    try:
        assert refused(await log_in(browser_like, node, CITIZEN)) == (
            f"ID token: clave desconocida ({kid})"
        )
        assert await oidc_provider.jwks_downloads() == downloads + 1
    finally:
        await oidc_provider.publish()
    # Announced now: the very next login (no cooldown) downloads the keys again and passes.
    assert (await log_in(browser_like, node, CITIZEN)).status == 200
    assert await oidc_provider.jwks_downloads() == downloads + 2
    # A normal rotation, met by three logins at once: one download between them.
    await oidc_provider.rotate()
    people = [new_browser(oidc_provider.ca_path) for _ in range(3)]
    try:
        callbacks = [await authorize(http, f"{node.url}/login", CITIZEN) for http in people]

        landings = await asyncio.gather(*map(visit, people, callbacks))
    finally:
        for http in people:
            await http.close()
    assert [landing.status for landing in landings] == [200, 200, 200]
    assert await oidc_provider.jwks_downloads() == downloads + 3


async def test_a_refused_login_uses_up_its_state(
    browser_like: aiohttp.ClientSession, node: RunningBranch
) -> None:
    callback = urlsplit(await authorize(browser_like, f"{node.url}/login", "nobody"))
    query = parse_qs(callback.query)
    assert query["error"] == ["access_denied"]
    landing = await visit(browser_like, callback.geturl())
    assert refused(landing) == "El ingreso con ClaveÚnica fue cancelado o rechazado"
    later = urlencode({"code": "x", "state": query["state"][0], "iss": query["iss"][0]})
    landing = await visit(browser_like, f"{node.url}/auth/callback?{later}")
    assert refused(landing) == EXPIRED


async def test_standard_logout_ends_the_providers_session_too(
    browser_like: aiohttp.ClientSession, start_branch: StartBranch, oidc_provider: OidcProvider
) -> None:
    node = await start_with_provider(start_branch, oidc_provider, oidc_logout_style="standard")
    assert (await log_in(browser_like, node, CITIZEN)).status == 200
    # While the provider's session lives, a new login skips its form.
    again = await visit(browser_like, f"{node.url}/login")
    assert (again.status, again.url) == (200, f"{node.url}/citizen")
    async with browser_like.post(
        f"{node.url}/logout", headers={"Origin": node.url}, allow_redirects=False
    ) as response:
        assert response.status == 303
        target = URL(response.headers["Location"])
    assert str(target.with_query(None)) == f"{oidc_provider.issuer}/logout/"
    assert target.query["post_logout_redirect_uri"] == f"{node.url}/"
    assert target.query["id_token_hint"].count(".") == 2
    confirm = await visit(browser_like, str(target))
    form = re.search(r'<form[^>]*action="([^"]+)"[^>]*>(.*?)</form>', confirm.text, re.S)
    assert form is not None, confirm.text[:500]
    fields = dict(re.findall(r'name="([^"]+)" value="([^"]*)"', form.group(2)))
    async with browser_like.post(
        URL(confirm.url).join(URL(form.group(1))), data={**fields, "logout": "yes"}
    ) as back:
        assert (back.status, str(back.url)) == (200, f"{node.url}/")
    # The provider forgot the person too: the next login asks again.
    async with browser_like.get(f"{node.url}/login") as page:
        assert "/openid/interaction/" in page.url.path
