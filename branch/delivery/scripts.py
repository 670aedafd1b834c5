"""The Lua scripts of the delivery across nodes, kept as files under ``lua/``."""

from __future__ import annotations

from pathlib import Path

LUA_DIR = Path(__file__).with_name("lua")


def load_script(name: str) -> str:
    return (LUA_DIR / f"{name}.lua").read_text()
