"""The development login: a small OpenID provider shaped like ClaveÚnica.

Served by the branch itself under /dev-login when development mode is on, so
the very same Relying Party code runs in development as in production. It
accepts any RUN that looks like one (digits and a check digit) without
verifying the digit: catching a wrong one is the Relying Party's job.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import html
import json
import re
import secrets
import time
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

import jwt
from aiohttp import web
from cryptography.hazmat.primitives.asymmetric import rsa

from branch.config import Settings
from branch.web.catalog import marked, spanish_words
from branch.web.guard import guarded, redirect

CODE_SECONDS = 300  # ClaveÚnica's codes last about five minutes
TOKEN_SECONDS = 600
# Expired codes are refused when used; sweeping them at every login
# made a burst of logins cost time in proportion to the logins before it.
SWEEP_EVERY_SECONDS = 60.0
RUN_SHAPE = re.compile(r"^\s*(\d{1,3}(?:\.?\d{3})*)-?([\dkK])\s*$")
FORM_FIELDS = (
    "client_id",
    "redirect_uri",
    "state",
    "nonce",
    "scope",
    "response_type",
    "code_challenge",
    "code_challenge_method",
)


@dataclass(frozen=True)
class DevClient:
    client_id: str
    client_secret: str


@dataclass
class DevProvider:
    """Keys and codes of the development provider, in memory (its tokens carry themselves)."""

    settings: Settings
    client: DevClient
    keys: list[tuple[str, rsa.RSAPrivateKey]] = field(default_factory=list)
    codes: dict[str, dict[str, Any]] = field(default_factory=dict)
    sub_secret: bytes = field(default_factory=lambda: secrets.token_bytes(32))
    # Signs the access tokens, which carry their own userinfo and expiry: kept here,
    # a burst of logins held thousands of them for the token's ten minutes, interleaved
    # in memory with the pages those logins opened.
    token_secret: bytes = field(default_factory=lambda: secrets.token_bytes(32))
    words: dict[str, str] = field(default_factory=dict)
    swept_at: float = 0.0

    def __post_init__(self) -> None:
        if not self.keys:
            self.add_key()
        if not self.words:
            self.words = spanish_words()

    def say(self, key: str, tag: str = "span", attributes: str = "") -> str:
        """An element holding the catalog's words for `key`, rewritten by i18n.js on the page."""
        return marked(self.words, key, tag, attributes)

    @property
    def issuer(self) -> str:
        return self.settings.issuer

    def add_key(self) -> str:
        """Add a signing key and sign with it from now on (key rotation)."""
        kid = secrets.token_urlsafe(8)
        self.keys.append((kid, rsa.generate_private_key(public_exponent=65537, key_size=2048)))
        return kid

    def jwks(self) -> dict[str, Any]:
        keys = []
        for kid, key in self.keys:
            jwk: dict[str, Any] = jwt.algorithms.RSAAlgorithm.to_jwk(key.public_key(), as_dict=True)
            keys.append({**jwk, "kid": kid, "use": "sig", "alg": "RS256"})
        return {"keys": keys}

    def subject(self, run_number: int) -> str:
        # Like ClaveÚnica's sub: stable per person, and not the RUN itself.
        return hmac.new(self.sub_secret, str(run_number).encode(), hashlib.sha256).hexdigest()[:16]

    def id_token(self, claims: dict[str, Any]) -> str:
        kid, key = self.keys[-1]
        return jwt.encode(claims, key, algorithm="RS256", headers={"kid": kid})

    def sweep(self, now: float) -> None:
        if now - self.swept_at < SWEEP_EVERY_SECONDS:
            return
        self.swept_at = now
        self.codes = {code: grant for code, grant in self.codes.items() if grant["expires"] > now}

    def access_token(self, userinfo: dict[str, Any], expires: float) -> str:
        """A bearer token that is its own record: the userinfo answer and expiry, signed."""
        body = json.dumps({"userinfo": userinfo, "expires": expires}).encode()
        payload = base64.urlsafe_b64encode(body).rstrip(b"=").decode()
        return f"{payload}.{self._token_mac(payload)}"

    def userinfo_of(self, access_token: str, now: float) -> str | None:
        """The userinfo answer as JSON text, if the token is this provider's and not expired."""
        payload, _, mac = access_token.partition(".")
        if not payload or not hmac.compare_digest(mac.encode(), self._token_mac(payload).encode()):
            return None
        found = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
        if found["expires"] < now:
            return None
        return json.dumps(found["userinfo"])

    def _token_mac(self, payload: str) -> str:
        digest = hmac.new(self.token_secret, payload.encode(), hashlib.sha256).digest()
        return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


