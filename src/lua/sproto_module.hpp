#pragma once
// require "sproto.core": the native half of lualib/sproto.lua (docs/LIBRARIES.md, "sproto"),
// on top of the C++ codec in seri/sproto_*.

#include <lua.hpp>

namespace starling::lua {

/// Pushes the module table {newproto, deleteproto, dumpproto, querytype, protocol, encode,
/// decode, pack, unpack, saveproto, loadproto, default}; returns 1.
int open_sproto_core(lua_State* L);

}  // namespace starling::lua
