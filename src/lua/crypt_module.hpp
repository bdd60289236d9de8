#pragma once
// require "skynet.crypt" and "md5.core" (md5.lua builds md5 on it): the Lua side of src/crypt
// (docs/LIBRARIES.md).

#include <lua.hpp>

namespace starling::lua {

/// Pushes skynet.crypt: its sixteen functions and the padding table; returns 1.
int open_crypt(lua_State* L);
/// Pushes md5.core {sum, exor, crypt, decrypt} with md5 1.2's version strings; returns 1.
int open_md5_core(lua_State* L);

}  // namespace starling::lua
