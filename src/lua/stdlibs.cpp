#include "lua/stdlibs.hpp"

#include <iterator>

namespace starling::lua {

namespace {

struct library {
  const char* name;
  lua_CFunction open;
};

constexpr library lazy_libraries[] = {
    {LUA_COLIBNAME, luaopen_coroutine}, {LUA_TABLIBNAME, luaopen_table},
    {LUA_IOLIBNAME, luaopen_io},        {LUA_OSLIBNAME, luaopen_os},
    {LUA_STRLIBNAME, luaopen_string},   {LUA_MATHLIBNAME, luaopen_math},
    {LUA_UTF8LIBNAME, luaopen_utf8},    {LUA_DBLIBNAME, luaopen_debug},
};

constexpr const char* pending_key = "starling.lazylibs";  // registry: stub -> library index

// Fills the stub at `index` with its library's fields (once) and drops its metatable.
void fill(lua_State* L, int index) {
  index = lua_absindex(L, index);
  lua_getfield(L, LUA_REGISTRYINDEX, pending_key);
  lua_pushvalue(L, index);
  if (lua_rawget(L, -2) != LUA_TNUMBER) {
    lua_pop(L, 2);
    return;
  }
  const library& lib = lazy_libraries[lua_tointeger(L, -1)];
  lua_pop(L, 2);
  // The stub stays pending until every field is in: an error on the way (out of memory)
  // leaves it to be filled again on its next use, not empty for good.
  lua_pushcfunction(L, lib.open);
  lua_pushstring(L, lib.name);
  lua_call(L, 1, 1);
  lua_pushnil(L);
  while (lua_next(L, -2) != 0) {
    lua_pushvalue(L, -2);
    // A field set on the stub beforehand replaces the library's (the timing resume).
    if (lua_rawget(L, index) != LUA_TNIL) {
      lua_pop(L, 2);
      continue;
    }
    lua_pop(L, 1);
    lua_pushvalue(L, -2);
    lua_insert(L, -2);
    lua_rawset(L, index);
  }
  lua_pop(L, 1);
  lua_getfield(L, LUA_REGISTRYINDEX, pending_key);
  lua_pushvalue(L, index);
  lua_pushnil(L);
  lua_rawset(L, -3);
  lua_pop(L, 1);
  lua_pushnil(L);
  lua_setmetatable(L, index);
  if (lib.open == luaopen_string) {
    // Methods of string values look in the global table, so extensions show up there too.
    lua_pushliteral(L, "");
    lua_getmetatable(L, -1);
    lua_pushvalue(L, index);
    lua_setfield(L, -2, "__index");
    lua_pop(L, 2);
  }
}

int stub_index(lua_State* L) {
  fill(L, 1);
  lua_rawget(L, 1);
  return 1;
}

int stub_pairs(lua_State* L) {
  fill(L, 1);
  lua_getglobal(L, "next");
  lua_pushvalue(L, 1);
  lua_pushnil(L);
  return 3;
}

// The string metatable before the library opens: any method fills the `string` stub.
int string_method(lua_State* L) {
  lua_getfield(L, LUA_REGISTRYINDEX, LUA_LOADED_TABLE);
  lua_getfield(L, -1, LUA_STRLIBNAME);
  fill(L, -1);
  lua_pushvalue(L, 2);
  lua_rawget(L, -2);
  return 1;
}

}  // namespace

void open_standard_libraries(lua_State* L) {
  // Tables sized for what every service puts in them, instead of growing step by step.
  lua_createtable(L, 0, 64);
  lua_rawseti(L, LUA_REGISTRYINDEX, LUA_RIDX_GLOBALS);
  lua_createtable(L, 0, 16);
  lua_setfield(L, LUA_REGISTRYINDEX, LUA_LOADED_TABLE);
  lua_newtable(L);  // the binary's modules are found without it (snlua's searcher)
  lua_setfield(L, LUA_REGISTRYINDEX, LUA_PRELOAD_TABLE);
  luaL_requiref(L, LUA_GNAME, luaopen_base, 1);
  luaL_requiref(L, LUA_LOADLIBNAME, luaopen_package, 1);
  lua_pop(L, 2);

  lua_createtable(L, 0, static_cast<int>(std::size(lazy_libraries)));
  lua_setfield(L, LUA_REGISTRYINDEX, pending_key);
  lua_createtable(L, 0, 2);  // shared metatable of the stubs
  lua_pushcfunction(L, stub_index);
  lua_setfield(L, -2, "__index");
  lua_pushcfunction(L, stub_pairs);
  lua_setfield(L, -2, "__pairs");
  const int meta = lua_gettop(L);
  lua_getfield(L, LUA_REGISTRYINDEX, LUA_LOADED_TABLE);
  const int loaded = lua_gettop(L);
  lua_getfield(L, LUA_REGISTRYINDEX, pending_key);
  const int pending = lua_gettop(L);
  for (lua_Integer i = 0; i < static_cast<lua_Integer>(std::size(lazy_libraries)); ++i) {
    const char* name = lazy_libraries[i].name;
    lua_newtable(L);
    lua_pushvalue(L, meta);
    lua_setmetatable(L, -2);
    lua_pushvalue(L, -1);
    lua_pushinteger(L, i);
    lua_rawset(L, pending);
    lua_pushvalue(L, -1);
    lua_setfield(L, loaded, name);
    lua_setglobal(L, name);
  }
  lua_pop(L, 3);

  lua_pushliteral(L, "");
  lua_createtable(L, 0, 1);
  lua_pushcfunction(L, string_method);
  lua_setfield(L, -2, "__index");
  lua_setmetatable(L, -2);
  lua_pop(L, 1);
}

}  // namespace starling::lua
