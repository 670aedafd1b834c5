"""The OpenAPI 3 description of the branch's HTTP API, served at /openapi.json.

``OPERATIONS`` is the one place an endpoint is described; the document is built
from the routes the application actually registered, so a route that is not
described here is missing from the document (a test compares both), and the
development login's endpoints appear only where it runs.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from aiohttp import web

from branch.web.api_schemas import COMPONENTS, DATE
from branch.web.guard import guarded
from branch.web.keys import SETTINGS

JSON, HTML, TEXT = "application/json", "text/html", "text/plain"


@dataclass(frozen=True)
class Answer:
    description: str
    media: str | None = None  # None: no body worth describing (redirects)
    schema: str | None = None  # a component name; plain text or HTML otherwise
    also: tuple[str, ...] = ()  # other media types of the same answer, as text


@dataclass(frozen=True)
class Operation:
    summary: str
    who: str  # which roles may call it, in words
    answers: dict[int, Answer]
    query: tuple[tuple[str, dict[str, Any]], ...] = ()
    form: tuple[str, ...] = ()  # fields of an application/x-www-form-urlencoded body


PAGE = Answer("the page", HTML)
TO_LOGIN = Answer("not logged in: to /login with the page as next")
RESTRICTED = Answer("the role may not open this page", HTML)
UNAUTHENTICATED = Answer("not logged in", JSON, "Error")
FORBIDDEN = Answer("the role may not call this", JSON, "Error")
BAD_QUERY = Answer("a parameter is not valid; the message names it", JSON, "Error")
BAD_ORIGIN = Answer("not from the branch's own pages (CSRF check)", JSON, "Error")
PROVIDER_ERROR = Answer("refused, as OAuth 2.0 spells errors", JSON, "OAuthError")
READERS = "auditor, admin"

OPERATIONS: dict[tuple[str, str], Operation] = {
    ("GET", "/"): Operation("Landing page", "anyone", {200: PAGE}),
    ("GET", "/citizen"): Operation(
        "Citizen's page", "any logged-in person", {200: PAGE, 302: TO_LOGIN}
    ),
    ("GET", "/executive"): Operation(
        "Executive's desk", "executive, supervisor", {200: PAGE, 302: TO_LOGIN, 403: RESTRICTED}
    ),
    ("GET", "/supervisor"): Operation(
        "Supervisors' live wallboard (admins watch it without the actions)",
        "supervisor, admin",
        {200: PAGE, 302: TO_LOGIN, 403: RESTRICTED},
    ),
    ("GET", "/audit"): Operation(
        "Auditors' page", READERS, {200: PAGE, 302: TO_LOGIN, 403: RESTRICTED}
    ),
    ("GET", "/login"): Operation(
        "Start a ClaveÚnica login (authorization code with PKCE)",
        "anyone",
        {302: Answer("to the identity provider"), 429: Answer("too many logins from here", HTML)},
        query=(("next", {"type": "string", "description": "an allow-listed page to land on"}),),
    ),
    ("GET", "/auth/callback"): Operation(
        "The identity provider's answer",
        "anyone",
        {302: Answer("logged in: to the landing page"), 400: Answer("login refused", HTML)},
        query=tuple((name, {"type": "string"}) for name in ("code", "state", "iss", "error")),
    ),
    ("POST", "/logout"): Operation(
        "End the session (here and at the provider)",
        "anyone",
        {303: Answer("to the provider's logout or the landing page"), 403: BAD_ORIGIN},
    ),
    ("GET", "/api/me"): Operation(
        "Who is logged in",
        "any logged-in person",
        {200: Answer("the person", JSON, "Me"), 401: UNAUTHENTICATED},
    ),
    ("GET", "/ws"): Operation(
        "The signaling websocket (docs/protocol.md)",
        "any logged-in person but auditors (closed with 4401/4403 after the upgrade)",
        {
            101: Answer("switching to the websocket"),
            400: Answer("not a websocket upgrade", TEXT),
            403: BAD_ORIGIN,
        },
    ),
    ("GET", "/healthz"): Operation(
        "The process is alive", "anyone", {200: Answer("alive", JSON, "Status")}
    ),
    ("GET", "/readyz"): Operation(
        "Both stores answer",
        "anyone",
        {
            200: Answer("ready", JSON, "Status"),
            503: Answer("a store is unreachable", JSON, "Status"),
        },
    ),
    ("GET", "/metrics"): Operation(
        "Prometheus metrics (no personal data)",
        "anyone; restrict it at the proxy",
        {200: Answer("text exposition format", TEXT)},
    ),
    ("GET", "/openapi.json"): Operation(
        "This description", "anyone", {200: Answer("OpenAPI 3.1", JSON, "Document")}
    ),
    ("GET", "/static/{path}"): Operation(
        "The pages' scripts, styles and images",
        "anyone",
        {
            200: Answer("the file"),
            403: Answer("outside the static folder"),
            404: Answer("no such file"),
        },
    ),
    ("GET", "/api/audit/contacts"): Operation(
        "Contacts that joined in a period of whole local days, of one service or all; audited",
        READERS,
        {
            200: Answer("the contacts, oldest first", JSON, "ContactList"),
            400: BAD_QUERY,
            401: UNAUTHENTICATED,
            403: FORBIDDEN,
        },
        query=(("from", DATE), ("to", DATE), ("service", {"type": "string"})),
    ),
    ("GET", "/api/audit/contacts/{contact_id}"): Operation(
        "One contact with its kept chat and its audit entries; audited",
        READERS,
        {
            200: Answer("the contact", JSON, "ContactDetail"),
            401: UNAUTHENTICATED,
            403: FORBIDDEN,
            404: Answer("no such contact", JSON, "Error"),
        },
    ),
    ("GET", "/api/audit/entries"): Operation(
        "A page of the audit trail after a sequence number; audited",
        READERS,
        {
            200: Answer("the entries", JSON, "EntryPage"),
            400: BAD_QUERY,
            401: UNAUTHENTICATED,
            403: FORBIDDEN,
        },
        query=(
            ("after", {"type": "integer", "minimum": 0}),
            ("limit", {"type": "integer", "minimum": 1, "maximum": 500}),
        ),
    ),
    ("GET", "/api/audit/verify"): Operation(
        "Walk the whole hash chain now, optionally against a head kept elsewhere",
        READERS,
        {
            200: Answer("the verdict", JSON, "Verdict"),
            400: BAD_QUERY,
            401: UNAUTHENTICATED,
            403: FORBIDDEN,
        },
        query=(("head", {"type": "string", "pattern": "^[0-9]+:[0-9a-f]{64}$"}),),
    ),
    ("GET", "/reports"): Operation(
        "Reports page", "supervisor, admin", {200: PAGE, 302: TO_LOGIN, 403: RESTRICTED}
    ),
    ("GET", "/api/reports"): Operation(
        "Contact-centre figures over whole local days (docs/metrics.md); audited",
        "supervisor, admin",
        {
            200: Answer(
                "the report (format=json) or its CSV (format=csv)", JSON, also=("text/csv",)
            ),
            400: Answer("a period, filter or format is not valid", JSON, "Error"),
            401: UNAUTHENTICATED,
            403: FORBIDDEN,
        },
        query=(
            ("from", DATE),
            ("to", DATE),
            ("service", {"type": "string"}),
            ("executive", {"type": "string", "description": "an executive's RUN"}),
            ("format", {"type": "string", "enum": ["json", "csv"]}),
            ("download", {"type": "string", "enum": ["1"]}),
        ),
    ),
    # The built-in development provider (development mode only).
    ("GET", "/dev-login/.well-known/openid-configuration"): Operation(
        "Development provider: discovery", "anyone", {200: Answer("metadata", JSON)}
    ),
    ("GET", "/dev-login/jwks"): Operation(
        "Development provider: signing keys", "anyone", {200: Answer("a JWK set", JSON)}
    ),
    ("GET", "/dev-login/authorize"): Operation(
        "Development provider: the login form",
        "anyone",
        {200: PAGE, 400: Answer("an invalid authorization request", HTML)},
        query=tuple(
            (name, {"type": "string"})
            for name in (
                "client_id",
                "redirect_uri",
                "response_type",
                "scope",
                "state",
                "nonce",
                "code_challenge",
                "code_challenge_method",
            )
        ),
    ),
    ("POST", "/dev-login/authorize"): Operation(
        "Development provider: submit the login form",
        "anyone",
        {
            302: Answer("back to the branch with a code"),
            400: Answer("an invalid request or RUN", HTML),
            403: BAD_ORIGIN,
        },
        form=(
            "client_id",
            "redirect_uri",
            "state",
            "nonce",
            "code_challenge",
            "run",
            "given_name",
            "family_name",
        ),
    ),
    ("POST", "/dev-login/token"): Operation(
        "Development provider: exchange a code",
        "the branch (client secret)",
        {200: Answer("tokens", JSON), 400: PROVIDER_ERROR, 401: PROVIDER_ERROR},
        form=("grant_type", "code", "redirect_uri", "code_verifier", "client_id", "client_secret"),
    ),
    ("GET", "/dev-login/userinfo"): Operation(
        "Development provider: the person's claims",
        "the branch (bearer token)",
        {200: Answer("claims", JSON), 401: PROVIDER_ERROR},
    ),
    ("POST", "/dev-login/userinfo"): Operation(
        "Development provider: the person's claims",
        "the branch (bearer token)",
        {200: Answer("claims", JSON), 401: PROVIDER_ERROR},
    ),
    ("GET", "/dev-login/logout"): Operation(
        "Development provider: end its session",
        "anyone",
        {302: Answer("back to the branch"), 400: Answer("a foreign return address", HTML)},
        query=(("redirect", {"type": "string"}), ("post_logout_redirect_uri", {"type": "string"})),
    ),
}


def route_keys(app: web.Application) -> list[tuple[str, str]]:
    """(method, path template) of every route the application registered, HEAD aside."""
    keys = []
    for route in app.router.routes():
        if route.method == "HEAD" or route.resource is None:
            continue
        info = route.resource.get_info()
        template = info.get("formatter") or info.get("path") or f"{info['prefix']}/{{path}}"
        keys.append((route.method, str(template)))
    return keys


def _operation(method: str, path: str, operation: Operation) -> dict[str, Any]:
    parameters = [
        {"name": name, "in": "path", "required": True, "schema": {"type": "string"}}
        for name in _path_names(path)
    ]
    parameters += [
        {"name": name, "in": "query", "required": False, "schema": schema}
        for name, schema in operation.query
    ]
    responses: dict[str, Any] = {}
    for status, answer in sorted(operation.answers.items()):
        described: dict[str, Any] = {"description": answer.description}
        if answer.media is not None:
            schema = (
                {"$ref": f"#/components/schemas/{answer.schema}"}
                if answer.schema
                else {"type": "object"}
                if answer.media == JSON
                else {"type": "string"}
            )
            described["content"] = {answer.media: {"schema": schema}}
            for media in answer.also:
                described["content"][media] = {"schema": {"type": "string"}}
        responses[str(status)] = described
    document: dict[str, Any] = {
        "summary": operation.summary,
        "description": f"Who may call it: {operation.who}.",
        "operationId": method.lower() + re.sub(r"\W+", "_", path).rstrip("_"),
        "parameters": parameters,
        "responses": responses,
    }
    if operation.form:
        document["requestBody"] = {
            "content": {
                "application/x-www-form-urlencoded": {
                    "schema": {
                        "type": "object",
                        "properties": {name: {"type": "string"} for name in operation.form},
                    }
                }
            }
        }
    return document


def _path_names(path: str) -> list[str]:
    return [part[1:-1] for part in path.split("/") if part.startswith("{") and part.endswith("}")]


def openapi_document(app: web.Application) -> dict[str, Any]:
    """The description of every route this application serves, and of nothing else."""
    settings = app[SETTINGS]
    paths: dict[str, dict[str, Any]] = {}
    for method, path in route_keys(app):
        operation = OPERATIONS.get((method, path))
        if operation is not None:
            paths.setdefault(path, {})[method.lower()] = _operation(method, path, operation)
    return {
        "openapi": "3.1.0",
        "info": {
            "title": f"{settings.service_name}: HTTP API",
            "version": "1",
            "description": "Pages, login, the auditors' read-only API and operations "
            "endpoints. Live signaling goes over the websocket (docs/protocol.md). "
            "Every state-changing request must carry the branch's own Origin.",
        },
        "servers": [{"url": settings.base_url}],
        "paths": paths,
        "components": {"schemas": COMPONENTS},
    }


async def openapi_json(request: web.Request) -> web.StreamResponse:
    return web.json_response(openapi_document(request.app))


def setup_openapi(app: web.Application) -> None:
    app.router.add_get("/openapi.json", guarded(openapi_json))
