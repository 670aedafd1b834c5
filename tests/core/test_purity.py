"""The core is pure: it imports the standard library, itself and the error classes; no store, no web."""

from __future__ import annotations

import ast
from pathlib import Path

CORE = Path(__file__).parents[2] / "branch" / "core"
ALLOWED = ("branch.core", "branch.errors")


def branch_imports(path: Path) -> set[str]:
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
        elif isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
    return {name for name in found if name == "branch" or name.startswith("branch.")}


def test_core_modules_import_only_the_core() -> None:
    modules = sorted(CORE.glob("*.py"))
    assert len(modules) > 5
    outside = {
        path.name: sorted(name for name in branch_imports(path) if not name.startswith(ALLOWED))
        for path in modules
    }
    assert {name: found for name, found in outside.items() if found} == {}
