#pragma once
// Lua's standard libraries, opened on first use.
//
// Opening them all costs every state about 15 KB and most of its creation time, while a
// typical small service touches none of them. The base library and `package` open at once;
// every other library starts as an empty table under its usual global and package.loaded
// name, filled with the real functions the first time any field of it is read (or it is
// iterated with pairs). String methods ("x"):upper() trigger the string library the same way.

#include <lua.hpp>

namespace starling::lua {

void open_standard_libraries(lua_State* L);

}  // namespace starling::lua
