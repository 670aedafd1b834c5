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


async def test_socket_declines_compression_a_browser_offers(start_branch: StartBranch) -> None:
    node = await start_branch()
    async with session_for(node.ca_path) as http:
        async with http.ws_connect(f"{node.url}/ws", origin=node.url, compress=15) as socket:
            await socket.receive(timeout=5)
            assert socket.compress == 0


async def test_forged_cookie_is_not_a_session(start_branch: StartBranch) -> None:
    node = await start_branch()
    async with session_for(node.ca_path) as http:
        http.cookie_jar.update_cookies({"__Host-branch": "forged.value"})
        async with http.get(f"{node.url}/api/me") as response:
            assert response.status == 401
        async with http.ws_connect(f"{node.url}/ws", origin=node.url) as socket:
            await socket.receive(timeout=5)
            assert socket.close_code == CLOSE_NOT_AUTHENTICATED


async def test_every_response_carries_the_security_headers(start_branch: StartBranch) -> None:
    node = await start_branch()
    paths = [
        "/",
        "/healthz",
        "/citizen",  # a redirect
        "/static/js/citizen.js",
        "/static/nothing-here.js",  # a 404
        "/dev-login/authorize?client_id=nope",  # an error page of the development login
        "/api/me",  # 401 JSON
    ]
    async with session_for(node.ca_path) as http:
        for path in paths:
            async with http.get(f"{node.url}{path}", allow_redirects=False) as response:
                headers = response.headers
                policy = headers.get("Content-Security-Policy", "")
                assert "script-src 'self';" in policy, path
                assert "unsafe-inline" not in policy and "unsafe-eval" not in policy, path
                assert "frame-ancestors 'none'" in policy, path
                assert "default-src 'none'" in policy, path
                assert headers["Strict-Transport-Security"].startswith("max-age=31536000"), path
                assert headers["Referrer-Policy"] == "same-origin", path
                assert headers["X-Content-Type-Options"] == "nosniff", path
                assert headers["X-Frame-Options"] == "DENY", path
                permissions = headers["Permissions-Policy"]
                assert "camera=(self)" in permissions and "microphone=(self)" in permissions
                assert "geolocation=()" in permissions, path


async def test_the_logout_redirect_to_the_provider_is_an_allowed_form_action(
    start_branch: StartBranch,
) -> None:
    node = await start_branch(oidc_logout_url="https://accounts.example.cl/api/v1/logout")
    async with session_for(node.ca_path) as http, http.get(f"{node.url}/") as response:
        policy = response.headers["Content-Security-Policy"]
    form_action = next(d for d in policy.split("; ") if d.startswith("form-action"))
    assert form_action.split()[1:] == [
        "'self'",
        "https://accounts.example.cl",
        f"https://localhost:{node.settings.port}",
    ]


async def test_state_changing_requests_must_come_from_the_branch(start_branch: StartBranch) -> None:
    node = await start_branch()
    posts = [
        route.resource.canonical
        for route in node.app.router.routes()
        if route.method == "POST" and route.resource is not None
    ]
    assert "/logout" in posts and "/dev-login/authorize" in posts
    async with session_for(node.ca_path) as http:
        for path in posts:
            if path in ("/dev-login/token", "/dev-login/userinfo"):
                continue  # back-channel: servers with their own credentials, no browser
            for headers in ({"Origin": "https://evil.example"}, {"Origin": "null"}, {}):
                async with http.post(f"{node.url}{path}", headers=headers, data={}) as response:
                    assert response.status == 403, (path, headers)
                    body = await response.json()
                    assert body["code"] == "bad_origin", (path, headers)
        # The branch's own origin gets through to the handler (which then judges the request).
        async with http.post(
            f"{node.url}/logout", headers={"Origin": node.url}, allow_redirects=False
        ) as response:
            assert response.status != 403
