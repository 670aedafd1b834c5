"""A Python client of a branch node: logs in through the development login and speaks the protocol.

Used by `branch probe`, the tests and load clients, so they all exercise the
same paths a browser does: the OpenID redirects, the session cookie, the
websocket with its Origin.
"""

from __future__ import annotations

import asyncio
import json
import re
import ssl
from html import unescape
from html.parser import HTMLParser
from pathlib import Path
from types import TracebackType
from typing import Any
from urllib.parse import urljoin, urlsplit

import aiohttp

from branch.tls import client_context

LOOPBACK_HOSTS = ("127.0.0.1", "localhost", "::1")


class ClientError(Exception):
    """A step against the node failed; the message names the step and what came back."""


class ServerError(ClientError):
    """The node answered with an `error` message."""

    def __init__(self, payload: dict[str, Any]) -> None:
        super().__init__(f"{payload.get('code')}: {payload.get('message')}")
        self.payload = payload
        self.code = str(payload.get("code"))


class _FormReader(HTMLParser):
    """Finds the first form's action and its inputs, as a browser would submit them."""

    def __init__(self) -> None:
        super().__init__()
        self.action: str | None = None
        self.fields: dict[str, str] = {}
        self._in_form = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = {name: value or "" for name, value in attrs}
        if tag == "form" and self.action is None:
            self._in_form = True
            self.action = attributes.get("action", "")
        elif tag == "input" and self._in_form and attributes.get("name"):
            self.fields[attributes["name"]] = attributes.get("value", "")

    def handle_endtag(self, tag: str) -> None:
        if tag == "form":
            self._in_form = False


def _alert(html: str) -> str:
    """Why an error page refused, for a readable failure: the server's own detail on the
    branch's login failure page, else the text of its role="alert" paragraph."""
    for pattern in (r'<p class="detail"[^>]*>([^<]*)<', r'role="alert"[^>]*>([^<]*)<'):
        found = re.search(pattern, html)
        if found:
            return unescape(found.group(1))
    return html[:200]


