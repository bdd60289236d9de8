// Feeds arbitrary bytes to the Lua-side skynet.unpack (lua/lua_seri: straight onto the Lua
// stack, with a fast path for flat messages). It must accept exactly what the C++ reader
// accepts, never crash, and a flat message must repack to what the C++ writer produces.

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <lua.hpp>
#include <span>

#include "lua/lua_seri.hpp"
#include "seri/error.hpp"
#include "seri/reader.hpp"
#include "seri/writer.hpp"

namespace seri = starling::seri;

namespace {

[[noreturn]] void fail(const char* what) {
  std::fprintf(stderr, "lua_unpack_fuzz: %s\n", what);
  std::abort();  // libFuzzer saves the input
}

struct input {
  const std::uint8_t* data;
  std::size_t size;
};

// Protected: unpacks; a message without tables is repacked and left as a string (tables may
// nest deeper than pack accepts, and their key order is the table's).
int unpack_and_repack(lua_State* L) {
  const auto* in = static_cast<const input*>(lua_touserdata(L, 1));
  lua_settop(L, 0);
  lua_pushnil(L);  // scratch slot
  const int n = starling::lua::push_unpacked(L, in->data, in->size, 1);
  for (int i = 2; i <= n + 1; ++i) {
    if (lua_type(L, i) == LUA_TTABLE) {
      lua_settop(L, 0);
      lua_pushnil(L);
      return 1;
    }
  }
  starling::payload repacked = starling::lua::pack_values(L, 2, n + 1);
  lua_settop(L, 0);
  lua_pushlstring(L, reinterpret_cast<const char*>(repacked.data()), repacked.size());
  return 1;
}

bool has_table(const seri::value_list& values) {
  for (const seri::value& v : values) {
    if (v.is_table()) return true;
  }
  return false;
}

lua_State* state() {
  static lua_State* L = [] {
    lua_State* s = luaL_newstate();
    luaL_openlibs(s);
    return s;
  }();
  return L;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  lua_State* L = state();
  input in{data, size};
  lua_pushcfunction(L, unpack_and_repack);
  lua_pushlightuserdata(L, &in);
  const bool lua_ok = lua_pcall(L, 1, 1, 0) == LUA_OK;

  seri::value_list values;
  bool cpp_ok = true;
  try {
    values = seri::unpack(std::as_bytes(std::span(data, size)));
  } catch (const seri::error&) {
    cpp_ok = false;
  }
  if (lua_ok != cpp_ok) fail("the Lua and C++ decoders disagree on whether the input is valid");
  if (lua_ok && !has_table(values)) {
    std::size_t length = 0;
    const char* bytes = lua_tolstring(L, -1, &length);
    seri::writer w;
    w.write(values);
    const auto expected = w.bytes();
    if (length != expected.size() ||
        (length != 0 && std::memcmp(bytes, expected.data(), length) != 0)) {
      fail("a flat message repacks differently from the C++ writer");
    }
  }
  lua_settop(L, 0);
  if (lua_gc(L, LUA_GCCOUNT, 0) > 64 * 1024) lua_gc(L, LUA_GCCOLLECT, 0);
  return 0;
}
