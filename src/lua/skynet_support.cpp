#include <fmt/format.h>

#include <string_view>

#include "lua/skynet_api_internal.hpp"

namespace starling::lua::api {

void push_address_text(lua_State* L, int index) {
  if (lua_type(L, index) == LUA_TNUMBER) {
    char text[24];  // no std::string: lua_pushfstring may raise
    const auto end = fmt::format_to_n(text, sizeof text - 1, ":{:08x}", lua_tointeger(L, index));
    *end.out = '\0';
    lua_pushstring(L, text);
  } else {
    luaL_tolstring(L, index, nullptr);
  }
}

void push_thread(lua_State* L, lua_State* thread) {
  lua_pushthread(thread);
  lua_xmove(thread, L, 1);
}

}  // namespace starling::lua::api
