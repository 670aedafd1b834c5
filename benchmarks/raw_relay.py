"""The floor for this stack: a minimal aiohttp websocket relay.

A client opens ``/ws?id=ID``; a text message ``{"to": OTHER, ...}`` is parsed
and forwarded as is to OTHER's socket. Nothing else: no login, no state, no
records. Run as ``python -m benchmarks.raw_relay PORT``.
"""

from __future__ import annotations

import json
import sys

from aiohttp import WSMsgType, web

SOCKETS = web.AppKey("sockets", dict[str, web.WebSocketResponse])


async def relay(request: web.Request) -> web.StreamResponse:
    sockets = request.app[SOCKETS]
    peer_id = request.query.get("id", "")
    socket = web.WebSocketResponse()
    await socket.prepare(request)
    if not peer_id:
        await socket.close(code=4400, message=b"id missing")
        return socket
    sockets[peer_id] = socket
    try:
        async for frame in socket:
            if frame.type is not WSMsgType.TEXT:
                continue
            target = sockets.get(json.loads(frame.data).get("to", ""))
            if target is not None and not target.closed:
                await target.send_str(frame.data)
    finally:
        if sockets.get(peer_id) is socket:
            del sockets[peer_id]
    return socket


def create_app() -> web.Application:
    app = web.Application()
    app[SOCKETS] = {}
    app.router.add_get("/ws", relay)
    return app


if __name__ == "__main__":
    web.run_app(create_app(), host="127.0.0.1", port=int(sys.argv[1]), print=None, access_log=None)
