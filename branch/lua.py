"""The Lua scripts of the Redis parts, kept as files in each package's ``lua/`` folder."""

from __future__ import annotations

from importlib import resources


def lua_script(package: str, name: str) -> str:
    """The text of ``lua/<name>.lua`` beside ``package``, as it is installed."""
    return resources.files(package).joinpath(f"lua/{name}.lua").read_text("utf-8")
