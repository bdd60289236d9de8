#pragma once
// The service loader (docs/LUA.md) in C++, as `require "skynet.loader"`.
// lualib/loader.lua (config `lualoader`) hands it the launch parameter. Doing this in C keeps
// the loader's own code and garbage out of every Lua state.

#include <lua.hpp>

namespace starling::lua {

/// require "skynet.loader": returns the loader function, f(param).
int open_loader(lua_State* L);

}  // namespace starling::lua
