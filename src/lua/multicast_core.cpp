// require "skynet.multicast.core": published messages as shared packages (share/multicast.hpp).
// lualib/skynet/multicast.lua packs, service/multicastd.lua binds and fans out, subscribers
// unpack and close.

#include <cstdint>
#include <limits>

#include "lua/share_modules.hpp"
#include "share/multicast.hpp"

namespace starling::lua {

namespace {

using share::multicast;

void* pointer_at(lua_State* L, int index) {
  luaL_checktype(L, index, LUA_TLIGHTUSERDATA);
  void* p = lua_touserdata(L, index);
  if (p == nullptr) luaL_argerror(L, index, "null pointer");
  return p;
}

std::size_t size_at(lua_State* L, int index) {
  const lua_Integer size = luaL_checkinteger(L, index);
  if (size < 0 || size > std::numeric_limits<std::uint32_t>::max()) {
    luaL_error(L, "Size should be 32bit integer");
  }
  return static_cast<std::size_t>(size);
}

int push_holder(lua_State* L, void* holder) {
  if (holder == nullptr) return luaL_error(L, "not enough memory");
  lua_pushlightuserdata(L, holder);
  lua_pushinteger(L, static_cast<lua_Integer>(sizeof(void*)));
  return 2;
}

// pack(msg, sz) -> holder, 8 (the message is taken over)
int mc_pack(lua_State* L) {
  void* msg = pointer_at(L, 1);
  const std::size_t size = size_at(L, 2);
  return push_holder(L, multicast::pack(msg, size));
}

// packremote(msg, sz) -> holder, 8 (the bytes are copied)
int mc_packremote(lua_State* L) {
  void* msg = pointer_at(L, 1);
  const std::size_t size = size_at(L, 2);
  return push_holder(L, multicast::pack_copy(msg, size));
}

// unpack(msg, sz) -> package, data, size
int mc_unpack(lua_State* L) {
  void* msg = pointer_at(L, 1);
  const lua_Integer size = luaL_checkinteger(L, 2);
  if (size != static_cast<lua_Integer>(sizeof(void*))) {
    return luaL_error(L, "Invalid multicast package size %d", static_cast<int>(size));
  }
  share::multicast_package* package = multicast::unpack(msg, sizeof(void*));
  if (package == nullptr) return luaL_error(L, "Invalid multicast package");
  lua_pushlightuserdata(L, package);
  lua_pushlightuserdata(L, const_cast<void*>(package->data()));
  lua_pushinteger(L, static_cast<lua_Integer>(package->size()));
  return 3;
}

// bind(holder, n) -> package
int mc_bind(lua_State* L) {
  void* holder = pointer_at(L, 1);
  const lua_Integer n = luaL_checkinteger(L, 2);
  luaL_argcheck(L, n > 0 && n <= std::numeric_limits<int>::max(), 2, "count out of range");
  share::multicast_package* package = multicast::unpack(holder, sizeof(void*));
  if (!multicast::bind(holder, static_cast<int>(n))) {
    return luaL_error(L, "Can't bind a multicast package more than once");
  }
  lua_pushlightuserdata(L, package);
  return 1;
}

// close(package)
int mc_close(lua_State* L) {
  auto* package = static_cast<share::multicast_package*>(pointer_at(L, 1));
  if (!multicast::close(package)) return luaL_error(L, "Invalid multicast package reference 0");
  return 0;
}

// remote(holder) -> data, size: the message itself, holder and package freed
int mc_remote(lua_State* L) {
  const auto [data, size] = multicast::take(pointer_at(L, 1));
  lua_pushlightuserdata(L, data);
  lua_pushinteger(L, static_cast<lua_Integer>(size));
  return 2;
}

// nextid(id) -> the next channel id of this node
int mc_nextid(lua_State* L) {
  const lua_Integer id = luaL_checkinteger(L, 1);
  lua_pushinteger(L, multicast::next_channel(static_cast<std::uint32_t>(id)));
  return 1;
}

}  // namespace

int open_multicast_core(lua_State* L) {
  const luaL_Reg functions[] = {{"pack", mc_pack},     {"packremote", mc_packremote},
                                {"unpack", mc_unpack}, {"bind", mc_bind},
                                {"close", mc_close},   {"remote", mc_remote},
                                {"nextid", mc_nextid}, {nullptr, nullptr}};
  luaL_newlib(L, functions);
  return 1;
}

}  // namespace starling::lua
