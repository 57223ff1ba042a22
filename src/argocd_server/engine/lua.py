"""A sandboxed Lua 5.1 runtime for Argo CD resource customisation scripts (health checks).

Reproduces upstream's ``util/lua`` contract: the script sees the resource as the global ``obj`` and
returns a table; without ``useOpenLibs`` only the base, table, string and math libraries plus a
time-only ``os`` are reachable (no ``io``, ``os.execute``, ``require``, ``load*`` or ``debug``); a
wall-clock timeout (1s upstream) is enforced with an instruction-count hook, including inside
coroutines, and memory is capped. Lua 5.1 is used because upstream's gopher-lua implements 5.1, so
community scripts written for Argo run unchanged. Python objects are never exposed to scripts:
values cross the boundary as plain Lua tables.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import lupa.lua51 as lua51  # type: ignore[import-untyped]

from argocd_server.errors import ArgoError

__all__ = ["DEFAULT_TIMEOUT_SECONDS", "LuaScriptError", "run_lua"]

DEFAULT_TIMEOUT_SECONDS = 1.0
_MAX_MEMORY_BYTES = 64 * 1024 * 1024
_HOOK_EVERY_INSTRUCTIONS = 1000

# The hook and its clock are captured as upvalues before ``debug`` is removed, so scripts cannot
# unset them.
_GUARD = """
local sethook, clock, error = debug.sethook, os.clock, error
local deadline = clock() + %(timeout)f
local function guard()
  if clock() > deadline then error("timeout: lua script exceeded %(timeout)gs", 2) end
end
sethook(guard, "", %(every)d)
local create, wrap = coroutine.create, coroutine.wrap
coroutine.create = function(f) local co = create(f); sethook(co, guard, "", %(every)d); return co
end coroutine.wrap = function(f) local co = create(f); sethook(co, guard, "", %(every)d) return
function(...) local res = {coroutine.resume(co, ...)} if not res[1] then error(res[2], 2) end return
unpack(res, 2) end end
"""

_SANDBOX = """
local time, date, clock = os.time, os.date, os.clock
os = {time = time, date = date, clock = clock}
string.dump = nil
io, debug, package, require, module = nil, nil, nil, nil, nil
dofile, loadfile, load, loadstring = nil, nil, nil, nil
getfenv, setfenv, newproxy, collectgarbage, gcinfo = nil, nil, nil, nil, nil
"""


class LuaScriptError(ArgoError):
    """A customisation script failed to compile, raised an error, timed out or returned garbage."""


def _to_lua(runtime: Any, value: Any) -> Any:
    if isinstance(value, Mapping):
        table = runtime.table()
        for key, item in value.items():
            if item is not None:
                table[str(key)] = _to_lua(runtime, item)
        return table
    if isinstance(value, list | tuple):
        table = runtime.table()
        for index, item in enumerate(value, start=1):
            table[index] = _to_lua(runtime, item)
        return table
    return value


def _from_lua(value: Any, *, depth: int = 0) -> Any:
    if depth > 100:
        raise LuaScriptError("lua result is nested too deeply")
    if lua51.lua_type(value) == "table":
        items = list(value.items())
        keys = [k for k, _ in items]
        if keys and all(isinstance(k, int | float) for k in keys):
            ordered = sorted(int(k) for k in keys)
            if ordered == list(range(1, len(ordered) + 1)):
                return [_from_lua(value[k], depth=depth + 1) for k in ordered]
        return {str(k): _from_lua(v, depth=depth + 1) for k, v in items}
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if lua51.lua_type(value) is not None:
        # Functions, userdata and threads have no JSON meaning.
        return None
    return value


def _first_line(error: Exception) -> str:
    text = str(error).strip()
    return text.splitlines()[0] if text else type(error).__name__


def run_lua(
    script: str,
    *,
    obj: Mapping[str, Any],
    use_open_libs: bool = False,
    timeout: float = DEFAULT_TIMEOUT_SECONDS,
) -> Any:
    """Run ``script`` with the global ``obj`` and return its (first) result converted to Python
    values.

    Raises ``LuaScriptError`` with the Lua error text (first line) on any failure.
    """
    runtime = lua51.LuaRuntime(
        register_eval=False,
        register_builtins=False,
        unpack_returned_tuples=False,
        max_memory=_MAX_MEMORY_BYTES,
    )
    lua_globals = runtime.globals()
    lua_globals.python = None
    runtime.execute(_GUARD % {"timeout": timeout, "every": _HOOK_EVERY_INSTRUCTIONS})
    if not use_open_libs:
        runtime.execute(_SANDBOX)
    lua_globals.obj = _to_lua(runtime, obj)
    try:
        result = runtime.execute(script)
    except lua51.LuaMemoryError as exc:
        raise LuaScriptError("lua script exceeded its memory limit") from exc
    except (lua51.LuaError, lua51.LuaSyntaxError) as exc:
        raise LuaScriptError(_first_line(exc)) from exc
    return _from_lua(result)
