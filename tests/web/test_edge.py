"""The web edge before login: health, pages, origin and authentication at the socket."""

from __future__ import annotations

import aiohttp

from branch.errors import CLOSE_NOT_AUTHENTICATED
from branch.tls import client_context
from tests.conftest import StartBranch


def session_for(ca_path: object) -> aiohttp.ClientSession:
    connector = aiohttp.TCPConnector(ssl=client_context(ca_path))  # type: ignore[arg-type]
    return aiohttp.ClientSession(connector=connector, cookie_jar=aiohttp.CookieJar(unsafe=True))


async def test_health_and_landing(start_branch: StartBranch) -> None:
    node = await start_branch()
    async with session_for(node.ca_path) as http:
        async with http.get(f"{node.url}/healthz") as response:
            assert response.status == 200
            assert await response.json() == {"status": "ok"}
        async with http.get(f"{node.url}/") as response:
            assert response.status == 200
            assert "Ingresar con ClaveÚnica" in await response.text()


async def test_pages_send_strangers_to_the_login(start_branch: StartBranch) -> None:
    node = await start_branch()
    async with session_for(node.ca_path) as http:
        for page in ("citizen", "executive"):
            async with http.get(f"{node.url}/{page}", allow_redirects=False) as response:
                assert response.status == 302
                assert response.headers["Location"] == f"/login?next=/{page}"


async def test_socket_refuses_a_foreign_origin(start_branch: StartBranch) -> None:
    node = await start_branch()
    async with session_for(node.ca_path) as http:
        async with http.get(
            f"{node.url}/ws",
            headers={
                "Origin": "https://evil.example",
                "Connection": "Upgrade",
                "Upgrade": "websocket",
                "Sec-WebSocket-Version": "13",
                "Sec-WebSocket-Key": "dGhlIHNhbXBsZSBub25jZQ==",
            },
        ) as response:
            assert response.status == 403
            body = await response.json()
            assert body["code"] == "bad_origin"
            assert "https://evil.example" in body["message"]


async def test_socket_without_a_session_closes_with_4401(start_branch: StartBranch) -> None:
    node = await start_branch()
    async with session_for(node.ca_path) as http:
        async with http.ws_connect(f"{node.url}/ws", origin=node.url) as socket:
            message = await socket.receive(timeout=5)
            assert message.type is aiohttp.WSMsgType.CLOSE
            assert socket.close_code == CLOSE_NOT_AUTHENTICATED


async def test_forged_cookie_is_not_a_session(start_branch: StartBranch) -> None:
    node = await start_branch()
    async with session_for(node.ca_path) as http:
        http.cookie_jar.update_cookies({"__Host-branch": "forged.value"})
        async with http.get(f"{node.url}/api/me") as response:
            assert response.status == 401
        async with http.ws_connect(f"{node.url}/ws", origin=node.url) as socket:
            await socket.receive(timeout=5)
            assert socket.close_code == CLOSE_NOT_AUTHENTICATED
