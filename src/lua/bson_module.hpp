#pragma once
// require "bson": skynet's BSON module on top of seri/bson (docs/LIBRARIES.md, "bson").

#include <lua.hpp>

namespace starling::lua {

/// Pushes the module table (encode, encode_order, decode, the constructors, type, null, minkey,
/// maxkey); returns 1.
int open_bson(lua_State* L);

}  // namespace starling::lua
