"""The browser side agrees with the server: message types, and no inline script for the CSP."""

from __future__ import annotations

import re
from html.parser import HTMLParser
from pathlib import Path

import pytest

from branch import errors
from branch.schema import CLIENT_MESSAGES, SERVER_TYPES

STATIC = Path(__file__).resolve().parents[1] / "static"
PAGES = sorted(STATIC.glob("*.html"))


def js_string_array(source: str, name: str) -> list[str]:
    """The string literals of `export const NAME = Object.freeze([...])` in a JS module."""
    match = re.search(
        rf"export\s+const\s+{name}\s*=\s*(?:Object\.freeze\()?\[(?P<body>[^\]]*)\]", source
    )
    if match is None:
        raise AssertionError(f"static/js/signaling.js has no array literal {name}")
    body = re.sub(r"//[^\n]*", "", match["body"])
    items = [item.strip() for item in body.split(",") if item.strip()]
    values = []
    for item in items:
        literal = re.fullmatch(r"\"([^\"\\]*)\"|'([^'\\]*)'", item)
        if literal is None:
            raise AssertionError(f"{name} holds {item!r}, not a plain string literal")
        values.append(literal[1] if literal[1] is not None else literal[2])
    return values


def test_client_types_match_the_schema() -> None:
    source = (STATIC / "js" / "signaling.js").read_text(encoding="utf-8")
    client = js_string_array(source, "CLIENT_TYPES")
    assert len(client) == len(set(client)), "CLIENT_TYPES lists a type twice"
    assert sorted(client) == sorted(CLIENT_MESSAGES)


def test_server_types_match_the_schema() -> None:
    source = (STATIC / "js" / "signaling.js").read_text(encoding="utf-8")
    server = js_string_array(source, "SERVER_TYPES")
    assert len(server) == len(set(server)), "SERVER_TYPES lists a type twice"
    assert sorted(server) == sorted(SERVER_TYPES)


class InlineCodeFinder(HTMLParser):
    """Collects what a strict Content-Security-Policy would block."""

    def __init__(self) -> None:
        super().__init__()
        self.problems: list[str] = []
        self.in_script = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        for name, value in attrs:
            url = (value or "").strip().lower()
            if name.startswith("on"):
                self.problems.append(f"<{tag}> has an inline handler {name}={value!r}")
            if name in ("href", "src", "action") and url.startswith("javascript:"):
                self.problems.append(f"<{tag}> has a javascript: URL in {name}")
            if name == "style":
                self.problems.append(f"<{tag}> has an inline style attribute")
        if tag == "script":
            attributes = dict(attrs)
            if not attributes.get("src"):
                self.problems.append("<script> without src")
            elif attributes.get("type") != "module":
                self.problems.append(f"<script src={attributes['src']!r}> is not type=module")
            self.in_script = True
        if tag == "style":
            self.problems.append("inline <style> element")

    def handle_endtag(self, tag: str) -> None:
        if tag == "script":
            self.in_script = False

    def handle_data(self, data: str) -> None:
        if self.in_script and data.strip():
            self.problems.append(f"inline script content {data.strip()[:40]!r}")


def test_the_pages_exist() -> None:
    assert {page.name for page in PAGES} >= {
        "index.html",
        "citizen.html",
        "executive.html",
        "reports.html",
        "restricted.html",
    }


@pytest.mark.parametrize("page", PAGES, ids=lambda page: page.name)
def test_page_has_no_inline_code(page: Path) -> None:
    finder = InlineCodeFinder()
    finder.feed(page.read_text(encoding="utf-8"))
    finder.close()
    assert finder.problems == []


@pytest.mark.parametrize("page", PAGES, ids=lambda page: page.name)
def test_page_loads_nothing_from_elsewhere(page: Path) -> None:
    text = page.read_text(encoding="utf-8")
    assert re.findall(r"""(?:src|href)\s*=\s*["'](?:https?:)?//""", text) == []


def js_close_codes(source: str) -> tuple[dict[str, int], set[str]]:
    """The `CLOSE` codes of signaling.js, and the names of those after which it stays closed."""
    block = re.search(r"export\s+const\s+CLOSE\s*=\s*Object\.freeze\(\{(?P<body>[^}]*)\}", source)
    final = re.search(r"const\s+FINAL_CLOSES\s*=\s*new\s+Set\(\[(?P<body>[^\]]*)\]", source)
    assert block is not None and final is not None, "signaling.js has no CLOSE or FINAL_CLOSES"
    codes = {name: int(code) for name, code in re.findall(r"(\w+):\s*(\d+)", block["body"])}
    return codes, set(re.findall(r"CLOSE\.(\w+)", final["body"]))


def test_the_close_codes_of_the_page_are_the_servers() -> None:
    codes, final = js_close_codes((STATIC / "js" / "signaling.js").read_text())
    for name, code in codes.items():
        assert getattr(errors, f"CLOSE_{name}") == code, name
    assert final <= codes.keys()
    # Closed for falling behind, a page reconnects as after a dropped connection.
    assert codes["FELL_BEHIND"] == errors.CLOSE_FELL_BEHIND
    assert "FELL_BEHIND" not in final
