"""Cross-site request forgery: a state-changing request must come from the branch's own pages.

Browsers send ``Origin`` with every POST (and with fetches of other unsafe
methods), and a page on another site cannot forge it; together with
``SameSite=Lax`` cookies this is the standard header-based defence. A
request without ``Origin`` is refused too, except on the development
provider's back-channel endpoints, which servers call with their own
credentials (client secret, bearer token) and no browser involved.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from aiohttp import web
from aiohttp.typedefs import Middleware

from branch.config import Settings
from branch.errors import BadOrigin

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
BACK_CHANNEL_PATHS = frozenset({"/dev-login/token", "/dev-login/userinfo"})
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def csrf_middleware(settings: Settings) -> Middleware:
    origins = settings.origins

    @web.middleware
    async def check_origin(request: web.Request, handler: Handler) -> web.StreamResponse:
        if request.method in SAFE_METHODS or request.path in BACK_CHANNEL_PATHS:
            return await handler(request)
        origin = request.headers.get("Origin", "")
        if origin not in origins:
            raise BadOrigin(
                f"{request.method} {request.path} must come from the branch's own pages "
                f"(Origin {origin[:100]!r})"
            )
        return await handler(request)

    return check_origin
