#pragma once
// skynet.memory: what the node's allocators hold, for the debug console's `cmem` and `jmem`.
//
// info() maps each service with an allocator of its own (every Lua service) to the bytes it
// holds; total() and block() sum the bytes and the live blocks over those services. skynet
// builds these figures from jemalloc's per-service accounting; Starling's Lua services each
// count their own state's allocator, and native services, which use plain malloc, count as
// zero. jestat() reports the process allocator, glibc malloc (mallinfo2), not jemalloc.
// dump() and profactive() raise: glibc has no heap profiler.

#include <lua.hpp>

namespace starling::lua {

int open_memory(lua_State* L);

}  // namespace starling::lua
