"""Serving the static pages, and the answer to a page someone's role may not open."""

from __future__ import annotations

from pathlib import Path

from aiohttp import web

STATIC_DIR = Path(__file__).resolve().parents[2] / "static"


def page(name: str) -> web.FileResponse:
    return web.FileResponse(STATIC_DIR / name, headers={"Cache-Control": "no-cache"})


def restricted() -> web.FileResponse:
    """A staff page opened by someone whose role may not see it."""
    return web.FileResponse(
        STATIC_DIR / "restricted.html", status=403, headers={"Cache-Control": "no-cache"}
    )
