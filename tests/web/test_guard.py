"""The guard of the HTTP routes: request id, CSRF check and errors as JSON, no middleware."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer
from prometheus_client import generate_latest

from branch.errors import NotQueued
from branch.logs import REQUEST_ID
from branch.metrics import Metrics
from branch.web.guard import guarded
from branch.web.keys import METRICS, ORIGINS
from tests.conftest import StartBranch
from tests.web.test_operations import sample

ORIGIN = "http://branch.example"


async def not_queued(request: web.Request) -> web.StreamResponse:
    raise NotQueued("No estás en la fila")


async def bug(request: web.Request) -> web.StreamResponse:
    raise RuntimeError("a bug")


async def gone(request: web.Request) -> web.StreamResponse:
    raise web.HTTPGone()


async def request_id(request: web.Request) -> web.StreamResponse:
    return web.json_response({"request": REQUEST_ID.get()})


@pytest.fixture
async def client() -> AsyncIterator[TestClient[web.Request, web.Application]]:
    app = web.Application()
    app[METRICS] = Metrics()
    app[ORIGINS] = frozenset({ORIGIN})
    app.router.add_get("/not-queued", guarded(not_queued))
    app.router.add_get("/bug", guarded(bug))
    app.router.add_get("/gone", guarded(gone))
    app.router.add_get("/id", guarded(request_id))
    app.router.add_post("/id", guarded(request_id))
    async with TestClient(TestServer(app)) as test_client:
        yield test_client


def errors(client: TestClient[web.Request, web.Application], code: str) -> float:
    text = generate_latest(client.app[METRICS].registry).decode()
    return sample(text, f'branch_errors_total{{code="{code}"}}')


async def test_a_branch_error_answers_its_status_and_code(
    client: TestClient[web.Request, web.Application],
) -> None:
    async with client.get("/not-queued") as response:
        assert response.status == NotQueued.status
        assert await response.json() == {"code": "not_queued", "message": "No estás en la fila"}
    assert errors(client, "not_queued") == 1


async def test_a_bug_answers_500_without_a_stack_trace_and_is_logged(
    client: TestClient[web.Request, web.Application], caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.ERROR, logger="branch.web.guard"):
        async with client.get("/bug") as response:
            assert response.status == 500
            assert await response.json() == {
                "code": "internal",
                "message": "Error interno; inténtalo de nuevo",
            }
    assert errors(client, "internal") == 1
    assert [record.getMessage() for record in caplog.records] == ["GET /bug failed"]
    assert caplog.records[0].exc_info is not None


async def test_http_errors_pass_as_aiohttp_answers_them(
    client: TestClient[web.Request, web.Application],
) -> None:
    async with client.get("/gone") as response:
        assert response.status == 410


async def test_each_request_gets_its_own_id(
    client: TestClient[web.Request, web.Application],
) -> None:
    ids = set()
    for _ in range(3):
        async with client.get("/id") as response:
            ids.add((await response.json())["request"])
    assert len(ids) == 3 and "" not in ids


@pytest.mark.parametrize("headers", [{}, {"Origin": "null"}, {"Origin": "https://evil.example"}])
async def test_a_post_from_elsewhere_is_refused_before_its_handler(
    client: TestClient[web.Request, web.Application], headers: dict[str, str]
) -> None:
    async with client.post("/id", headers=headers) as response:
        assert response.status == 403
        body = await response.json()
        assert body["code"] == "bad_origin"
        assert body["message"].startswith("POST /id must come from the branch's own pages")
    async with client.post("/id", headers={"Origin": ORIGIN}) as response:
        assert response.status == 200


async def test_every_http_route_is_guarded_and_no_middleware_wraps_the_websocket(
    start_branch: StartBranch,
) -> None:
    # A middleware's coroutine would stay suspended for an open page's whole life.
    node = await start_branch()
    assert not node.app.middlewares
    guard = guarded(request_id).__code__
    unguarded = {
        route.resource.canonical
        for route in node.app.router.routes()
        if route.resource is not None and getattr(route.handler, "__code__", None) is not guard
    }
    assert unguarded == {"/ws", "/static"}
