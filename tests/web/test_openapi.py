"""The OpenAPI description: every registered route described, nothing else, served live."""

from __future__ import annotations

from pathlib import Path

import pytest

from branch.config import load_settings
from branch.web.app import create_app
from branch.web.client import BranchClient
from branch.web.openapi import OPERATIONS, openapi_document, route_keys
from tests.conftest import StartBranch


@pytest.mark.parametrize("mode", ["development", "production"])
def test_every_route_is_described_and_nothing_else(tmp_path: Path, mode: str) -> None:
    app = create_app(load_settings({}, mode=mode, data_dir=str(tmp_path)))
    routes = set(route_keys(app))
    missing = routes - set(OPERATIONS)
    assert not missing, f"routes without a description in branch/web/openapi.py: {missing}"
    document = openapi_document(app)
    described = {
        (method.upper(), path) for path, item in document["paths"].items() for method in item
    }
    assert described == routes
    if mode == "development":
        assert set(OPERATIONS) == routes, "descriptions of routes that do not exist"
    else:
        assert not any(path.startswith("/dev-login") for _method, path in described)


async def test_the_node_serves_its_description(start_branch: StartBranch) -> None:
    node = await start_branch()
    async with (
        BranchClient(node.url, ca_file=node.ca_path) as client,
        client.http.get(f"{node.url}/openapi.json") as response,
    ):
        document = await response.json()
    assert response.status == 200
    assert (document["openapi"], document["servers"]) == ("3.1.0", [{"url": node.url}])
    verify = document["paths"]["/api/audit/verify"]["get"]
    assert set(verify["responses"]) == {"200", "400", "401", "403"}
    assert verify["description"] == "Who may call it: auditor, admin."
