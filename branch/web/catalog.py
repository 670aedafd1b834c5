"""The pages' words for the pages the server writes itself (login failure, development login).

Such a page starts in the es-CL catalog's words, each element marked with its key
(``data-words``), and i18n.js rewrites it in the language the person reads, as it
does for the static pages.
"""

from __future__ import annotations

import html
import json
from pathlib import Path

CATALOG = Path(__file__).resolve().parents[2] / "static" / "i18n" / "es-CL.json"


def spanish_words() -> dict[str, str]:
    """The es-CL catalog: key -> words (plural forms are objects; server pages use none)."""
    words: dict[str, str] = json.loads(CATALOG.read_text(encoding="utf-8"))
    return words


def marked(words: dict[str, str], key: str, tag: str = "span", attributes: str = "") -> str:
    """An element holding the catalog's words for ``key``, rewritten by i18n.js on the page."""
    return f'<{tag}{attributes} data-words="{key}">{html.escape(words[key])}</{tag}>'
