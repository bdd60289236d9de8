// lua::scheduler, its protocols: skynet.register_protocol's table, the built-in ones, and
// packing and unpacking a message with a protocol's functions.
#include "lua/lua_seri.hpp"
#include "lua/scheduler.hpp"

namespace starling::lua {

// ---- protocols ---------------------------------------------------------------------------

namespace {

int take_function(lua_State* L, int table, const char* field) {
  lua_getfield(L, table, field);
  if (lua_isnil(L, -1)) {
    lua_pop(L, 1);
    return LUA_NOREF;
  }
  return luaL_ref(L, LUA_REGISTRYINDEX);
}

}  // namespace

void scheduler::register_protocol(lua_State* L, int index) {
  index = lua_absindex(L, index);
  luaL_checktype(L, index, LUA_TTABLE);
  lua_getfield(L, index, "name");
  lua_getfield(L, index, "id");
  const char* name = lua_tostring(L, -2);
  lua_Integer id = -1;
  if (lua_isinteger(L, -1)) id = lua_tointeger(L, -1);
  luaL_argcheck(L, name != nullptr, index, "protocol name must be a string");
  luaL_argcheck(L, id >= 0 && id <= 255, index, "protocol id out of range");
  luaL_argcheck(L, find_protocol(name) == nullptr && find_protocol(static_cast<int>(id)) == nullptr,
                index, "protocol name or id already registered");
  lua_pop(L, 2);
  lua_getfield(L, index, "pack");
  const bool seri_pack = lua_tocfunction(L, -1) == &lua::pack;
  lua_getfield(L, index, "unpack");
  const bool seri_unpack = lua_tocfunction(L, -1) == &lua::unpack;
  lua_pop(L, 2);
  protocol p;
  p.id = static_cast<int>(id);
  lua_getfield(L, index, "name");
  p.name = lua_tostring(L, -1);
  lua_pop(L, 1);
  p.pack = take_function(L, index, "pack");
  p.unpack = take_function(L, index, "unpack");
  p.dispatch = take_function(L, index, "dispatch");
  p.seri_pack = seri_pack;
  p.seri_unpack = seri_unpack;
  lua_getfield(L, index, "trace");
  if (!lua_isnil(L, -1)) p.trace = lua_toboolean(L, -1) != 0 ? trace_mode::on : trace_mode::off;
  lua_pop(L, 1);
  protocols_.push_back(std::move(p));
}

void scheduler::register_builtin(lua_State* L, const char* name, int id, packing how,
                                 lua_CFunction dispatcher) {
  protocol p;
  p.id = id;
  p.name = name;
  p.seri_pack = how == packing::seri;
  p.seri_unpack = how == packing::seri;
  p.identity = how == packing::identity;
  if (dispatcher != nullptr) {
    lua_pushcfunction(L, dispatcher);
    p.dispatch = luaL_ref(L, LUA_REGISTRYINDEX);
  }
  protocols_.push_back(std::move(p));
}

protocol* scheduler::find_protocol(int id) noexcept {
  for (protocol& p : protocols_) {
    if (p.id == id) return &p;
  }
  return nullptr;
}

protocol* scheduler::find_protocol(std::string_view name) noexcept {
  for (protocol& p : protocols_) {
    if (p.name == name) return &p;
  }
  return nullptr;
}

protocol& scheduler::checked_protocol(lua_State* L, int index) {
  std::size_t length = 0;
  const char* name = lua_tolstring(L, index, &length);
  protocol* p = name == nullptr ? nullptr : find_protocol(std::string_view(name, length));
  if (p == nullptr) {
    luaL_error(L, "attempt to index a nil value (unknown protocol '%s')",
               name == nullptr ? luaL_typename(L, index) : name);
  }
  return *p;
}

payload scheduler::pack_with(lua_State* L, const protocol& p, int first, int last) {
  if (p.seri_pack) return pack_values(L, first, last);
  if (p.identity) return raw_message(L, first);
  if (p.pack == LUA_NOREF) {
    luaL_error(L, "protocol %s has no pack function", p.name.c_str());
  }
  const int base = lua_gettop(L);
  luaL_checkstack(L, last - first + 3, "too many values to pack");
  lua_rawgeti(L, LUA_REGISTRYINDEX, p.pack);
  for (int i = first; i <= last; ++i)
    lua_pushvalue(L, i);
  lua_call(L, last < first ? 0 : last - first + 1, 2);
  payload data;
  if (lua_type(L, base + 1) == LUA_TSTRING) {
    std::size_t size = 0;
    const char* bytes = lua_tolstring(L, base + 1, &size);
    data = payload::copy_of(std::string_view(bytes, size));
  } else if (lua_type(L, base + 1) == LUA_TLIGHTUSERDATA) {
    data = payload::adopt_malloced(lua_touserdata(L, base + 1),
                                   static_cast<std::size_t>(lua_tointeger(L, base + 2)));
  }
  lua_settop(L, base);
  return data;
}

int scheduler::unpack_with(lua_State* L, const protocol& p, const void* data, std::size_t size,
                           int scratch) {
  if (p.seri_unpack) return push_unpacked(L, data, size, scratch);
  if (p.unpack == LUA_NOREF) {
    lua_pushlightuserdata(L, const_cast<void*>(data));
    lua_pushinteger(L, static_cast<lua_Integer>(size));
    return 2;
  }
  const int base = lua_gettop(L);
  lua_rawgeti(L, LUA_REGISTRYINDEX, p.unpack);
  lua_pushlightuserdata(L, const_cast<void*>(data));
  lua_pushinteger(L, static_cast<lua_Integer>(size));
  lua_call(L, 2, LUA_MULTRET);
  return lua_gettop(L) - base;
}

}  // namespace starling::lua
