"""Static files and pages are revalidated by ETag: a second look costs a 304, not the file."""

from __future__ import annotations

import pytest

from tests.conftest import StartBranch
from tests.web.test_edge import session_for


@pytest.mark.parametrize(
    "path",
    ["/static/js/citizen.js", "/static/css/branch.css", "/static/i18n/es-CL.json", "/"],
)
async def test_static_files_and_pages_answer_304_to_their_etag(
    start_branch: StartBranch, path: str
) -> None:
    node = await start_branch()
    async with session_for(node.ca_path) as http:
        async with http.get(node.url + path) as first:
            assert first.status == 200
            body = await first.read()
            assert len(body) > 0
            etag = first.headers["ETag"]
            assert first.headers["Last-Modified"]
            assert first.headers["Cache-Control"] == "no-cache"
        async with http.get(node.url + path, headers={"If-None-Match": etag}) as again:
            assert again.status == 304
            assert await again.read() == b""
            assert again.headers["ETag"] == etag
