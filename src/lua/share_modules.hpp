#pragma once
// The native modules of the shared-data libraries (docs/LIBRARIES.md): each pushes its module
// table and returns 1.

#include <lua.hpp>

namespace starling::lua {

int open_sharedata_core(lua_State* L);   // skynet.sharedata.core
int open_sharetable_core(lua_State* L);  // skynet.sharetable.core
int open_datasheet_core(lua_State* L);   // skynet.datasheet.core
int open_stm(lua_State* L);              // skynet.stm
int open_multicast_core(lua_State* L);   // skynet.multicast.core

}  // namespace starling::lua
