"""Login, callback, logout and the session behind every request."""

from __future__ import annotations

import hmac
import html
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from urllib.parse import quote, urlencode

import aiohttp
from aiohttp import hdrs, web

from branch.auth.claims import person_from_claveunica
from branch.auth.identity import Role, role_for
from branch.auth.oidc import authorization_url, new_login_attempt
from branch.auth.sessions import (
    COOKIE_NAME,
    LOGIN_COOKIE_NAME,
    Session,
    new_session_id,
    session_key,
    sign,
    unsign,
)
from branch.config import Settings
from branch.core.ratelimit import Buckets, Rate
from branch.errors import BadOrigin, BranchError, LoginFailed, NotAuthenticated, RateLimited
from branch.live.sessions import SessionStore
from branch.tls import client_context
from branch.web.catalog import marked, spanish_words
from branch.web.forwarded import Network, client_address
from branch.web.guard import guarded, redirect
from branch.web.oidc_client import OidcClient

log = logging.getLogger(__name__)

LOGIN_ATTEMPT_SECONDS = 600.0
# Where a login without a `next` ends, by role; the floor staff's page otherwise.
LANDING = {
    Role.CITIZEN: "/citizen",
    Role.SUPERVISOR: "/supervisor",
    Role.AUDITOR: "/audit",
    Role.ADMIN: "/audit",
}
AUTH_SETTINGS = web.AppKey("auth_settings", Settings)
SESSIONS = web.AppKey("sessions", SessionStore)
SESSION_KEY = web.AppKey("session_key", bytes)
OIDC = web.AppKey("oidc", OidcClient)
LOGIN_LIMIT = web.AppKey("login_limit", Buckets)
WORDS: web.AppKey[dict[str, str]] = web.AppKey("words")
TRUSTED_PROXIES: web.AppKey[tuple[Network, ...]] = web.AppKey("trusted_proxies")
# Called with "login" or "logout", the session and the time, for the audit trail.
AUTH_EVENT_HOOKS: web.AppKey[list[Callable[[str, Session, float], Awaitable[None]]]] = web.AppKey(
    "auth_event_hooks"
)
# Called with the session a logout ended, so open pages of it can be closed.
LOGOUT_HOOKS: web.AppKey[list[Callable[[Session], Awaitable[None]]]] = web.AppKey("logout_hooks")


def session_cookie(request: web.Request) -> str:
    """The session cookie's value ("" if none); the last one wins, as in `request.cookies`."""
    # Read from the header each time rather than through `request.cookies`: aiohttp keeps
    # what that parses on the request, and the websocket's request lives as long as its
    # page (≈ 0.3 KB each, every other cookie of the site included).
    value = ""
    for pair in request.headers.get(hdrs.COOKIE, "").split(";"):
        name, equals, found = pair.partition("=")
        if equals and name.strip() == COOKIE_NAME:
            value = found.strip()
    if len(value) >= 2 and value[0] == value[-1] == '"':
        value = value[1:-1]
    return value


async def current_session(request: web.Request) -> Session | None:
    """The logged-in session behind the request's cookie, or None (forged, expired, absent)."""
    value = session_cookie(request)
    if not value:
        return None
    session_id = unsign(value, request.app[SESSION_KEY])
    if session_id is None:
        return None
    return await live_session(request.app, session_id, time.time())


# Activity is written at most this often per session, not on every request.
TOUCH_EVERY_SECONDS = 30.0


async def live_session(app: web.Application, session_id: str, now: float) -> Session | None:
    """The session if within its absolute and idle limits (recording the activity), else None."""
    store = app[SESSIONS]
    session = await store.get_session(session_id, now)
    if session is None:
        return None
    _lifetime, idle = app[AUTH_SETTINGS].session_limits(session.role is not Role.CITIZEN)
    if not session.is_live(now, idle):
        await store.delete_session(session_id)
        return None
    if now - session.idle_since() >= min(TOUCH_EVERY_SECONDS, idle / 4):
        await store.touch(session_id, now)
    return session


