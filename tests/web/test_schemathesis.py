"""Schemathesis against a live node (its own process): no server error on any described route.

The node is `branch serve --dev` on a loopback port, loading its description
from /openapi.json; the calls carry a logged-in auditor's cookie (so the
read-only API is explored past 401) and the branch's Origin (so form posts are
explored past the CSRF check). Responses are checked against the description
too: status codes, content types and JSON shapes.
"""

from __future__ import annotations

import asyncio
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
)

# Loaded here, while the tests are collected, not by `from_dict` inside the fixture:
# pytest rewrites schemathesis's modules as they are imported, and that lazy import,
# made in the middle of the suite, once failed with Python 3.11's "AST constructor
# recursion depth mismatch" (a check on a count ast.parse keeps for the whole process).
from schemathesis.specs.openapi.schemas import OpenApiSchema as _OpenApiSchema  # noqa: F401

from branch.auth.sessions import COOKIE_NAME
from branch.tls import CertificatePaths
from branch.web.client import BranchClient
from branch.web.openapi import OPERATIONS
from tests.conftest import AUDITOR_RUN

# Examples per operation, positive and negative: ~30 operations stay within ~30 s.
EXAMPLES = 20
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]


@dataclass(frozen=True)
class LiveNode:
    url: str
    ca: Path
    cookie: str


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


async def _auditor_cookie(url: str, ca: Path) -> str:
    async with BranchClient(url, ca_file=ca) as client:
        await client.login(AUDITOR_RUN, "Ana", "Auditora", "/audit")
        return next(cookie.value for cookie in client.http.cookie_jar if cookie.key == COOKIE_NAME)


@pytest.fixture(scope="module")
def live_node(
    certificates: CertificatePaths, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[LiveNode]:
    folder = tmp_path_factory.mktemp("live")
    port = _free_port()
    url = f"https://localhost:{port}"
    config = folder / "branch.toml"
    config.write_text(
        f'mode = "development"\nhost = "127.0.0.1"\nport = {port}\npublic_url = "{url}"\n'
        f'data_dir = "{folder / "data"}"\ncerts_dir = "{certificates.ca_cert.parent}"\n'
        f'[roles]\nauditors = ["{AUDITOR_RUN}"]\n'
        # Schemathesis starts many logins from one address.
        "[limits]\nlogins_per_minute = 1000\n",
        encoding="utf-8",
    )
    environment = {key: value for key, value in os.environ.items() if not key.startswith("BRANCH_")}
    process = subprocess.Popen(
        [sys.executable, "-m", "branch", "--config", str(config), "serve"],
        env=environment,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                requests.get(f"{url}/healthz", verify=str(certificates.ca_cert), timeout=1)
                break
            except requests.ConnectionError:
                if process.poll() is not None or time.monotonic() > deadline:
                    _, errors = process.communicate(timeout=5)
                    pytest.fail(f"the node did not start: {errors.decode()[-2000:]}")
                time.sleep(0.1)
        cookie = asyncio.run(_auditor_cookie(url, certificates.ca_cert))
        yield LiveNode(url, certificates.ca_cert, cookie)
    finally:
        process.terminate()
        _, errors = process.communicate(timeout=10)
    # A server error is also a logged traceback: there must be none.
    assert b"Traceback" not in errors, errors.decode()[-4000:]


@pytest.fixture(scope="module")
def api_schema(live_node: LiveNode) -> schemathesis.BaseSchema:
    document = requests.get(f"{live_node.url}/openapi.json", verify=str(live_node.ca), timeout=5)
    return schemathesis.openapi.from_dict(document.json())


# Every described operation; those the node does not serve would fail to be found below.
ROUTES = sorted(OPERATIONS)


@pytest.mark.parametrize(("method", "path"), ROUTES, ids=[f"{m} {p}" for m, p in ROUTES])
def test_no_server_error_on_any_route(
    method: str, path: str, api_schema: schemathesis.BaseSchema, live_node: LiveNode
) -> None:
    operation = api_schema[path][method]
    # Logging out would end the cookie's session for every case after it.
    cookies = {} if path == "/logout" else {COOKIE_NAME: live_node.cookie}

    @given(
        case=st.one_of(
            operation.as_strategy(GenerationMode.POSITIVE),
            operation.as_strategy(GenerationMode.NEGATIVE),
        )
    )
    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    def explore(case: schemathesis.Case[Any]) -> None:
        case.call_and_validate(
            base_url=live_node.url,
            headers={"Origin": live_node.url},
            cookies=cookies,
            verify=str(live_node.ca),
            allow_redirects=False,
            timeout=10,
            checks=CHECKS,
        )

    explore()
