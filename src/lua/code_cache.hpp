#pragma once
// The process-wide code cache (`skynet.codecache`): the first load of a file
// compiles it and keeps its bytecode; later loads in any service start from that bytecode,
// even if the file changed on disk, until `codecache.clear()`.
//
// skynet's patched Lua shares the compiled functions themselves between states; stock Lua
// cannot, so each state still builds its own copy, but from bytecode instead of source.
//
// Thread contract: every function may run on any worker at once (one internal mutex).

#include <lua.hpp>

namespace starling::lua {

/// luaL_loadfilex through the cache: pushes the chunk or an error message, returns the status.
int load_file_cached(lua_State* L, const char* filename, const char* mode);

/// Replaces `loadfile` and the Lua-file searcher of `require` with cached versions.
void install_code_cache(lua_State* L);

/// require "skynet.codecache": clear(), mode([m]), loadfile.
int open_codecache(lua_State* L);

}  // namespace starling::lua
