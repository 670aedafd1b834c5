"""The message catalogs: both languages say everything, and the pages only use words they hold."""

from __future__ import annotations

import json
import re
from html.parser import HTMLParser
from pathlib import Path

import pytest

import branch.auth.oidc  # noqa: F401  (an error class of its own)
from branch import errors
from branch.schema import CLIENT_MESSAGES, SERVER_TYPES

STATIC = Path(__file__).resolve().parents[1] / "static"
LANGUAGES = ("es-CL", "en")
PAGES = sorted(STATIC.glob("*.html"))
SCRIPTS = sorted((STATIC / "js").glob("*.js"))
# Words attributes a person reads or hears: each must come from a catalog.
READ_ATTRIBUTES = ("aria-label", "placeholder", "title", "alt", "content")

Entry = str | dict[str, str]


def catalog(language: str) -> dict[str, Entry]:
    loaded: dict[str, Entry] = json.loads(
        (STATIC / "i18n" / f"{language}.json").read_text(encoding="utf-8")
    )
    return loaded


def slots(entry: Entry) -> set[str]:
    texts = entry.values() if isinstance(entry, dict) else [entry]
    return {slot for text in texts for slot in re.findall(r"\{(\w+)\}", text)}


def test_both_languages_have_the_same_keys() -> None:
    spanish, english = catalog("es-CL"), catalog("en")
    assert sorted(set(spanish) - set(english)) == [], "missing in en"
    assert sorted(set(english) - set(spanish)) == [], "missing in es-CL"


@pytest.mark.parametrize("language", LANGUAGES)
def test_entries_are_words_or_plural_forms(language: str) -> None:
    for key, entry in catalog(language).items():
        if isinstance(entry, dict):
            assert "other" in entry and set(entry) <= {
                "zero",
                "one",
                "two",
                "few",
                "many",
                "other",
            }, key
            assert all(isinstance(text, str) and text for text in entry.values()), key
        else:
            assert isinstance(entry, str) and entry, f"{language}: {key} is empty"


def test_both_languages_fill_the_same_slots() -> None:
    spanish, english = catalog("es-CL"), catalog("en")
    differ = {key: (slots(spanish[key]), slots(english[key])) for key in spanish}
    assert {key: pair for key, pair in differ.items() if pair[0] != pair[1]} == {}


def server_errors() -> list[type[errors.BranchError]]:
    """Every error class the server can send, wherever it is defined."""
    found, pending = [], [errors.BranchError]
    while pending:
        cls = pending.pop()
        found.append(cls)
        pending.extend(cls.__subclasses__())
    return found


def test_every_error_the_server_can_send_has_words_in_both_languages() -> None:
    # The pages word errors from these keys (i18n.js errorKey), never from the server's text.
    keys = {
        key
        for cls in server_errors()
        for key in (f"error.{cls.code}", *(f"error.{cls.code}.{p}" for p in cls.problems))
    }
    assert "error.bad_report_query.period_too_long" in keys  # the walk reaches the problems
    assert "error.login_failed" in keys
    for language in LANGUAGES:
        assert sorted(keys - set(catalog(language))) == [], language


def test_no_page_shows_the_servers_own_message() -> None:
    # The server's message (Spanish or English detail) is for logs and programs.
    shown = [
        f"{script.name}: {line.strip()}"
        for script in SCRIPTS
        for line in script.read_text(encoding="utf-8").splitlines()
        if re.search(r"(body|message|error|detail)\.(message|detail)\b", line)
    ]
    assert shown == []


