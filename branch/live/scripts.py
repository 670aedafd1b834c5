"""The Lua scripts of the Redis live store's step: the commit, the read, and the step joining them."""

from __future__ import annotations

from branch.lua import lua_script


def _lua(name: str) -> str:
    return lua_script("branch.live", name)


COMMIT_SCRIPT = _lua("commit")
READ_SCRIPT = _lua("read")
# step.lua calls the other two as functions (see its header).
STEP_SCRIPT = (
    f"local function commit(KEYS, ARGV)\n{COMMIT_SCRIPT}\nend\n"
    f"local function read(KEYS, ARGV)\n{READ_SCRIPT}\nend\n{_lua('step')}"
)
