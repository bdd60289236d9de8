#pragma once
// require "skynet.socketdriver": the Lua face of the node's socket thread (docs/NET.md).
//
// Requests go to net::socket_server for the calling service; the read-buffer helpers (buffer,
// push, pop, readline, readall, clear) keep the bytes of DATA messages for skynet.socket
// without copying them until a read takes them out.

#include <lua.hpp>

namespace starling::lua {

int open_socketdriver(lua_State* L);

}  // namespace starling::lua
