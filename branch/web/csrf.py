"""Cross-site request forgery: a state-changing request must come from the branch's own pages.

Browsers send ``Origin`` with every POST (and with fetches of other unsafe
methods), and a page on another site cannot forge it; together with
``SameSite=Lax`` cookies this is the standard header-based defence. A
request without ``Origin`` is refused too, except on the development
provider's back-channel endpoints, which servers call with their own
credentials (client secret, bearer token) and no browser involved.
"""

from __future__ import annotations

from aiohttp import web

from branch.errors import BadOrigin

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
BACK_CHANNEL_PATHS = frozenset({"/dev-login/token", "/dev-login/userinfo"})


def check_origin(request: web.Request, origins: frozenset[str]) -> None:
    """Raise `BadOrigin` unless ``request`` is safe, back-channel, or from one of ``origins``."""
    if request.method in SAFE_METHODS or request.path in BACK_CHANNEL_PATHS:
        return
    origin = request.headers.get("Origin", "")
    if origin not in origins:
        raise BadOrigin(
            f"{request.method} {request.path} must come from the branch's own pages "
            f"(Origin {origin[:100]!r})"
        )
