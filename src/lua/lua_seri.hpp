#pragma once
// skynet.pack / skynet.unpack for Lua: values go straight between the Lua stack and the
// wire format of docs/SERI.md, with no C++ value tree in between.
// See docs/LUA_SERI.md.

#include <cstddef>
#include <lua.hpp>

#include "base/payload.hpp"

namespace starling::lua {

/// skynet.pack(...) -> msg, sz: a malloc'd buffer (light userdata) and its size. The caller
/// owns the buffer; starling::payload::adopt_malloced(msg, sz) takes it over.
int pack(lua_State* L);
/// skynet.packstring(...) -> the same bytes as a Lua string.
int packstring(lua_State* L);
/// skynet.unpack(msg, sz) / skynet.unpack(str) -> every value of the message.
/// nil or an empty message gives no values.
int unpack(lua_State* L);

/// Pushes the module table {pack = ..., packstring = ..., unpack = ...}; returns 1.
int open_seri(lua_State* L);

// ---- for the Lua host's hot paths (send, call, ret) -------------------------------

/// Packs the stack values [first, last] (absolute indices; last < first packs nothing) into
/// a payload, raising skynet.pack's errors as Lua errors. Scalars and strings are packed
/// without a protected call.
payload pack_values(lua_State* L, int first, int last);
/// Pushes every value of the message onto L's stack and returns how many, raising
/// skynet.unpack's errors. `scratch` is a stack slot the decoder may overwrite (it keeps the
/// table frames of deeply nested messages there).
int push_unpacked(lua_State* L, const void* data, std::size_t size, int scratch);

}  // namespace starling::lua

/// require "starling.seri"
extern "C" int luaopen_starling_seri(lua_State* L);