DEV_PROVIDER = web.AppKey("dev_provider", DevProvider)


def _page(provider: DevProvider, body: str, status: int = 200) -> web.Response:
    title = html.escape(provider.words["devlogin.title"])
    switch = (
        '<p class="language"><button type="button" data-language-switch lang="en" '
        'aria-label="Read this page in English">English</button></p>'
    )
    document = f"""<!doctype html>
<html lang="es-CL"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title data-words="devlogin.title">{title}</title>
<link rel="icon" href="/static/favicon.svg" type="image/svg+xml">
<link rel="stylesheet" href="/static/css/devlogin.css">
<script type="module" src="/static/js/i18n.js"></script></head>
<body><main>{switch}{body}</main></body></html>"""
    return web.Response(text=document, content_type="text/html", status=status)


def _error(provider: DevProvider, problem: str, status: int = 400) -> web.Response:
    # The problem names a protocol field for the developer; it is not translated.
    heading = provider.say("devlogin.heading", "h1")
    invalid = provider.say("devlogin.badRequest")
    return _page(
        provider,
        f'{heading}<p class="error" role="alert">{invalid} {html.escape(problem)}</p>',
        status,
    )


def _check_request(provider: DevProvider, params: Any) -> str | None:
    """Why an authorization request must be refused, or None."""
    if params.get("client_id") != provider.client.client_id:
        return "client_id desconocido"
    if params.get("redirect_uri") != provider.settings.redirect_uri:
        return "redirect_uri no registrado"
    if params.get("response_type") != "code":
        return "solo se admite response_type=code"
    if "openid" not in str(params.get("scope", "")).split():
        return "falta el scope openid"
    if params.get("code_challenge_method") != "S256" or not params.get("code_challenge"):
        return "se requiere PKCE con S256"
    if not params.get("state"):
        return "falta state"
    return None


def _form(
    provider: DevProvider,
    params: Any,
    error: str = "",
    run: str = "",
    given: str = "",
    family: str = "",
) -> web.Response:
    """The login form; `error` is the catalog key of what to correct."""
    hidden = "".join(
        f'<input type="hidden" name="{name}" value="{html.escape(str(params.get(name, "")))}">'
        for name in FORM_FIELDS
    )
    say = provider.say
    alert = say(error, "p", ' class="error" role="alert"') if error else ""
    body = f"""{say("devlogin.heading", "h1")}
<p class="warning">{say("devlogin.notReal", "strong")} {say("devlogin.explain")}</p>
{alert}
<form method="post" action="/dev-login/authorize">{hidden}
{say("devlogin.run", "label", ' for="run"')}
<input id="run" name="run" inputmode="text" autocomplete="off" placeholder="44.444.444-4" required value="{html.escape(run)}">
{say("devlogin.names", "label", ' for="given_name"')}
<input id="given_name" name="given_name" autocomplete="given-name" required value="{html.escape(given)}">
{say("devlogin.surnames", "label", ' for="family_name"')}
<input id="family_name" name="family_name" autocomplete="family-name" required value="{html.escape(family)}">
{say("devlogin.submit", "button", ' type="submit"')}
</form>"""
    return _page(provider, body, 400 if error else 200)


async def discovery(request: web.Request) -> web.Response:
    issuer = request.app[DEV_PROVIDER].issuer
    return web.json_response(
        {
            "issuer": issuer,
            "authorization_endpoint": f"{issuer}/authorize",
            "token_endpoint": f"{issuer}/token",
            "userinfo_endpoint": f"{issuer}/userinfo",
            "jwks_uri": f"{issuer}/jwks",
            "end_session_endpoint": f"{issuer}/logout",
            "response_types_supported": ["code"],
            "subject_types_supported": ["public"],
            "id_token_signing_alg_values_supported": ["RS256"],
            "scopes_supported": ["openid", "run", "name"],
            "token_endpoint_auth_methods_supported": ["client_secret_post"],
        }
    )


async def jwks(request: web.Request) -> web.Response:
    return web.json_response(request.app[DEV_PROVIDER].jwks())


async def authorize_page(request: web.Request) -> web.Response:
    provider = request.app[DEV_PROVIDER]
    problem = _check_request(provider, request.query)
    return _error(provider, problem) if problem else _form(provider, request.query)