def _failure_page(words: dict[str, str], error: BranchError) -> web.Response:
    """The person is told in their language, by the error's code; the server's own detail
    (which names the protocol step for whoever investigates) stays folded away."""
    key = f"error.{error.code}" if f"error.{error.code}" in words else "error.other"
    log.info("login failed: %s: %s", error.code, error.message)
    title = html.escape(words["loginFailure.title"])
    switch = (
        '<button type="button" class="link language" data-language-switch lang="en" '
        'aria-label="Read this page in English">English</button>'
    )
    text = f"""<!doctype html>
<html lang="es-CL"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title data-words="loginFailure.title">{title}</title>
<link rel="icon" href="/static/favicon.svg" type="image/svg+xml">
<link rel="stylesheet" href="/static/css/branch.css">
<script type="module" src="/static/js/i18n.js"></script></head>
<body><header class="topbar">{marked(words, "brand", attributes=' class="brand"')}
<div class="who">{switch}</div></header>
<main id="main" class="page">{marked(words, "loginFailure.title", "h1")}
{marked(words, key, "p", ' role="alert"')}
<details><summary data-words="loginFailure.detail">{html.escape(words["loginFailure.detail"])}</summary>
<p class="detail" lang="es-CL" data-code="{error.code}">{html.escape(error.message)}</p></details>
<p>{marked(words, "loginFailure.back", "a", ' href="/"')}</p></main></body></html>"""
    return web.Response(text=text, content_type="text/html", status=error.status)


async def login(request: web.Request) -> web.StreamResponse:
    settings = request.app[AUTH_SETTINGS]
    oidc = request.app[OIDC]
    trusted = request.app[TRUSTED_PROXIES]
    forwarded_for = request.headers.getall(hdrs.X_FORWARDED_FOR, ())
    address = client_address(request.remote, forwarded_for, trusted)
    limit, now = request.app[LOGIN_LIMIT], time.time()
    if not limit.allow(address, now):
        wait = max(1, round(limit.retry_after(address, now)))
        response = _failure_page(
            request.app[WORDS],
            RateLimited(
                f"Hubo demasiados intentos de ingreso desde esta conexión. Espera {wait} s "
                "y vuelve a intentarlo."
            ),
        )
        response.headers["Retry-After"] = str(wait)
        return response
    try:
        metadata = await oidc.metadata()
    except LoginFailed as error:
        return _failure_page(request.app[WORDS], error)
    attempt = new_login_attempt(request.query.get("next", "/"), time.time())
    await request.app[SESSIONS].put_login_attempt(attempt, LOGIN_ATTEMPT_SECONDS)
    response = redirect(
        authorization_url(
            metadata, oidc.client_id, settings.redirect_uri, settings.oidc_scopes, attempt
        )
    )
    # Lax, not Strict: the way back from the provider is a cross-site navigation.
    response.set_cookie(
        LOGIN_COOKIE_NAME,
        attempt.state,
        max_age=int(LOGIN_ATTEMPT_SECONDS),
        path="/",
        secure=True,
        httponly=True,
        samesite="Lax",
    )
    return response


async def callback(request: web.Request) -> web.StreamResponse:
    settings = request.app[AUTH_SETTINGS]
    query = request.query
    try:
        # Consumed first, whatever the answer: a state is good for one callback only.
        attempt = await request.app[SESSIONS].take_login_attempt(
            query.get("state", ""), time.time()
        )
        if "error" in query:
            raise LoginFailed("El ingreso con ClaveÚnica fue cancelado o rechazado")
        if attempt is None:
            raise LoginFailed(
                "El ingreso expiró o ya fue usado; vuelve a intentarlo desde el inicio"
            )
        started_here = request.cookies.get(LOGIN_COOKIE_NAME, "")
        if not hmac.compare_digest(started_here.encode(), attempt.state.encode()):
            raise LoginFailed(
                "Este ingreso se inició en otro navegador o en otra pestaña; vuelve a "
                "intentarlo desde el inicio"
            )
        if "iss" in query and query["iss"] != settings.issuer:
            raise LoginFailed("La respuesta de ingreso viene de un emisor distinto al configurado")
        code = query.get("code", "")
        if not code:
            raise LoginFailed("La respuesta de ingreso no trae un código")
        _claims, userinfo, id_token = await request.app[OIDC].exchange(code, attempt)
        person = person_from_claveunica(userinfo)
    except LoginFailed as error:
        failure = _failure_page(request.app[WORDS], error)
        _forget_login(request, failure)
        return failure

    role = role_for(person.run, settings)
    now = time.time()
    # A fresh id on every login: a session id planted before login is worthless.
    lifetime, _idle = settings.session_limits(role is not Role.CITIZEN)
    # The ID token (about a kilobyte) is kept only where the logout sends it back as a hint.
    hint = id_token if settings.oidc_logout_style == "standard" else ""
    session = Session(new_session_id(), person, role, now, now + lifetime, hint)
    old = session_cookie(request)
    old_id = unsign(old, request.app[SESSION_KEY]) if old else None
    if old_id:
        await request.app[SESSIONS].delete_session(old_id)
    await request.app[SESSIONS].put_session(session)
    log.info("login %s as %s", person.run.masked(), role.value)
    for hook in request.app[AUTH_EVENT_HOOKS]:
        await hook("login", session, now)
    target = attempt.next_path
    if target == "/":
        target = LANDING.get(role, "/executive")
    response = redirect(target)
    _forget_login(request, response)
    response.set_cookie(
        COOKIE_NAME,
        sign(session.session_id, request.app[SESSION_KEY]),
        max_age=lifetime,
        path="/",
        secure=True,
        httponly=True,
        samesite="Lax",
    )
    return response


