#pragma once
// The C side of `require "skynet"` and `require "skynet.core"` (docs/LUA.md).
// Functions that run on every message (send, call, ret, the dispatcher, sleep, fork, pack)
// are here; rarely used ones are written in Lua (lualib/skynet/extra.lua) and loaded into the
// `skynet` table on first use, so a service that never touches them pays nothing for them.

#include <lua.hpp>

namespace starling::lua {

/// require "skynet": the API table. Needs the Starling Lua host (raises otherwise).
int open_skynet(lua_State* L);
/// require "skynet.core".
int open_skynet_core(lua_State* L);
/// require "skynet.deadline" (Starling's): call / rawcall with a deadline (docs/LUA.md).
int open_deadline(lua_State* L);
/// skynet.dispatch_message(type, msg, sz, session, source): the callback skynet.start installs.
int dispatch_message(lua_State* L);
/// The same for a message passed as a light userdata pointing to a lua::incoming.
int dispatch_incoming(lua_State* L);
/// Message handler for lua_pcall: the error message with a traceback appended.
int traceback_handler(lua_State* L);

}  // namespace starling::lua
