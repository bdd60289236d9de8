#include "lua/loader.hpp"

#include <cstring>
#include <string_view>

#include "lua/code_cache.hpp"

namespace starling::lua {

namespace {

bool is_space(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
}

// Pushes the words of the parameter; returns how many.
int push_words(lua_State* L, std::string_view param) {
  int n = 0;
  std::size_t i = 0;
  while (i < param.size()) {
    while (i < param.size() && is_space(param[i]))
      ++i;
    const std::size_t start = i;
    while (i < param.size() && !is_space(param[i]))
      ++i;
    if (i > start) {
      luaL_checkstack(L, 1, "too many service arguments");
      lua_pushlstring(L, param.data() + start, i - start);
      ++n;
    }
  }
  return n;
}

// Tries each template of LUA_SERVICE; leaves the chunk and its template on the stack, or
// raises with every template's error, one per line.
void find_service(lua_State* L, const char* name) {
  lua_getglobal(L, "LUA_SERVICE");
  const int templates = lua_gettop(L);
  const char* at = lua_tostring(L, templates);
  if (at == nullptr) luaL_error(L, "LUA_SERVICE is not set");
  lua_pushliteral(L, "");
  const int errors = lua_gettop(L);
  while (*at != '\0') {
    const char* end = std::strchr(at, ';');
    if (end == nullptr) end = at + std::strlen(at);
    if (end > at) {
      lua_pushlstring(L, at, static_cast<std::size_t>(end - at));
      const char* path = luaL_gsub(L, lua_tostring(L, -1), "?", name);
      if (load_file_cached(L, path, nullptr) == LUA_OK) {
        lua_replace(L, templates);  // the chunk
        lua_pop(L, 1);              // the path
        lua_replace(L, errors);     // the template
        return;
      }
      const int message = lua_gettop(L);  // this template's error
      lua_pushvalue(L, errors);
      const bool more = lua_rawlen(L, errors) > 0;
      if (more) lua_pushliteral(L, "\n");
      lua_pushvalue(L, message);
      lua_concat(L, more ? 3 : 2);
      lua_replace(L, errors);
      lua_settop(L, errors);
    }
    at = *end == ';' ? end + 1 : end;
  }
  lua_error(L);
}

void set_package_field(lua_State* L, const char* field, const char* global) {
  lua_getglobal(L, "package");
  lua_getglobal(L, global);
  lua_setfield(L, -2, field);
  lua_pop(L, 1);
  lua_pushnil(L);
  lua_setglobal(L, global);
}

// The global `require` of a service: the standard one in the main chunk; from a coroutine,
// lualib/skynet/require.lua (loaded on first need). Upvalue 1: the standard require.
int required(lua_State* L, int status, lua_KContext ctx) {
  (void)L;
  (void)status;
  (void)ctx;
  return 1;
}

int skynet_require(lua_State* L) {
  luaL_checkstring(L, 1);
  lua_settop(L, 1);
  lua_getfield(L, LUA_REGISTRYINDEX, LUA_LOADED_TABLE);
  lua_pushvalue(L, 1);
  if (lua_rawget(L, -2) != LUA_TNIL) return 1;
  lua_settop(L, 1);
  if (!lua_isyieldable(L)) {
    lua_pushvalue(L, lua_upvalueindex(1));
    lua_insert(L, 1);
    lua_call(L, 1, LUA_MULTRET);
    return lua_gettop(L);
  }
  lua_pushvalue(L, lua_upvalueindex(1));
  lua_pushliteral(L, "skynet.require");
  lua_call(L, 1, 1);
  lua_insert(L, 1);
  lua_pushvalue(L, lua_upvalueindex(1));
  lua_callk(L, 2, 1, 0, required);  // the module body may yield
  return 1;
}

// loader(param)
int run_loader(lua_State* L) {
  std::size_t length = 0;
  const char* param = luaL_checklstring(L, 1, &length);
  lua_settop(L, 1);
  const int words = push_words(L, std::string_view(param, length));  // at 2 .. words + 1
  if (words == 0) return luaL_error(L, "no service name");
  const char* name = lua_tostring(L, 2);
  lua_pushvalue(L, 2);
  lua_setglobal(L, "SERVICE_NAME");

  find_service(L, name);
  const int chunk = lua_gettop(L) - 1;
  const char* tmpl = lua_tostring(L, -1);

  set_package_field(L, "path", "LUA_PATH");
  set_package_field(L, "cpath", "LUA_CPATH");
  lua_pushnil(L);
  lua_setglobal(L, "LUA_SERVICE");

  // `<dir>/?/<file>`: the service has a directory of its own, searched first for modules.
  const char* mark = std::strchr(tmpl, '?');
  const char* last_slash = std::strrchr(tmpl, '/');
  if (mark != nullptr && mark > tmpl && mark[-1] == '/' && mark[1] == '/') {
    lua_pushlstring(L, tmpl, static_cast<std::size_t>(mark - tmpl));
    lua_pushstring(L, name);
    lua_pushliteral(L, "/");
    lua_concat(L, 3);
    lua_pushvalue(L, -1);
    lua_setglobal(L, "SERVICE_PATH");
    lua_getglobal(L, "package");
    lua_pushvalue(L, -2);
    lua_pushliteral(L, "?.lua;");
    lua_getfield(L, -3, "path");
    lua_concat(L, 3);
    lua_setfield(L, -2, "path");
    lua_pop(L, 2);
  } else {
    if (last_slash == nullptr) {
      lua_pushliteral(L, "./");
    } else {
      lua_pushlstring(L, tmpl, static_cast<std::size_t>(last_slash - tmpl + 1));
    }
    lua_setglobal(L, "SERVICE_PATH");
  }

  lua_getglobal(L, "LUA_PRELOAD");
  if (const char* preload = lua_tostring(L, -1)) {
    if (load_file_cached(L, preload, nullptr) != LUA_OK) return lua_error(L);
    for (int i = 2; i <= words + 1; ++i)
      lua_pushvalue(L, i);
    lua_call(L, words, 0);
    lua_pushnil(L);
    lua_setglobal(L, "LUA_PRELOAD");
  }
  lua_pop(L, 1);

  lua_getglobal(L, "require");
  lua_pushcclosure(L, skynet_require, 1);
  lua_setglobal(L, "require");

  lua_pushvalue(L, chunk);
  for (int i = 3; i <= words + 1; ++i)
    lua_pushvalue(L, i);
  lua_call(L, words - 1, 0);
  return 0;
}

}  // namespace

int open_loader(lua_State* L) {
  lua_pushcfunction(L, run_loader);
  return 1;
}

}  // namespace starling::lua