async def authorize_submit(request: web.Request) -> web.StreamResponse:
    provider = request.app[DEV_PROVIDER]
    form = await request.post()
    problem = _check_request(provider, form)
    if problem:
        return _error(provider, problem)
    run, given, family = (str(form.get(name, "")) for name in ("run", "given_name", "family_name"))
    match = RUN_SHAPE.match(run)
    if match is None:
        return _form(provider, form, "devlogin.badRun", run, given, family)
    if not given.split() or not family.split():
        return _form(provider, form, "devlogin.noName", run, given, family)
    now = time.time()
    provider.sweep(now)
    code = secrets.token_urlsafe(32)
    provider.codes[code] = {
        "client_id": str(form["client_id"]),
        "redirect_uri": str(form["redirect_uri"]),
        "nonce": str(form.get("nonce", "")),
        "challenge": str(form["code_challenge"]),
        "number": int(match.group(1).replace(".", "")),
        "dv": match.group(2).upper(),
        "nombres": given.split(),
        "apellidos": family.split(),
        "expires": now + CODE_SECONDS,
    }
    query = urlencode({"code": code, "state": str(form["state"]), "iss": provider.issuer})
    return redirect(f"{provider.settings.redirect_uri}?{query}")


def _token_error(error: str, description: str, status: int = 400) -> web.Response:
    return web.json_response({"error": error, "error_description": description}, status=status)


async def token(request: web.Request) -> web.Response:
    provider = request.app[DEV_PROVIDER]
    form = await request.post()
    if form.get("client_id") != provider.client.client_id or not hmac.compare_digest(
        str(form.get("client_secret", "")).encode(), provider.client.client_secret.encode()
    ):
        return _token_error("invalid_client", "client authentication failed", 401)
    if form.get("grant_type") != "authorization_code":
        return _token_error("unsupported_grant_type", "only authorization_code")
    # Single use: the code is gone whatever happens next.
    grant = provider.codes.pop(str(form.get("code", "")), None)
    now = time.time()
    if grant is None or grant["expires"] < now or grant["client_id"] != form.get("client_id"):
        return _token_error("invalid_grant", "unknown, used or expired code")
    if grant["redirect_uri"] != form.get("redirect_uri"):
        return _token_error("invalid_grant", "redirect_uri does not match")
    verifier = str(form.get("code_verifier", ""))
    challenge = (
        base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    )
    if not hmac.compare_digest(challenge.encode(), str(grant["challenge"]).encode()):
        return _token_error("invalid_grant", "PKCE verification failed")
    sub = provider.subject(grant["number"])
    userinfo = {
        "sub": sub,
        "RolUnico": {"numero": grant["number"], "DV": grant["dv"], "tipo": "RUN"},
        "name": {"nombres": grant["nombres"], "apellidos": grant["apellidos"]},
    }
    access_token = provider.access_token(userinfo, now + TOKEN_SECONDS)
    claims = {
        "iss": provider.issuer,
        "aud": provider.client.client_id,
        "sub": sub,
        "iat": int(now),
        "exp": int(now) + TOKEN_SECONDS,
        "nonce": grant["nonce"],
    }
    return web.json_response(
        {
            "access_token": access_token,
            "token_type": "Bearer",
            "expires_in": TOKEN_SECONDS,
            "id_token": provider.id_token(claims),
        }
    )


async def userinfo(request: web.Request) -> web.Response:
    provider = request.app[DEV_PROVIDER]
    scheme, _, access_token = request.headers.get("Authorization", "").partition(" ")
    found = provider.userinfo_of(access_token, time.time()) if scheme.lower() == "bearer" else None
    if found is None:
        return _token_error("invalid_token", "unknown or expired access token", 401)
    return web.Response(text=found, content_type="application/json")


async def logout(request: web.Request) -> web.StreamResponse:
    base = request.app[DEV_PROVIDER].settings.base_url
    target = request.query.get("redirect") or request.query.get("post_logout_redirect_uri") or ""
    return redirect(target if target.startswith(base + "/") else base + "/")


def setup_dev_login(app: web.Application, settings: Settings) -> DevProvider:
    client = DevClient(
        settings.oidc_client_id or "branch-dev",
        settings.oidc_client_secret or secrets.token_urlsafe(32),
    )
    provider = DevProvider(settings, client)
    app[DEV_PROVIDER] = provider
    app.router.add_get("/dev-login/.well-known/openid-configuration", guarded(discovery))
    app.router.add_get("/dev-login/jwks", guarded(jwks))
    app.router.add_get("/dev-login/authorize", guarded(authorize_page))
    app.router.add_post("/dev-login/authorize", guarded(authorize_submit))
    app.router.add_post("/dev-login/token", guarded(token))
    app.router.add_get("/dev-login/userinfo", guarded(userinfo))
    app.router.add_post("/dev-login/userinfo", guarded(userinfo))
    app.router.add_get("/dev-login/logout", guarded(logout))
    return provider
