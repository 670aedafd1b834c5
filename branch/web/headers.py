"""Security headers on every response: what the browser may load, frame, send and use.

The pages are plain ES modules and stylesheets from /static, so the policy can
forbid every inline script and style outright. Forms post to the branch
itself; the logout form's redirect may end at the identity provider, which
``form-action`` must allow because browsers apply it to redirects too.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from aiohttp import web

from branch.config import Settings

# Camera and microphone for the branch's own pages; everything else off.
PERMISSIONS_POLICY = (
    "camera=(self), microphone=(self), display-capture=(), geolocation=(), "
    "payment=(), usb=(), serial=(), hid=()"
)
HSTS = "max-age=31536000; includeSubDomains"


def _origin(url: str) -> str | None:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}" if parts.scheme and parts.netloc else None


def content_security_policy(settings: Settings) -> str:
    login_origins = sorted(
        {
            origin
            for origin in (_origin(settings.issuer), _origin(settings.oidc_logout_url))
            if origin
        }
    )
    directives = {
        "default-src": "'none'",
        "script-src": "'self'",
        "style-src": "'self'",
        "img-src": "'self' data:",
        "font-src": "'self'",
        "media-src": "'self' blob:",
        # 'self' covers the same-origin wss:// websocket in current browsers.
        "connect-src": "'self'",
        "form-action": " ".join(["'self'", *login_origins]),
        "frame-ancestors": "'none'",
        "base-uri": "'none'",
        "object-src": "'none'",
    }
    return "; ".join(f"{name} {value}" for name, value in directives.items())


def security_headers(settings: Settings) -> dict[str, str]:
    headers = {
        "Content-Security-Policy": content_security_policy(settings),
        "Permissions-Policy": PERMISSIONS_POLICY,
        # Not "no-referrer": with it browsers send "Origin: null" on the branch's own
        # form posts, which the CSRF check must then refuse.
        "Referrer-Policy": "same-origin",
        "X-Content-Type-Options": "nosniff",
        "X-Frame-Options": "DENY",
        "Cross-Origin-Opener-Policy": "same-origin",
        "Cross-Origin-Resource-Policy": "same-origin",
    }
    if settings.base_url.startswith("https://"):
        headers["Strict-Transport-Security"] = HSTS
    return headers


def install_security_headers(app: web.Application, settings: Settings) -> None:
    headers = security_headers(settings)

    async def add_headers(request: web.Request, response: web.StreamResponse) -> None:
        if response.status == 101:
            # A websocket handshake carries no document for these to govern, and an
            # open socket keeps its handshake's headers for as long as it lives.
            return
        for name, value in headers.items():
            response.headers.setdefault(name, value)

    app.on_response_prepare.append(add_headers)


# Static files have no content hash in their names, so a browser may keep them but must ask
# each time whether they changed: a 304 answer to the ETag costs a few hundred bytes on a
# slow link, and a new release is never mixed with old modules.
STATIC_CACHE = "no-cache"


def install_static_caching(app: web.Application) -> None:
    async def add_cache_control(request: web.Request, response: web.StreamResponse) -> None:
        if request.path.startswith("/static/"):
            response.headers.setdefault("Cache-Control", STATIC_CACHE)

    app.on_response_prepare.append(add_cache_control)
