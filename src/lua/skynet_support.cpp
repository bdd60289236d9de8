#include "lua/skynet_api_internal.hpp"

#include <fmt/format.h>

#include <string_view>

namespace starling::lua::api {

void push_address_text(lua_State* L, int index) {
  if (lua_type(L, index) == LUA_TNUMBER) {
    lua_pushfstring(L, ":%s", fmt::format("{:08x}", lua_tointeger(L, index)).c_str());
  } else {
    luaL_tolstring(L, index, nullptr);
  }
}

void push_thread(lua_State* L, lua_State* thread) {
  lua_pushthread(thread);
  lua_xmove(thread, L, 1);
}

}  // namespace starling::lua::api
