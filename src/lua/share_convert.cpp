#include "lua/share_convert.hpp"

#include <cmath>
#include <cstdint>
#include <string>
#include <string_view>
#include <unordered_map>

namespace starling::lua {

namespace {

constexpr int max_depth = 200;

int dump_writer(lua_State*, const void* p, std::size_t size, void* ud) {
  try {
    static_cast<std::string*>(ud)->append(static_cast<const char*>(p), size);
  } catch (...) {
    return 1;
  }
  return 0;
}

}  // namespace

share::value share_converter::key(int index) {
  using share::value;
  switch (lua_type(L_, index)) {
    case LUA_TNUMBER:
      if (lua_isinteger(L_, index) != 0) return value::make_integer(lua_tointeger(L_, index));
      if (rules_ == share_rules::sharedata) {
        luaL_error(L_, "Invalid key %f", lua_tonumber(L_, index));
      }
      return value::make_real(lua_tonumber(L_, index));
    case LUA_TSTRING: {
      std::size_t size = 0;
      const char* s = lua_tolstring(L_, index, &size);
      return value::make_index(value::kind::string, builder_.intern(std::string_view(s, size)));
    }
    default:
      if (rules_ == share_rules::sharedata) {
        luaL_error(L_, "Invalid key type %s", luaL_typename(L_, index));
      }
      return element(index, 0);
  }
}

share::value share_converter::element(int index, int depth) {
  using share::value;
  switch (lua_type(L_, index)) {
    case LUA_TNIL:
      return {};
    case LUA_TBOOLEAN:
      return value::make_boolean(lua_toboolean(L_, index) != 0);
    case LUA_TNUMBER:
      if (lua_isinteger(L_, index) != 0) return value::make_integer(lua_tointeger(L_, index));
      return value::make_real(lua_tonumber(L_, index));
    case LUA_TSTRING: {
      std::size_t size = 0;
      const char* s = lua_tolstring(L_, index, &size);
      return value::make_index(value::kind::string, builder_.intern(std::string_view(s, size)));
    }
    case LUA_TTABLE:
      return value::make_index(value::kind::table, table(index, depth + 1));
    default:
      break;
  }
  if (rules_ == share_rules::sharedata) {
    luaL_error(L_, "Unsupport value type %s", luaL_typename(L_, index));
  }
  switch (lua_type(L_, index)) {
    case LUA_TLIGHTUSERDATA:
      return value::make_pointer(value::kind::pointer, lua_touserdata(L_, index));
    case LUA_TFUNCTION:
      if (lua_getupvalue(L_, index, 1) != nullptr) {
        luaL_error(L_, "Invalid function with upvalue");
      }
      if (lua_iscfunction(L_, index) != 0) {
        return value::make_pointer(value::kind::cfunction,
                                   reinterpret_cast<void*>(lua_tocfunction(L_, index)));
      }
      dumped_.clear();
      lua_pushvalue(L_, index);
      if (lua_dump(L_, dump_writer, &dumped_, 1) != 0) luaL_error(L_, "not enough memory");
      lua_pop(L_, 1);
      return value::make_index(value::kind::function, builder_.intern(dumped_));
    default:
      luaL_error(L_, "Invalid type [%s]", luaL_typename(L_, index));
      return {};
  }
}

std::uint32_t share_converter::table(int index, int depth) {
  index = lua_absindex(L_, index);
  if (depth > max_depth) luaL_error(L_, "Table too deep (more than %d levels)", max_depth);
  auto [it, added] = seen_.try_emplace(lua_topointer(L_, index), 0);
  if (!added) return it->second;
  const std::uint32_t n = builder_.add_node();
  it->second = n;
  if (rules_ == share_rules::sharetable && lua_getmetatable(L_, index) != 0) {
    luaL_error(L_, "Can't share metatable");
  }
  luaL_checkstack(L_, 4, "table too deep");
  const auto size = static_cast<std::size_t>(lua_rawlen(L_, index));
  builder_.set_array_size(n, size);
  for (std::size_t i = 0; i < size; ++i) {
    lua_rawgeti(L_, index, static_cast<lua_Integer>(i) + 1);
    builder_.set_array(n, i, element(-1, depth));
    lua_pop(L_, 1);
  }
  lua_pushnil(L_);
  while (lua_next(L_, index) != 0) {
    if (lua_isinteger(L_, -2) != 0) {
      const lua_Integer k = lua_tointeger(L_, -2);
      if (k >= 1 && static_cast<std::size_t>(k) <= size) {
        lua_pop(L_, 1);
        continue;
      }
    }
    const share::value k = key(-2);
    builder_.add_hash(n, k, element(-1, depth));
    lua_pop(L_, 1);
  }
  return n;
}

void share_converter::run(lua_State* L, int index) {
  L_ = L;
  table(index, 0);
  done_ = builder_.finish();
}

bool push_share_scalar(lua_State* L, const share::tree& t, const share::value& v) {
  using share::value;
  switch (v.type) {
    case value::kind::nil:
      lua_pushnil(L);
      return true;
    case value::kind::boolean:
      lua_pushboolean(L, v.as.boolean ? 1 : 0);
      return true;
    case value::kind::integer:
      lua_pushinteger(L, v.as.integer);
      return true;
    case value::kind::real:
      lua_pushnumber(L, v.as.real);
      return true;
    case value::kind::string: {
      const std::string_view s = t.text(v.as.index);
      lua_pushlstring(L, s.data(), s.size());
      return true;
    }
    case value::kind::pointer:
      lua_pushlightuserdata(L, v.as.pointer);
      return true;
    case value::kind::cfunction:
      lua_pushcfunction(L, reinterpret_cast<lua_CFunction>(v.as.pointer));
      return true;
    case value::kind::table:
    case value::kind::function:
      return false;
  }
  return false;
}

bool share_key(lua_State* L, int index, share::value& key) {
  using share::value;
  switch (lua_type(L, index)) {
    case LUA_TBOOLEAN:
      key = value::make_boolean(lua_toboolean(L, index) != 0);
      return true;
    case LUA_TNUMBER: {
      if (lua_isinteger(L, index) != 0) {
        key = value::make_integer(lua_tointeger(L, index));
        return true;
      }
      const lua_Number d = lua_tonumber(L, index);
      lua_Integer i = 0;
      if (lua_numbertointeger(std::floor(d), &i) && static_cast<lua_Number>(i) == d) {
        key = value::make_integer(i);
      } else {
        key = value::make_real(d);
      }
      return !std::isnan(d);
    }
    case LUA_TLIGHTUSERDATA:
      key = value::make_pointer(value::kind::pointer, lua_touserdata(L, index));
      return true;
    case LUA_TFUNCTION:
      if (lua_iscfunction(L, index) == 0) return false;
      if (lua_getupvalue(L, index, 1) != nullptr) {
        lua_pop(L, 1);
        return false;
      }
      {
        key = value::make_pointer(value::kind::cfunction,
                                  reinterpret_cast<void*>(lua_tocfunction(L, index)));
        return true;
      }
      return false;
    default:
      return false;
  }
}

}  // namespace starling::lua
