"""What every HTTP route passes through: a request id, the CSRF check, errors as JSON.

A wrapper on each route's handler rather than a middleware: aiohttp runs an
application's middlewares around every route, the websocket's too, and each
middleware's coroutine stays suspended for as long as its handler runs, which
for the websocket is the page's whole life. Ours two and the one aiohttp adds
to any application that has middlewares held ≈ 1 KB per open page. The
websocket handler checks the origin and maps its errors itself
(`branch.web.ws.websocket`); /static is aiohttp's own handler, which answers
only GET and HEAD and raises nothing but HTTP errors.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Awaitable, Callable

from aiohttp import hdrs, web

from branch.errors import BranchError
from branch.logs import REQUEST_ID, new_request_id
from branch.web.csrf import check_origin
from branch.web.keys import METRICS, ORIGINS

log = logging.getLogger(__name__)

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
INTERNAL = {"code": "internal", "message": "Error interno; inténtalo de nuevo"}


def redirect(location: str, status: int = 302) -> web.Response:
    """A redirect returned, not raised as aiohttp's ``HTTPFound``.

    A raised response is caught by aiohttp into a local of the frame its traceback
    holds: a reference cycle that keeps the request, its connection and its socket
    until the cyclic collector runs. Three per login, while pages that stay open for
    hours are allocated among them (docs/performance.md, "What a waiting citizen costs").
    """
    return web.Response(status=status, headers={hdrs.LOCATION: location})


def guarded(handler: Handler) -> Handler:
    """``handler`` behind the request id, the origin check and the mapping of errors."""

    @functools.wraps(handler)
    async def guarded_handler(request: web.Request) -> web.StreamResponse:
        # Every log line of this request carries this id.
        REQUEST_ID.set(new_request_id())
        try:
            check_origin(request, request.app[ORIGINS])
            return await handler(request)
        except BranchError as error:
            request.app[METRICS].errors.labels(error.code).inc()
            return web.json_response(error.fields(), status=error.status)
        except web.HTTPException:
            raise
        except Exception:
            # Never let a bug answer with a stack trace.
            request.app[METRICS].errors.labels("internal").inc()
            log.exception("%s %s failed", request.method, request.path)
            return web.json_response(INTERNAL, status=500)

    return guarded_handler
