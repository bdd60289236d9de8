#pragma once
// The read buffers of skynet.socketdriver (buffer, push, pop, readall, readline, clear): the
// bytes of DATA messages kept in the blocks they arrived in, for skynet.socket, copied only
// when a read takes them out.

#include <lua.hpp>

namespace starling::lua {

/// The buffer functions, for socketdriver's table.
extern const luaL_Reg read_buffer_functions[];
/// Makes the buffers' metatable (once per state).
void open_read_buffers(lua_State* L);

}  // namespace starling::lua
