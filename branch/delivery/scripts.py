"""The Lua scripts of the delivery across nodes, kept as files under ``lua/``."""

from __future__ import annotations

from branch.lua import lua_script


def load_script(name: str) -> str:
    return lua_script("branch.delivery", name)
