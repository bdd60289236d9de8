// require "skynet.stm": one writer, many readers of a message (share/stm.hpp).
//   stm.new(msg, sz | str) -> writer     writer(msg, sz | str)     stm.copy(writer) -> ref
//   stm.newcopy(ref) -> reader           reader(f, ud) -> false | true, f(msg, sz, ud)...

#include "share/stm.hpp"

#include <cstdlib>
#include <cstring>
#include <memory>
#include <new>
#include <optional>

#include "lua/protected.hpp"
#include "lua/share_modules.hpp"

namespace starling::lua {

namespace {

constexpr const char* writer_metatable = "skynet.stm.writer";
constexpr const char* reader_metatable = "skynet.stm.reader";

using cell_ref = std::shared_ptr<share::stm_cell>;

struct writer_slot {
  std::optional<cell_ref> cell;
};

struct reader_slot {
  std::optional<cell_ref> cell;
  std::shared_ptr<const share::stm_message> held;  // the message of the last read
  std::uint64_t seen = 0;
};

// The message of arguments `index`.. : (msg, sz) taken over, or a string copied. Checks first;
// the returned block is malloc'd and owned by the caller.
struct message_args {
  void* data;
  std::size_t size;
};

message_args message_at(lua_State* L, int index) {
  if (lua_type(L, index) == LUA_TSTRING) {
    std::size_t size = 0;
    const char* s = lua_tolstring(L, index, &size);
    void* copy = std::malloc(size == 0 ? 1 : size);  // NOLINT(*-no-malloc)
    if (copy == nullptr) luaL_error(L, "not enough memory");
    std::memcpy(copy, s, size);
    return {copy, size};
  }
  luaL_checktype(L, index, LUA_TLIGHTUSERDATA);
  const lua_Integer size = luaL_checkinteger(L, index + 1);
  luaL_argcheck(L, size >= 0, index + 1, "negative size");
  return {lua_touserdata(L, index), static_cast<std::size_t>(size)};
}

// Publishes `m` (owned) to `cell`; the message is freed whatever happens.
void publish(share::stm_cell& cell, message_args m) {
  std::unique_ptr<share::stm_message> owned;
  try {
    owned = std::make_unique<share::stm_message>(m.data, m.size);
  } catch (...) {
    std::free(m.data);  // NOLINT(*-no-malloc)
    throw;
  }
  cell.write(std::move(owned));
}

int writer_call(lua_State* L) {
  auto* w = static_cast<writer_slot*>(luaL_checkudata(L, 1, writer_metatable));
  if (!w->cell) return luaL_error(L, "stm writer is closed");
  const message_args m = message_at(L, 2);
  native(L, [&] { publish(**w->cell, m); });
  return 0;
}

int writer_gc(lua_State* L) {
  auto* w = static_cast<writer_slot*>(luaL_checkudata(L, 1, writer_metatable));
  if (w->cell) (*w->cell)->close();
  std::destroy_at(w);
  std::construct_at(w);
  return 0;
}

// stm.new(msg, sz | str) -> writer
int stm_new(lua_State* L) {
  auto* w =
      std::construct_at(static_cast<writer_slot*>(lua_newuserdatauv(L, sizeof(writer_slot), 0)));
  luaL_setmetatable(L, writer_metatable);
  lua_insert(L, 1);
  const message_args m = message_at(L, 2);
  native(L, [&] {
    std::shared_ptr<share::stm_cell> cell;
    try {
      cell = std::make_shared<share::stm_cell>();
    } catch (...) {
      std::free(m.data);  // NOLINT(*-no-malloc)
      throw;
    }
    publish(*cell, m);
    w->cell.emplace(std::move(cell));
  });
  lua_settop(L, 1);
  return 1;
}

// stm.copy(writer) -> light userdata: a reference for exactly one stm.newcopy
int stm_copy(lua_State* L) {
  auto* w = static_cast<writer_slot*>(luaL_checkudata(L, 1, writer_metatable));
  if (!w->cell) return luaL_error(L, "stm writer is closed");
  void* ref =
      native(L, [&] { return static_cast<void*>(std::make_unique<cell_ref>(*w->cell).release()); });
  lua_pushlightuserdata(L, ref);
  return 1;
}

// stm.newcopy(ref) -> reader
int stm_newcopy(lua_State* L) {
  luaL_checktype(L, 1, LUA_TLIGHTUSERDATA);
  auto* ref = static_cast<cell_ref*>(lua_touserdata(L, 1));
  if (ref == nullptr) return luaL_argerror(L, 1, "null reference");
  // The reference is ours from here on: made under protect, so a memory error frees it.
  cxx_failure failure;
  reader_slot* r = nullptr;
  const int n = protect(
      L, 0,
      [&](lua_State* S) {
        r = std::construct_at(
            static_cast<reader_slot*>(lua_newuserdatauv(S, sizeof(reader_slot), 0)));
        luaL_setmetatable(S, reader_metatable);
        return 1;
      },
      failure);
  if (n < 0) {
    { const std::unique_ptr<cell_ref> dropped(ref); }
    return lua_error(L);
  }
  const std::unique_ptr<cell_ref> adopted(ref);
  r->cell.emplace(std::move(*adopted));
  return 1;
}

// reader(f, ud) -> false | true, f(msg, sz, ud)...
int reader_call(lua_State* L) {
  auto* r = static_cast<reader_slot*>(luaL_checkudata(L, 1, reader_metatable));
  luaL_checktype(L, 2, LUA_TFUNCTION);
  lua_settop(L, 3);
  if (!r->cell) return luaL_error(L, "stm reader is closed");
  // The slot keeps the message alive while f runs, even if f raises.
  const bool fresh = native(L, [&] {
    std::shared_ptr<const share::stm_message> m = (*r->cell)->read(r->seen);
    if (m == nullptr) return false;
    r->held = std::move(m);
    return true;
  });
  if (!fresh) {
    lua_pushboolean(L, 0);
    return 1;
  }
  lua_pushboolean(L, 1);
  lua_pushvalue(L, 2);
  lua_pushlightuserdata(L, const_cast<void*>(r->held->data()));
  lua_pushinteger(L, static_cast<lua_Integer>(r->held->size()));
  lua_pushvalue(L, 3);
  lua_call(L, 3, LUA_MULTRET);
  return lua_gettop(L) - 3;
}

int reader_gc(lua_State* L) {
  auto* r = static_cast<reader_slot*>(luaL_checkudata(L, 1, reader_metatable));
  std::destroy_at(r);
  std::construct_at(r);
  return 0;
}

}  // namespace

int open_stm(lua_State* L) {
  if (luaL_newmetatable(L, writer_metatable) != 0) {
    lua_pushcfunction(L, writer_call);
    lua_setfield(L, -2, "__call");
    lua_pushcfunction(L, writer_gc);
    lua_setfield(L, -2, "__gc");
  }
  lua_pop(L, 1);
  if (luaL_newmetatable(L, reader_metatable) != 0) {
    lua_pushcfunction(L, reader_call);
    lua_setfield(L, -2, "__call");
    lua_pushcfunction(L, reader_gc);
    lua_setfield(L, -2, "__gc");
  }
  lua_pop(L, 1);
  const luaL_Reg functions[] = {
      {"new", stm_new}, {"copy", stm_copy}, {"newcopy", stm_newcopy}, {nullptr, nullptr}};
  luaL_newlib(L, functions);
  return 1;
}

}  // namespace starling::lua
