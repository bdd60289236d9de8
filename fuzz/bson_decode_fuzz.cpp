// Feeds arbitrary bytes to the BSON reader (seri/bson) through the C++ tree and through the Lua
// module's decode and makeindex (lua/bson_module). Nothing may crash; the Lua decoder must
// accept exactly what the C++ one accepts; a decoded tree that encodes must decode and encode
// to the same bytes again.

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <lua.hpp>
#include <string>
#include <string_view>

#include "lua/bson_module.hpp"
#include "seri/bson.hpp"

namespace bson = starling::bson;

namespace {

[[noreturn]] void fail(const char* what) {
  std::fprintf(stderr, "bson_decode_fuzz: %s\n", what);
  std::abort();  // libFuzzer saves the input
}

struct input {
  const std::uint8_t* data;
  std::size_t size;
};

// Protected: the input as a bson userdata, decoded, then indexed.
int decode_in_lua(lua_State* L) {
  const auto* in = static_cast<const input*>(lua_touserdata(L, 1));
  lua_settop(L, 0);
  lua_getglobal(L, "bson");
  void* ud = lua_newuserdatauv(L, in->size, 1);
  if (in->size > 0) std::memcpy(ud, in->data, in->size);
  luaL_setmetatable(L, "bson");
  lua_getfield(L, 1, "decode");
  lua_pushvalue(L, 2);
  const bool decoded = lua_pcall(L, 1, 1, 0) == LUA_OK;
  lua_settop(L, 2);
  lua_getfield(L, 2, "makeindex");
  lua_pushvalue(L, 2);
  lua_pcall(L, 1, 0, 0);  // may fail where decode succeeds or not: only no crash matters
  lua_settop(L, 0);
  lua_pushboolean(L, decoded ? 1 : 0);
  return 1;
}

lua_State* state() {
  static lua_State* L = [] {
    lua_State* s = luaL_newstate();
    luaL_openlibs(s);
    starling::lua::open_bson(s);
    lua_setglobal(s, "bson");
    return s;
  }();
  return L;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view bytes(reinterpret_cast<const char*>(data), size);
  bool cpp_ok = true;
  bson::document doc;
  try {
    doc = bson::decode(bytes);
  } catch (const bson::error&) {
    cpp_ok = false;
  }
  if (cpp_ok) {
    std::string again;
    bool encoded = true;
    try {
      again = bson::encode(doc);  // refuses invalid UTF-8 and excess depth: fine
    } catch (const bson::error&) {
      encoded = false;
    }
    // Bytes, not trees: a NaN is not equal to itself.
    if (encoded && bson::encode(bson::decode(again)) != again)
      fail("a re-encoded document changes");
  }

  lua_State* L = state();
  input in{data, size};
  lua_pushcfunction(L, decode_in_lua);
  lua_pushlightuserdata(L, &in);
  if (lua_pcall(L, 1, 1, 0) != LUA_OK) fail("the Lua harness failed");
  const bool lua_ok = lua_toboolean(L, -1) != 0;
  lua_pop(L, 1);
  if (lua_ok != cpp_ok) fail("the Lua and C++ decoders disagree");
  return 0;
}
