#pragma once
// require "skynet.mongo.driver": the wire helpers of lualib/skynet/db/mongo.lua
// (docs/DATABASES.md), over src/seri/mongo_wire.

#include <lua.hpp>

namespace starling::lua {

/// Pushes skynet.mongo.driver {op_msg, length, reply}; returns 1.
int open_mongo_driver(lua_State* L);

}  // namespace starling::lua
