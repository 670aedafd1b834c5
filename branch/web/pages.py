"""Serving the static pages, and the answer to a page someone's role may not open."""

from __future__ import annotations

from pathlib import Path

from aiohttp import web

STATIC_DIR = Path(__file__).resolve().parents[2] / "static"

RESTRICTED = (
    '<!doctype html><html lang="es-CL"><meta charset="utf-8">'
    "<title>Acceso restringido</title><h1>Acceso restringido</h1>"
    "<p>Esta página es solo para funcionarios autorizados.</p>"
    '<p><a href="/citizen">Ir a la Sucursal en Línea</a></p></html>'
)


def page(name: str) -> web.FileResponse:
    return web.FileResponse(STATIC_DIR / name, headers={"Cache-Control": "no-cache"})


def restricted() -> web.Response:
    return web.Response(status=403, content_type="text/html", text=RESTRICTED)
