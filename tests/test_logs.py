"""JSON logs: one object per line, the request id, and nothing personal or secret."""

from __future__ import annotations

import json
import logging

import pytest

from branch.logs import REQUEST_ID, JsonFormatter, redact
from branch.web.client import BranchClient
from tests.conftest import CITIZEN_RUN, StartBranch

JWT = "eyJhbGciOiJSUzI1NiIsImtpZCI6ImsxIn0.eyJzdWIiOiIxMjM0In0.c2lnbmF0dXJlLWJ5dGVzLWhlcmU"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("login 12.345.678-5 as citizen", "login **.***.678-5 as citizen"),
        ("run 12345678-5 and 1.234.567-K", "run **.***.678-5 and **.***.567-K"),
        (f"token {JWT} refused", "token [redacted] refused"),
        ("code=4f9c1b2e7d3a4f9c1b2e7d3a4f9c1b2e7d3a", "code=[redacted]"),
        ("offer timed out after 20 s", "offer timed out after 20 s"),
    ],
)
def test_runs_are_masked_and_secrets_redacted(text: str, expected: str) -> None:
    assert redact(text) == expected


def test_one_json_object_per_line_with_the_request_id() -> None:
    record = logging.LogRecord("branch.web", logging.WARNING, __file__, 1, "bad %s", ("x",), None)
    token = REQUEST_ID.set("abc123")
    try:
        line = JsonFormatter().format(record)
    finally:
        REQUEST_ID.reset(token)
    document = json.loads(line)
    assert document["level"] == "warning" and document["logger"] == "branch.web"
    assert (document["message"], document["request"]) == ("bad x", "abc123")


class Collect(logging.Handler):
    def __init__(self) -> None:
        super().__init__()
        self.lines: list[str] = []
        self.setFormatter(JsonFormatter())

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(self.format(record))


async def test_a_login_logs_a_masked_run_with_its_request_id(start_branch: StartBranch) -> None:
    node = await start_branch()
    collect = Collect()
    logger = logging.getLogger("branch")
    logger.addHandler(collect)
    previous = logger.level
    logger.setLevel(logging.INFO)
    try:
        async with BranchClient(node.url, ca_file=node.ca_path) as ana:
            await ana.login(CITIZEN_RUN, "Ana", "Rojas", "/citizen")
    finally:
        logger.removeHandler(collect)
        logger.setLevel(previous)
    documents = [json.loads(line) for line in collect.lines]
    logins = [d for d in documents if d["message"].startswith("login ")]
    assert logins and all(d.get("request") for d in logins)
    everything = "\n".join(collect.lines)
    assert CITIZEN_RUN not in everything and CITIZEN_RUN.replace(".", "") not in everything