def _forget_login(request: web.Request, response: web.StreamResponse) -> None:
    """Once this browser's login is over; a stray callback leaves a login under way alone."""
    if request.cookies.get(LOGIN_COOKIE_NAME) == request.query.get("state"):
        response.del_cookie(LOGIN_COOKIE_NAME, path="/", secure=True, httponly=True, samesite="Lax")


async def logout(request: web.Request) -> web.StreamResponse:
    settings = request.app[AUTH_SETTINGS]
    if request.headers.get("Origin", "") not in settings.origins:
        error = BadOrigin("logout must come from the branch's own pages")
        return web.json_response(error.fields(), status=error.status)
    session = await current_session(request)
    if session is not None:
        await request.app[SESSIONS].delete_session(session.session_id)
        for hook in request.app[LOGOUT_HOOKS]:
            await hook(session)
        for event_hook in request.app[AUTH_EVENT_HOOKS]:
            await event_hook("logout", session, time.time())
    back = f"{settings.base_url}/"
    if settings.oidc_logout_style == "claveunica":
        provider_logout = (
            f"{settings.issuer}/logout" if settings.oidc_dev_login else settings.oidc_logout_url
        )
        target = f"{provider_logout}?redirect={quote(back, safe='')}"
    elif settings.oidc_logout_style == "standard":
        metadata = await request.app[OIDC].metadata()
        query = {"post_logout_redirect_uri": back}
        if session is not None and session.id_token_hint:
            query["id_token_hint"] = session.id_token_hint
        target = f"{metadata.end_session_endpoint or back}?{urlencode(query)}"
    else:
        target = "/"
    # A top-level navigation: ClaveÚnica only ends its own session that way.
    response = redirect(target, 303)
    response.del_cookie(COOKIE_NAME, path="/", secure=True, httponly=True, samesite="Lax")
    return response


async def me(request: web.Request) -> web.StreamResponse:
    session = await current_session(request)
    if session is None:
        error = NotAuthenticated("No has ingresado")
        return web.json_response(error.fields(), status=error.status)
    return web.json_response(
        {
            "run": session.person.run.format(),
            "name": session.person.display_name,
            "role": session.role.value,
        }
    )


def setup_auth(app: web.Application, settings: Settings, sessions: SessionStore) -> None:
    from branch.web.devlogin import DEV_PROVIDER

    app[AUTH_SETTINGS] = settings
    app[SESSIONS] = sessions
    app[SESSION_KEY] = session_key(settings)
    app[LOGOUT_HOOKS] = []
    app[AUTH_EVENT_HOOKS] = []
    per_minute = settings.limits_logins_per_minute
    app[LOGIN_LIMIT] = Buckets(Rate(burst=per_minute, per_second=per_minute / 60))
    app[TRUSTED_PROXIES] = settings.trusted_proxy_networks
    app[WORDS] = spanish_words()

    async def provider_client(app: web.Application) -> AsyncIterator[None]:
        # The development provider is this node: its CA only matters when it serves TLS.
        extra_ca = settings.oidc_ca_file or (
            str(settings.ca_path) if settings.oidc_dev_login and settings.tls else ""
        )
        connector = aiohttp.TCPConnector(ssl=client_context(Path(extra_ca) if extra_ca else None))
        http = aiohttp.ClientSession(connector=connector, timeout=aiohttp.ClientTimeout(total=15))
        if settings.oidc_dev_login:
            client = app[DEV_PROVIDER].client
            app[OIDC] = OidcClient(settings, http, client.client_id, client.client_secret)
        else:
            app[OIDC] = OidcClient(
                settings, http, settings.oidc_client_id, settings.oidc_client_secret
            )
        yield
        await http.close()

    app.cleanup_ctx.append(provider_client)
    app.router.add_get("/login", guarded(login))
    app.router.add_get("/auth/callback", guarded(callback))
    app.router.add_post("/logout", guarded(logout))
    app.router.add_get("/api/me", guarded(me))
