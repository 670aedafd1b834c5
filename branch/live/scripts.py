"""The Lua scripts of the Redis live store's step: the commit, the read, and the step joining them."""

from __future__ import annotations

from branch.lua import lua_script


def _lua(name: str) -> str:
    return lua_script("branch.live", name)


# commit.lua and read.lua are function bodies that find their part of KEYS and
# ARGV by offset (see their headers): alone, each is called on the whole of both.
_COMMIT = f"local function commit(KEYS, ARGV, last_key, at, last_arg)\n{_lua('commit')}\nend\n"
_READ = f"local function read(KEYS, ARGV, base, at, given_heads)\n{_lua('read')}\nend\n"
COMMIT_SCRIPT = f"{_COMMIT}return commit(KEYS, ARGV, #KEYS, 0, #ARGV)\n"
READ_SCRIPT = f"{_READ}return read(KEYS, ARGV, 0, 0, nil)\n"
# step.lua calls the other two as functions (see its header).
STEP_SCRIPT = f"{_COMMIT}{_READ}{_lua('step')}"