class BranchClient:
    """One person's browser, without the browser."""

    def __init__(
        self,
        url: str,
        *,
        ca_file: str | Path | None = None,
        insecure: bool = False,
        answer_readiness: bool = True,
    ) -> None:
        self.url = url.rstrip("/")
        # Like a page with live camera and microphone, confirm readiness checks at once.
        self.answer_readiness = answer_readiness
        parts = urlsplit(self.url)
        self.origin = f"{parts.scheme}://{parts.netloc}"
        # True: aiohttp's one shared context with the system trust. Loading the
        # system CAs again for every client costs tens of milliseconds of CPU,
        # which made a load client of thousands of logins spend most of its time there.
        self._ssl: ssl.SSLContext | bool = (
            False if insecure else client_context(Path(ca_file)) if ca_file else True
        )
        self._http: aiohttp.ClientSession | None = None
        self._socket: aiohttp.ClientWebSocketResponse | None = None
        self._inbox: list[dict[str, Any]] = []
        self._arrived = asyncio.Event()
        self._closed = True
        self._reader: asyncio.Task[None] | None = None
        self._server_close_code: int | None = None
        self.welcome: dict[str, Any] | None = None

    @property
    def http(self) -> aiohttp.ClientSession:
        if self._http is None:
            # Like a browser, plain http on loopback counts as secure, so the
            # Secure session cookie works against a node behind no TLS (benchmarks).
            parts = urlsplit(self.url)
            loopback = parts.scheme == "http" and parts.hostname in LOOPBACK_HOSTS
            self._http = aiohttp.ClientSession(
                connector=aiohttp.TCPConnector(ssl=self._ssl),
                cookie_jar=aiohttp.CookieJar(
                    unsafe=True, treat_as_secure_origin=[self.origin] if loopback else []
                ),
                timeout=aiohttp.ClientTimeout(total=30),
            )
        return self._http

    async def __aenter__(self) -> BranchClient:
        return self

    async def __aexit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        await self.close()

    async def login(
        self, run: str, given_names: str, surnames: str, next_path: str = "/citizen"
    ) -> dict[str, Any]:
        """Log in through the development login; returns /api/me."""
        try:
            async with self.http.get(f"{self.url}/login", params={"next": next_path}) as page:
                html = await page.text()
                if page.status != 200:
                    raise ClientError(f"login page answered HTTP {page.status}")
                form_url = str(page.url)
            form = _FormReader()
            form.feed(html)
            if form.action is None:
                raise ClientError("the login page has no form (is the development login on?)")
            fields = {**form.fields, "run": run, "given_name": given_names, "family_name": surnames}
            action = urljoin(form_url, form.action)
            parts = urlsplit(action)
            # As a browser does: the form's POST carries the Origin of the page it was on.
            async with self.http.post(
                action,
                data=fields,
                headers={"Origin": f"{parts.scheme}://{parts.netloc}"},
                allow_redirects=False,
            ) as provider:
                if provider.status != 302:
                    raise ClientError(
                        f"the login form answered HTTP {provider.status}: {_alert(await provider.text())}"
                    )
                callback = provider.headers["Location"]
            # Stop at the callback: where it sends a person next is the page's business.
            async with self.http.get(callback, allow_redirects=False) as landed:
                if landed.status != 302:
                    raise ClientError(
                        f"login refused (HTTP {landed.status}): {_alert(await landed.text())}"
                    )
            async with self.http.get(f"{self.url}/api/me") as me:
                if me.status != 200:
                    raise ClientError(f"after login /api/me answered HTTP {me.status}")
                person: dict[str, Any] = await me.json()
                return person
        except aiohttp.ClientError as exc:
            raise ClientError(f"cannot reach {self.url}: {exc}") from exc

    async def logout(self) -> None:
        async with self.http.post(
            f"{self.url}/logout", headers={"Origin": self.origin}, allow_redirects=False
        ) as response:
            if response.status != 303:
                raise ClientError(f"logout answered HTTP {response.status}")

    async def connect(self) -> dict[str, Any]:
        """Open the websocket; returns the welcome message."""
        try:
            self._socket = await self.http.ws_connect(
                f"{self.url}/ws", origin=self.origin, heartbeat=20
            )
        except aiohttp.ClientError as exc:
            raise ClientError(f"websocket refused: {exc}") from exc
        self._closed = False
        self._server_close_code = None
        self._reader = asyncio.create_task(self._read(self._socket))
        self.welcome = await self.receive("welcome")
        return self.welcome

    async def _read(self, socket: aiohttp.ClientWebSocketResponse) -> None:
        # The only reader of the socket, so several tasks may wait for different kinds.
        try:
            while True:
                frame = await socket.receive()
                if frame.type is aiohttp.WSMsgType.CLOSE:
                    # What the server closed with, as a browser's CloseEvent reports it;
                    # the socket's own code turns 1006 when the server hangs up before
                    # our closing reply is written.
                    self._server_close_code = int(frame.data)
                if frame.type in (
                    aiohttp.WSMsgType.CLOSE,
                    aiohttp.WSMsgType.CLOSING,
                    aiohttp.WSMsgType.CLOSED,
                ):
                    break
                if frame.type is aiohttp.WSMsgType.TEXT:
                    message = json.loads(frame.data)
                    self._inbox.append(message)
                    self._wake()
                    if (
                        self.answer_readiness
                        and message.get("type") == "queue.offered"
                        and message.get("readySeconds")
                    ):
                        await socket.send_str(
                            json.dumps({"type": "queue.ready", "contactId": message["contactId"]})
                        )
        finally:
            self._closed = True
            self._wake()

    def _wake(self) -> None:
        self._arrived.set()
        self._arrived = asyncio.Event()

    async def send(self, kind: str, **fields: Any) -> None:
        await self.send_raw(json.dumps({"type": kind, **fields}))

    async def send_raw(self, data: str | bytes) -> None:
        if self._socket is None or self._socket.closed:
            raise ClientError("not connected")
        if isinstance(data, bytes):
            await self._socket.send_bytes(data)
        else:
            await self._socket.send_str(data)

    async def receive(
        self,
        kind: str | tuple[str, ...] | None = None,
        *,
        timeout: float = 10.0,
        raise_errors: bool = True,
    ) -> dict[str, Any]:
        """The next message of ``kind`` (any kind when None); others stay queued in order.

        While waiting for another kind, an `error` message raises ServerError
        (unless ``raise_errors`` is off): a refused request should fail the
        caller at once, not hang it until the timeout.
        """
        kinds = (kind,) if isinstance(kind, str) else kind
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            for index, message in enumerate(self._inbox):
                if kinds is None or message["type"] in kinds:
                    del self._inbox[index]
                    return message
                if raise_errors and message["type"] == "error":
                    del self._inbox[index]
                    raise ServerError(message)
            if self._closed:
                raise ClientError(
                    f"websocket closed (code {self.close_code}) while waiting for {kind or 'a message'}"
                )
            arrived = self._arrived
            try:
                await asyncio.wait_for(arrived.wait(), timeout=max(deadline - loop.time(), 0))
            except TimeoutError:
                raise ClientError(f"no {kind or 'message'} within {timeout:g} s") from None

    def received(self) -> list[dict[str, Any]]:
        """Everything received and not yet taken, without waiting."""
        return list(self._inbox)

    async def closed(self, *, timeout: float = 10.0) -> int | None:
        """Wait until the server closes the socket; returns the close code."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while not self._closed:
            try:
                await asyncio.wait_for(self._arrived.wait(), timeout=max(deadline - loop.time(), 0))
            except TimeoutError:
                raise ClientError(f"the socket is still open after {timeout:g} s") from None
        return self.close_code

    @property
    def close_code(self) -> int | None:
        if self._server_close_code is not None:
            return self._server_close_code
        return None if self._socket is None else self._socket.close_code

    async def disconnect(self) -> None:
        if self._socket is not None:
            await self._socket.close()
        if self._reader is not None:
            await self._reader
            self._reader = None

    async def close(self) -> None:
        await self.disconnect()
        if self._http is not None:
            await self._http.close()
            self._http = None
