// require "skynet.datasheet.core": reads the documents skynet.datasheet.builder encodes
// (docs/LIBRARIES.md "datasheet"). A document is a string the builder keeps alive; readers
// get its address and copy one table at a time into their own Lua tables
// (lualib/skynet/datasheet/init.lua makes the proxies).
//
//   stringpointer(s) -> address of s's bytes
//   count(doc) -> number of tables
//   fill(doc, i, t, table_of) -> true, or false if table i is gone from this version: copies
//     table i (0-based) into t, array then dict; a table value j becomes table_of(j)

#include <bit>
#include <cstdint>
#include <cstring>

#include "lua/share_modules.hpp"

namespace starling::lua {

namespace {

enum : std::uint8_t { type_nil, type_integer, type_real, type_boolean, type_table, type_string };
constexpr std::uint32_t vanished = 0xffffffffU;

std::uint32_t u32(const unsigned char* p) {
  std::uint32_t v = 0;
  std::memcpy(&v, p, sizeof v);
  if constexpr (std::endian::native == std::endian::big) v = __builtin_bswap32(v);
  return v;
}

const unsigned char* document_at(lua_State* L, int index) {
  luaL_checktype(L, index, LUA_TLIGHTUSERDATA);
  const auto* doc = static_cast<const unsigned char*>(lua_touserdata(L, index));
  if (doc == nullptr) luaL_argerror(L, index, "null document");
  return doc;
}

int ds_stringpointer(lua_State* L) {
  luaL_checktype(L, 1, LUA_TSTRING);
  lua_pushlightuserdata(L, const_cast<char*>(lua_tostring(L, 1)));
  return 1;
}

int ds_count(lua_State* L) {
  lua_pushinteger(L, u32(document_at(L, 1) + 4));
  return 1;
}

// Pushes one value; a table goes through table_of (at stack index `make`).
void push_value(lua_State* L, const unsigned char* doc, std::uint8_t type, std::uint32_t v,
                int make) {
  switch (type) {
    case type_integer:
      lua_pushinteger(L, static_cast<std::int32_t>(v));
      break;
    case type_real:
      lua_pushnumber(L, std::bit_cast<float>(v));
      break;
    case type_boolean:
      lua_pushboolean(L, v != 0 ? 1 : 0);
      break;
    case type_table:
      lua_pushvalue(L, make);
      lua_pushinteger(L, v);
      lua_call(L, 1, 1);
      break;
    case type_string:
      lua_pushstring(L, reinterpret_cast<const char*>(doc + u32(doc) + v));
      break;
    default:
      lua_pushnil(L);
  }
}

int ds_fill(lua_State* L) {
  const unsigned char* doc = document_at(L, 1);
  const lua_Integer i = luaL_checkinteger(L, 2);
  luaL_checktype(L, 3, LUA_TTABLE);
  luaL_checktype(L, 4, LUA_TFUNCTION);
  const std::uint32_t n = u32(doc + 4);
  luaL_argcheck(L, i >= 0 && i < n, 2, "no such table");
  const std::uint32_t offset = u32(doc + 8 + 4 * static_cast<std::size_t>(i));
  if (offset == vanished) {
    lua_pushboolean(L, 0);
    return 1;
  }
  const unsigned char* table = doc + 8 + 4 * static_cast<std::size_t>(n) + offset;
  const std::uint32_t array_count = u32(table);
  const std::uint32_t dict_count = u32(table + 4);
  const unsigned char* types = table + 8;
  const std::size_t padded =
      (static_cast<std::size_t>(array_count) + dict_count + 3) & ~std::size_t{3};
  const unsigned char* values = types + padded;
  luaL_checkstack(L, 4, nullptr);
  for (std::uint32_t k = 0; k < array_count; ++k) {
    push_value(L, doc, types[k], u32(values + 4 * static_cast<std::size_t>(k)), 4);
    lua_rawseti(L, 3, static_cast<lua_Integer>(k) + 1);
  }
  const unsigned char* dict = values + 4 * static_cast<std::size_t>(array_count);
  for (std::uint32_t k = 0; k < dict_count; ++k) {
    const unsigned char* entry = dict + 8 * static_cast<std::size_t>(k);
    lua_pushstring(L, reinterpret_cast<const char*>(doc + u32(doc) + u32(entry)));
    push_value(L, doc, types[array_count + k], u32(entry + 4), 4);
    lua_rawset(L, 3);
  }
  lua_pushboolean(L, 1);
  return 1;
}

}  // namespace

int open_datasheet_core(lua_State* L) {
  const luaL_Reg functions[] = {{"stringpointer", ds_stringpointer},
                                {"count", ds_count},
                                {"fill", ds_fill},
                                {nullptr, nullptr}};
  luaL_newlib(L, functions);
  return 1;
}

}  // namespace starling::lua
