#pragma once
// require "skynet.netpack": the gate framing for Lua (docs/GATE.md), on top of net/netpack.

#include <lua.hpp>

namespace starling::lua {

/// Pushes the module table {filter, pop, pack, tostring, clear}; returns 1.
int open_netpack(lua_State* L);

}  // namespace starling::lua