class PageWords(HTMLParser):
    """Every piece of text in a page, and whether a catalog key covers it."""

    def __init__(self) -> None:
        super().__init__()
        self.stack: list[dict[str, str | None]] = []
        self.keys: list[str] = []
        # (key of the nearest element, its data-values, text)
        self.texts: list[tuple[str | None, dict[str, object], str]] = []
        self.uncovered_attributes: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = dict(attrs)
        found["<tag>"] = tag
        covered = set()
        if found.get("data-words"):
            self.keys.append(str(found["data-words"]))
        for pair in (found.get("data-words-attr") or "").split(";"):
            if "=" in pair:
                name, key = (part.strip() for part in pair.split("="))
                covered.add(name)
                self.keys.append(key)
        switch = "data-language-switch" in found
        for name in READ_ATTRIBUTES:
            readable = (
                name in found
                and re.search(r"[^\W\d_]", found[name] or "") is not None
                and not (tag == "meta" and found.get("name") != "description")
            )
            if readable and name not in covered and not switch:
                self.uncovered_attributes.append(f"<{tag} {name}={found[name]!r}>")
        if tag not in ("meta", "link", "input", "br", "img", "source"):
            self.stack.append(found)

    def handle_endtag(self, tag: str) -> None:
        while self.stack:
            if self.stack.pop()["<tag>"] == tag:
                break

    def handle_data(self, data: str) -> None:
        text = " ".join(data.split())
        if not text or not self.stack or self.stack[-1]["<tag>"] in ("script", "style"):
            return
        element = self.stack[-1]
        if "data-language-switch" in element:
            return
        key = element.get("data-words")
        values = json.loads(element.get("data-values") or "{}")
        self.texts.append((str(key) if key else None, values, text))


def filled(entry: Entry | None, values: dict[str, object]) -> str | None:
    """A plain entry with its slots filled, as the page's JavaScript would (whole numbers only)."""
    if not isinstance(entry, str):
        return None
    return re.sub(r"\{(\w+)\}", lambda slot: str(values.get(slot[1], "")), entry)


def page_words(page: Path) -> PageWords:
    parser = PageWords()
    parser.feed(page.read_text(encoding="utf-8"))
    return parser


@pytest.mark.parametrize("page", PAGES, ids=lambda page: page.name)
def test_page_text_comes_from_the_catalog(page: Path) -> None:
    words = page_words(page)
    spanish = catalog("es-CL")
    # Text without letters ("—", "0:00", the survey's 1 to 5) is the same in every language.
    loose = [text for key, _, text in words.texts if key is None and re.search(r"[^\W\d_]", text)]
    assert loose == [], "text without data-words"
    differ = [
        (key, text, spanish.get(key))
        for key, values, text in words.texts
        if key is not None and filled(spanish.get(key), values) != text
    ]
    assert differ == [], "the page's Spanish differs from the es-CL catalog"
    assert words.uncovered_attributes == []


@pytest.mark.parametrize("page", PAGES, ids=lambda page: page.name)
def test_page_keys_are_in_the_catalogs(page: Path) -> None:
    keys = set(page_words(page).keys)
    for language in LANGUAGES:
        assert sorted(keys - set(catalog(language))) == [], language


# Catalog keys in scripts: a quoted "family.name…" literal, or a template built from one.
FAMILIES = sorted({key.split(".")[0] for key in catalog("es-CL") if "." in key})
KEY_LITERAL = re.compile(rf"[\"']((?:{'|'.join(FAMILIES)})\.[\w.]+)[\"']")
KEY_TEMPLATE = re.compile(rf"`((?:{'|'.join(FAMILIES)})\.[\w.]*)\$\{{")


@pytest.mark.parametrize("script", SCRIPTS, ids=lambda script: script.name)
def test_script_keys_are_in_the_catalogs(script: Path) -> None:
    source = re.sub(r"^\s*//[^\n]*", "", script.read_text(encoding="utf-8"), flags=re.M)
    # Signaling message types ("call.hangup") look like keys but are not words.
    literals = set(KEY_LITERAL.findall(source)) - set(CLIENT_MESSAGES) - set(SERVER_TYPES)
    prefixes = set(KEY_TEMPLATE.findall(source))
    for language in LANGUAGES:
        words = catalog(language)
        assert sorted(literals - set(words)) == [], language
        assert sorted(p for p in prefixes if not any(k.startswith(p) for k in words)) == []


def test_every_media_problem_has_a_title_and_advice() -> None:
    source = (STATIC / "js" / "call.js").read_text(encoding="utf-8")
    block = re.search(r"const MEDIA_PROBLEMS = \{(?P<body>[^}]*)\}", source)
    assert block is not None
    problems = set(re.findall(r":\s*\"(\w+)\"", block["body"])) | {"failed"}
    for language in LANGUAGES:
        words = catalog(language)
        missing = [
            f"media.{problem}.{part}"
            for problem in sorted(problems)
            for part in ("title", "text")
            if f"media.{problem}.{part}" not in words
        ]
        assert missing == [], language
