#include <cstdlib>
#include <cstring>
#include <optional>
#include <string>
#include <string_view>

#include "core/command.hpp"
#include "core/node.hpp"
#include "lua/protected.hpp"
#include "lua/skynet_api_internal.hpp"

namespace starling::lua::api {

// ---- identity, environment, time ----------------------------------------------------------

int l_self(lua_State* L) {
  lua_pushinteger(L, host(L).self().handle());
  return 1;
}

int l_localname(lua_State* L) {
  std::size_t length = 0;
  const char* name = luaL_checklstring(L, 1, &length);
  if (length < 2 || name[0] != '.') return 0;
  scheduler& s = host(L);
  const auto h =
      native(L, [&] { return s.self().owner().find_name(std::string_view(name + 1, length - 1)); });
  if (!h) return 0;
  lua_pushinteger(L, *h);
  return 1;
}

int l_address(lua_State* L) {
  push_address_text(L, 1);
  return 1;
}

int l_harbor(lua_State* L) {
  scheduler& s = host(L);
  const auto h = static_cast<handle_t>(luaL_checkinteger(L, 1));
  const handle_t harbor = h >> 24;
  lua_pushinteger(L, harbor);
  lua_pushboolean(L, harbor != 0 && harbor != s.self().owner().options().harbor ? 1 : 0);
  return 2;
}

template <class Text>
int push_text_or_nil(lua_State* L, const std::optional<Text>& text) {
  if (text) {
    lua_pushlstring(L, text->data(), text->size());
  } else {
    lua_pushnil(L);
  }
  return 1;
}

int l_getenv(lua_State* L) {
  const char* key = luaL_checkstring(L, 1);
  scheduler& s = host(L);
  return native(
      L, [&] { return s.self().owner().env().get(key); }, push_text_or_nil<std::string>);
}

int l_setenv(lua_State* L) {
  const char* key = luaL_checkstring(L, 1);
  const char* value = luaL_checkstring(L, 2);
  scheduler& s = host(L);
  if (!native(L, [&] { return s.self().owner().env().set(key, value); })) {
    return luaL_error(L, "Can't setenv exist key : %s", key);
  }
  return 0;
}

int l_now(lua_State* L) {
  lua_pushinteger(L, host(L).self().owner().now());
  return 1;
}

int l_time(lua_State* L) {
  const node& runtime = host(L).self().owner();
  lua_pushnumber(L, static_cast<lua_Number>(runtime.now()) / 100.0 +
                        static_cast<lua_Number>(runtime.start_time()));
  return 1;
}

int l_starttime(lua_State* L) {
  lua_pushinteger(L, host(L).self().owner().start_time());
  return 1;
}

int l_hpc(lua_State* L) {
  lua_pushinteger(L, static_cast<lua_Integer>(node::hpc()));
  return 1;
}

// skynet.error(...): tostring of each argument, joined by single spaces.
int l_error(lua_State* L) {
  scheduler& s = host(L);
  const int n = lua_gettop(L);
  luaL_Buffer b;
  luaL_buffinit(L, &b);
  if (n == 0) luaL_addstring(&b, "nil");
  for (int i = 1; i <= n; ++i) {
    if (i > 1) luaL_addchar(&b, ' ');
    luaL_tolstring(L, i, nullptr);
    luaL_addvalue(&b);
  }
  luaL_pushresult(&b);
  std::size_t length = 0;
  const char* text = lua_tolstring(L, -1, &length);
  native(L, [&] { s.self().log(std::string_view(text, length)); });
  return 0;
}

// The native command's text result; pushes it (or nothing) and returns the count.
int run(lua_State* L, const char* command, const char* param, int (*convert)(lua_State*)) {
  scheduler& s = host(L);
  native(
      L, [&] { return run_command(s.self(), command, param == nullptr ? "" : param); },
      push_text_or_nil<std::string>);
  if (lua_isnil(L, -1)) return 0;
  return convert == nullptr ? 1 : convert(L);
}

int to_number(lua_State* L) {
  if (lua_stringtonumber(L, lua_tostring(L, -1)) == 0) {
    return luaL_error(L, "Invalid result %s", lua_tostring(L, -1));
  }
  return 1;
}

int to_handle(lua_State* L) {
  const char* text = lua_tostring(L, -1);
  if (text[0] != ':') return 0;
  lua_pushinteger(L, static_cast<lua_Integer>(std::strtoul(text + 1, nullptr, 16)));
  return 1;
}

int l_command(lua_State* L) {
  return run(L, luaL_checkstring(L, 1), luaL_optstring(L, 2, nullptr), nullptr);
}

int l_intcommand(lua_State* L) {
  const char* command = luaL_checkstring(L, 1);
  if (lua_type(L, 2) == LUA_TNUMBER) {
    lua_pushfstring(L, "%I", static_cast<LUAI_UACINT>(lua_tointeger(L, 2)));
    lua_replace(L, 2);
  }
  return run(L, command, luaL_optstring(L, 2, nullptr), to_number);
}

int l_addresscommand(lua_State* L) {
  return run(L, luaL_checkstring(L, 1), luaL_optstring(L, 2, nullptr), to_handle);
}

// skynet.stat(what)
int l_stat(lua_State* L) {
  const char* what = luaL_checkstring(L, 1);
  if (run(L, "STAT", what, nullptr) == 0 || lua_stringtonumber(L, lua_tostring(L, -1)) == 0) {
    lua_pushinteger(L, 0);
  }
  return 1;
}

int l_mqlen(lua_State* L) {
  lua_settop(L, 0);
  lua_pushliteral(L, "mqlen");
  return l_stat(L);
}

int l_endless(lua_State* L) {
  lua_settop(L, 0);
  lua_pushliteral(L, "endless");
  l_stat(L);
  lua_pushboolean(L, lua_tointeger(L, -1) == 1 ? 1 : 0);
  return 1;
}

// skynet.memlimit(bytes): applied by the host after the main chunk; removes itself.
int l_memlimit(lua_State* L) {
  scheduler& s = host(L);
  const lua_Integer bytes = luaL_checkinteger(L, 1);
  s.take_memlimit(bytes > 0 ? static_cast<std::size_t>(bytes) : 0);
  s.push_module(L);
  lua_pushnil(L);
  lua_setfield(L, -2, "memlimit");
  return 0;
}

int l_info_func(lua_State* L) {
  return host(L).swap_hook(L, scheduler::hook::info);
}

// skynet.core.callback(f [, forward])
int l_callback(lua_State* L) {
  scheduler& s = host(L);
  luaL_checktype(L, 1, LUA_TFUNCTION);
  s.set_callback(L, 1, lua_toboolean(L, 2) != 0);
  return 0;
}

// skynet.core.send(addr, type, session, msg [, sz])
int l_core_send(lua_State* L) {
  scheduler& s = host(L);
  const address to = check_address(L, 1);
  const lua_Integer type = luaL_checkinteger(L, 2);
  std::int32_t session = 0;
  if (lua_isnil(L, 3)) {
    session = s.new_session();
  } else {
    session = static_cast<std::int32_t>(luaL_checkinteger(L, 3));
  }
  if (lua_type(L, 4) != LUA_TSTRING && lua_type(L, 4) != LUA_TLIGHTUSERDATA &&
      !lua_isnoneornil(L, 4)) {
    return luaL_error(L, "invalid param %s", luaL_typename(L, 4));
  }
  const bool delivered =
      post(L, s, s.self().handle(), to, static_cast<int>(type), session, raw_message(L, 4));
  return push_send_result(L, delivered, session);
}

// ---- messages as values -----------------------------------------------------------------------

int l_tostring(lua_State* L) {
  if (lua_isnoneornil(L, 1)) return 0;
  if (lua_type(L, 1) == LUA_TSTRING) {
    lua_settop(L, 1);
    return 1;
  }
  const char* data = static_cast<const char*>(lua_touserdata(L, 1));
  const lua_Integer size = luaL_checkinteger(L, 2);
  lua_pushlstring(L, data, static_cast<std::size_t>(size));
  return 1;
}

int l_trash(lua_State* L) {
  switch (lua_type(L, 1)) {
    case LUA_TLIGHTUSERDATA:
      // NOLINTNEXTLINE(*-no-malloc): message bodies are malloc'd (base/payload.hpp)
      std::free(lua_touserdata(L, 1));
      return 0;
    case LUA_TSTRING:
      return 0;
    default:
      return luaL_error(L, "skynet.trash invalid param %s", luaL_typename(L, 1));
  }
}

}  // namespace starling::lua::api
