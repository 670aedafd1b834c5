"""Serving the static pages, and the answer to a page someone's role may not open."""

from __future__ import annotations

from collections.abc import Collection
from pathlib import Path

from aiohttp import web

from branch.web.auth import current_session
from branch.web.guard import redirect

STATIC_DIR = Path(__file__).resolve().parents[2] / "static"


def page(name: str) -> web.FileResponse:
    return web.FileResponse(STATIC_DIR / name, headers={"Cache-Control": "no-cache"})


def restricted() -> web.FileResponse:
    """A staff page opened by someone whose role may not see it."""
    return web.FileResponse(
        STATIC_DIR / "restricted.html", status=403, headers={"Cache-Control": "no-cache"}
    )


async def staff_page(request: web.Request, name: str, roles: Collection[str]) -> web.StreamResponse:
    """A page for some roles: to the login when logged out, restricted for other roles."""
    session = await current_session(request)
    if session is None:
        return redirect(f"/login?next={request.path}")
    if session.role.value not in roles:
        return restricted()
    return page(name)
