#include "lua/sproto_module.hpp"

#include <algorithm>
#include <climits>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "lua/protected.hpp"
#include "seri/sproto_codec.hpp"
#include "seri/sproto_pack.hpp"
#include "seri/sproto_schema.hpp"
#include "seri/sproto_slots.hpp"
#include "seri/sproto_wire.hpp"

// require "sproto.core": the native half of sproto.lua (docs/LIBRARIES.md, "sproto").
//
// Schemas and types travel as light userdata, as in skynet: a schema from newproto lives until
// deleteproto (sproto.lua's __gc) or, once saved in a slot, until the process ends.
//
// Encoding walks Lua tables (which may run __index and __pairs, and fail) while it appends to
// a std::string: the string lives in run_encoder's frame and the walk runs under lua::protect.
// The walking frames hold only trivial values (the wire writers are trivially destructible).
// Our own errors are thrown as sproto::error and raised again by the binding, after the
// caller's position. Decoding and defaults own no C++ object: they raise Lua errors directly.

namespace starling::lua {

namespace {

namespace wire = sproto::wire;
using sproto::field;
using sproto::kind;
using sproto::type;

const sproto::schema* schema_arg(lua_State* L) {
  const auto* s = static_cast<const sproto::schema*>(lua_touserdata(L, 1));
  if (s == nullptr) luaL_argerror(L, 1, "Need a sproto object");
  return s;
}

void push_type(lua_State* L, const type* t) {
  lua_pushlightuserdata(L, const_cast<type*>(t));  // NOLINT(*-const-cast): Lua holds void*
}

// A string, or a (light) userdata followed by its size.
std::string_view buffer_arg(lua_State* L, int index) {
  const int t = lua_type(L, index);
  if (t == LUA_TSTRING) {
    std::size_t size = 0;
    const char* p = lua_tolstring(L, index, &size);
    return {p, size};
  }
  if (t != LUA_TUSERDATA && t != LUA_TLIGHTUSERDATA) {
    luaL_argerror(L, index, "Need a string or userdata");
  }
  const char* p = static_cast<const char*>(lua_touserdata(L, index));
  const lua_Integer size = luaL_checkinteger(L, index + 1);
  if (size < 0) luaL_argerror(L, index + 1, "negative size");
  if (p == nullptr && size > 0) luaL_argerror(L, index, "null buffer");
  return {p, static_cast<std::size_t>(size)};
}

// ---- schemas ---------------------------------------------------------------------

int newproto(lua_State* L) {
  std::size_t size = 0;
  const char* bytes = luaL_checklstring(L, 1, &size);
  sproto::schema* s = native(L, [&] { return sproto::schema::load({bytes, size}).release(); });
  if (s == nullptr) return 0;
  lua_pushlightuserdata(L, s);
  return 1;
}

int deleteproto(lua_State* L) {
  const sproto::schema* s = schema_arg(L);
  // Owned since newproto released it to Lua.
  native(L, [&] { std::unique_ptr<const sproto::schema> owned(s); });
  return 0;
}

int dumpproto(lua_State* L) {
  const sproto::schema* s = schema_arg(L);
  native(L, [&] {
    const std::string text = s->dump();
    std::fwrite(text.data(), 1, text.size(), stdout);
  });
  return 0;
}

int querytype(lua_State* L) {
  const sproto::schema* s = schema_arg(L);
  std::size_t size = 0;
  const char* name = luaL_checklstring(L, 2, &size);
  const type* t = s->find_type({name, size});
  if (t == nullptr) return 0;
  push_type(L, t);
  return 1;
}

// protocol(p, name_or_tag) -> tag_or_name, request, response
int protocol(lua_State* L) {
  const auto* s = static_cast<const sproto::schema*>(lua_touserdata(L, 1));
  if (s == nullptr) return luaL_argerror(L, 1, "Need a sproto_type object");
  const sproto::protocol* p = nullptr;
  if (lua_type(L, 2) == LUA_TNUMBER) {
    p = s->find_protocol(static_cast<int>(lua_tointeger(L, 2)));
    if (p == nullptr) return 0;
    lua_pushlstring(L, p->name.data(), p->name.size());
  } else {
    std::size_t size = 0;
    const char* name = lua_tolstring(L, 2, &size);
    if (name == nullptr) return luaL_argerror(L, 2, "Should be number or string");
    p = s->find_protocol({name, size});
    if (p == nullptr) return 0;
    lua_pushinteger(L, p->tag);
  }
  if (p->request != nullptr) {
    push_type(L, p->request);
  } else {
    lua_pushnil(L);
  }
  if (p->response != nullptr) {
    push_type(L, p->response);
  } else if (p->confirm) {
    lua_pushlightuserdata(L, nullptr);  // `response nil`: encode/decode take it as "empty"
  } else {
    lua_pushnil(L);
  }
  return 3;
}

// saveproto(p, i): the slot owns `p` from here on (a schema from newproto that no sproto object
// wraps: sprotoloader's use), even when `i` is refused.
int saveproto(lua_State* L) {
  auto* s = static_cast<sproto::schema*>(lua_touserdata(L, 1));
  int is_integer = 1;
  const lua_Integer index = lua_isnoneornil(L, 2) ? 0 : lua_tointegerx(L, 2, &is_integer);
  if (is_integer == 0 || index < 0 || index >= sproto::slots::count) {
    native(L, [&] { std::unique_ptr<sproto::schema> refused(s); });
    if (is_integer == 0) return static_cast<int>(luaL_checkinteger(L, 2));  // raises
    return luaL_error(L, "Invalid global slot index %d", static_cast<int>(index));
  }
  native(L,
         [&] { sproto::slots::save(static_cast<int>(index), std::unique_ptr<sproto::schema>(s)); });
  return 0;
}

int loadproto(lua_State* L) {
  const lua_Integer index = luaL_optinteger(L, 1, 0);
  if (index < 0 || index >= sproto::slots::count) {
    return luaL_error(L, "Invalid global slot index %d", static_cast<int>(index));
  }
  const sproto::schema* s = native(L, [&] { return sproto::slots::load(static_cast<int>(index)); });
  if (s == nullptr) return luaL_error(L, "nil sproto at index %d", static_cast<int>(index));
  lua_pushlightuserdata(L, const_cast<sproto::schema*>(s));  // NOLINT(*-const-cast)
  return 1;
}

// ---- encoding --------------------------------------------------------------------

[[noreturn]] void not_a(lua_State* L, const type& t, const field& f, lua_Integer index,
                        const char* expected, int value) {
  throw sproto::error(t.name + "." + f.name + "[" + std::to_string(index) + "] is not " + expected +
                      " (Is a " + lua_typename(L, lua_type(L, value)) + ")");
}

void check_size(const std::string& out) {
  if (out.size() > sproto::max_encoded_size) throw sproto::error("object is too large (>16777216)");
}

std::int64_t integer_at(lua_State* L, const type& t, const field& f, lua_Integer index, int at) {
  if (f.decimal != 0) {
    // Decimals, like doubles, take Lua's number conversion (non-numbers give 0).
    const std::optional<std::int64_t> wire =
        sproto::scaled_decimal(lua_tonumberx(L, at, nullptr), f.decimal);
    if (!wire) not_a(L, t, f, index, "a number", at);
    return *wire;
  }
  int ok = 0;
  const lua_Integer v = lua_tointegerx(L, at, &ok);
  if (ok == 0) not_a(L, t, f, index, "an integer", at);
  return v;
}

void append_real(std::string& out, double d) {
  std::uint64_t bits = 0;
  std::memcpy(&bits, &d, sizeof bits);
  wire::append_u64(out, bits);
}

void encode_struct(lua_State* L, std::string& out, const type& t, int table, int depth);
void encode_value(lua_State* L, std::string& out, wire::struct_writer& w, const type& t,
                  const field& f, int at, int depth);

// A struct element of an array: u32 length, then the struct.
void encode_element(lua_State* L, std::string& out, const type& st, int at, int depth) {
  const std::size_t length_at = out.size();
  wire::append_u32(out, 0);
  encode_struct(L, out, st, at, depth);
  wire::put_u32(out, length_at,
                static_cast<std::uint32_t>(out.size() - length_at - wire::length_size));
}

// Appends the element at `at` (the `index`th, 1-based) of an array field.
void encode_item(lua_State* L, std::string& out, const type& t, const field& f, lua_Integer index,
                 int at, wire::integer_array_writer& integers, int depth) {
  switch (f.what) {
    case kind::integer:
      integers.add(integer_at(L, t, f, index, at));
      break;
    case kind::real:
      append_real(out, lua_tonumberx(L, at, nullptr));
      break;
    case kind::boolean:
      if (lua_type(L, at) != LUA_TBOOLEAN) not_a(L, t, f, index, "a boolean", at);
      out.push_back(lua_toboolean(L, at) != 0 ? 1 : 0);
      break;
    case kind::string: {
      if (lua_type(L, at) != LUA_TSTRING) not_a(L, t, f, index, "a string", at);
      std::size_t size = 0;
      const char* p = lua_tolstring(L, at, &size);
      wire::append_u32(out, static_cast<std::uint32_t>(size));
      out.append(p, size);
      break;
    }
    case kind::structure:
      encode_element(L, out, *f.st, at, depth + 1);
      break;
  }
  check_size(out);
}

// A two-field map entry (key at `k`, value at `v`) as the struct {first = k, second = v}.
void encode_pair(lua_State* L, std::string& out, const field& f, int k, int v, int depth) {
  const type& st = *f.st;
  if (st.fields.size() != 2) throw sproto::error("Invalid map definition: " + f.name);
  if (depth + 1 >= sproto::max_depth) throw sproto::error("The table is too deep");
  const std::size_t length_at = out.size();
  wire::append_u32(out, 0);
  wire::struct_writer w(out, st.max_entries());
  encode_value(L, out, w, st, st.fields[0], k, depth + 1);
  encode_value(L, out, w, st, st.fields[1], v, depth + 1);
  w.finish();
  wire::put_u32(out, length_at,
                static_cast<std::uint32_t>(out.size() - length_at - wire::length_size));
  check_size(out);
}

// A map field: the table's pairs (next, or __pairs when the value has one).
void encode_map(lua_State* L, std::string& out, const field& f, int items, bool metapairs,
                int depth) {
  luaL_checkstack(L, 6, nullptr);
  if (metapairs) {
    luaL_getmetafield(L, items, "__pairs");
    lua_pushvalue(L, items);
    lua_call(L, 1, 3);  // iterator, state, control
  } else {
    lua_pushnil(L);
  }
  for (;;) {
    if (metapairs) {
      lua_pushvalue(L, -3);
      lua_pushvalue(L, -3);
      lua_pushvalue(L, -3);
      lua_call(L, 2, 2);
      if (lua_isnil(L, -2)) {
        lua_pop(L, 5);
        return;
      }
    } else if (lua_next(L, items) == 0) {
      return;
    }
    const int v = lua_gettop(L);
    if (f.map) {
      encode_pair(L, out, f, v - 1, v, depth);
    } else {
      encode_element(L, out, *f.st, v, depth + 1);
      check_size(out);
    }
    lua_pop(L, 1);  // the key stays: next's control value
    if (metapairs) lua_replace(L, -2);
  }
}

void encode_array(lua_State* L, std::string& out, const type& t, const field& f, int items,
                  int depth) {
  const bool metapairs = luaL_getmetafield(L, items, "__pairs") != LUA_TNIL;
  if (metapairs) lua_pop(L, 1);
  if (!metapairs && !lua_istable(L, items)) {
    throw sproto::error(t.name + "." + f.name +
                        "(1) should be a table or an userdata with metamethods (Is a " +
                        lua_typename(L, lua_type(L, items)) + ")");
  }
  if (f.what == kind::structure && (f.key >= 0 || f.map)) {
    encode_map(L, out, f, items, metapairs, depth);
    return;
  }
  // Elements t[1], t[2], ... up to the first nil (__index honoured, __len not).
  wire::integer_array_writer integers(out);
  for (lua_Integer i = 1;; ++i) {
    if (lua_geti(L, items, i) == LUA_TNIL) {
      lua_pop(L, 1);
      return;
    }
    if (i == 1 && f.what == kind::real) out.push_back(8);
    encode_item(L, out, t, f, i, lua_gettop(L), integers, depth);
    lua_pop(L, 1);
  }
}

void encode_value(lua_State* L, std::string& out, wire::struct_writer& w, const type& t,
                  const field& f, int at, int depth) {
  if (f.array) {
    const std::size_t length_at = w.begin_data(f.tag);
    encode_array(L, out, t, f, at, depth);
    w.end_data(length_at);
    return;
  }
  switch (f.what) {
    case kind::integer:
      w.put_integer(f.tag, integer_at(L, t, f, 0, at));
      return;
    case kind::boolean:
      if (lua_type(L, at) != LUA_TBOOLEAN) not_a(L, t, f, 0, "a boolean", at);
      w.put_inline(f.tag, lua_toboolean(L, at) != 0 ? 1 : 0);
      return;
    case kind::real: {
      const std::size_t length_at = w.begin_data(f.tag);
      append_real(out, lua_tonumberx(L, at, nullptr));
      w.end_data(length_at);
      return;
    }
    case kind::string: {
      if (lua_type(L, at) != LUA_TSTRING) not_a(L, t, f, 0, "a string", at);
      std::size_t size = 0;
      const char* p = lua_tolstring(L, at, &size);
      const std::size_t length_at = w.begin_data(f.tag);
      out.append(p, size);
      w.end_data(length_at);
      check_size(out);
      return;
    }
    case kind::structure: {
      const std::size_t length_at = w.begin_data(f.tag);
      encode_struct(L, out, *f.st, at, depth + 1);
      w.end_data(length_at);
      return;
    }
  }
}

void encode_struct(lua_State* L, std::string& out, const type& t, int table, int depth) {
  if (depth >= sproto::max_depth) throw sproto::error("The table is too deep");
  luaL_checkstack(L, 8, nullptr);
  wire::struct_writer w(out, t.max_entries());
  for (const field& f : t.fields) {
    // Any value may be indexed: a string goes through its metatable, a number raises.
    // By length: lua_getfield's C string would be compared with strcmp in Lua's string cache.
    lua_pushlstring(L, f.name.data(), f.name.size());
    if (lua_gettable(L, table) != LUA_TNIL) {
      encode_value(L, out, w, t, f, lua_gettop(L), depth);
    }
    lua_pop(L, 1);
  }
  w.finish();
}

// Owns the output across the protected walk; returns protect's count (-1: failed).
int run_encoder(lua_State* L, const type& t, cxx_failure& failure) {
  // The output's storage is kept for the next call on this thread, so a message is not grown
  // from empty each time (a nested encode, from an __index, finds it taken and starts anew).
  constexpr std::size_t keep_capacity = std::size_t{64} * 1024;
  thread_local std::string spare;
  std::string out = std::move(spare);
  out.clear();
  const int n = protect(
      L, 1,
      [&](lua_State* S) {
        encode_struct(S, out, t, 1, 0);
        lua_pushlstring(S, out.data(), out.size());
        return 1;
      },
      failure);
  if (out.capacity() <= keep_capacity) spare = std::move(out);
  return n;
}

int encode(lua_State* L) {
  const auto* t = static_cast<const type*>(lua_touserdata(L, 1));
  if (t == nullptr) {
    // `response nil`: nothing to encode, and nothing may be given.
    luaL_checktype(L, 2, LUA_TNIL);
    lua_pushliteral(L, "");
    return 1;
  }
  lua_settop(L, 2);
  cxx_failure failure;
  const int n = run_encoder(L, *t, failure);
  if (n >= 0) return n;
  if (failure.failed()) failure.raise(L);
  return lua_error(L);
}

// ---- decoding --------------------------------------------------------------------

[[noreturn]] void decode_error(lua_State* L) {
  luaL_error(L, "decode error");
  __builtin_unreachable();
}

std::size_t decode_struct(lua_State* L, const type& t, std::string_view bytes, int table,
                          int depth);

void push_integer(lua_State* L, const field& f, std::int64_t v) {
  if (f.decimal != 0) {
    lua_pushnumber(L, static_cast<lua_Number>(v) / static_cast<lua_Number>(f.decimal));
  } else {
    lua_pushinteger(L, v);
  }
}

// Pushes a new table holding the struct that must fill `bytes` exactly.
void push_struct(lua_State* L, const type& t, std::string_view bytes, int depth) {
  // Sized for its fields up front (the entry count, at most the type's field count): a decoded
  // message is mostly table building.
  const std::size_t entries = bytes.size() >= wire::header_size ? wire::u16_at(bytes.data()) : 0;
  lua_createtable(L, 0, static_cast<int>(std::min(entries, t.fields.size())));
  if (decode_struct(L, t, bytes, lua_gettop(L), depth) != bytes.size()) decode_error(L);
}

// Adds the struct element on the stack top to the map at `result` (and pops it).
void add_map_element(lua_State* L, const field& f, int result) {
  const int element = lua_gettop(L);
  if (f.map) {
    const type& st = *f.st;
    if (st.fields.size() != 2) decode_error(L);
    if (lua_getfield(L, element, st.fields[0].name.c_str()) == LUA_TNIL) {
      luaL_error(L, "Can't find key field in [%s]", f.name.c_str());
    }
    if (lua_getfield(L, element, st.fields[1].name.c_str()) == LUA_TNIL) {
      luaL_error(L, "Can't find value field in [%s]", f.name.c_str());
    }
    lua_settable(L, result);
  } else {
    const field* key = f.st->find(f.key);
    if (key == nullptr || lua_getfield(L, element, key->name.c_str()) == LUA_TNIL) {
      luaL_error(L, "Can't find main index (tag=%d) in [%s]", f.key, f.name.c_str());
    }
    lua_pushvalue(L, element);
    lua_settable(L, result);
  }
  lua_settop(L, element - 1);
}

// Pushes the array (or map) of field `f` held in `data`.
// How many elements `data` holds (a size hint; 0 for a malformed block array).
std::size_t element_count(const field& f, std::string_view data) {
  std::size_t width = 0;
  std::size_t count = 0;
  switch (f.what) {
    case kind::integer:
    case kind::real:
      return wire::number_array_of(data, f.what == kind::real, width, count) ? count : 0;
    case kind::boolean:
      return data.size();
    case kind::string:
    case kind::structure: {
      std::string_view block;
      while (!data.empty()) {
        if (!wire::next_block(data, block)) return 0;
        ++count;
      }
      return count;
    }
  }
  return 0;
}

void push_array(lua_State* L, const field& f, std::string_view data, int depth) {
  const int hint = static_cast<int>(std::min<std::size_t>(element_count(f, data), INT_MAX));
  const bool keyed = f.what == kind::structure && (f.key >= 0 || f.map);
  lua_createtable(L, keyed ? 0 : hint, keyed ? hint : 0);
  const int result = lua_gettop(L);
  lua_Integer n = 0;
  switch (f.what) {
    case kind::integer:
    case kind::real: {
      std::size_t width = 0;
      std::size_t count = 0;
      if (!wire::number_array_of(data, f.what == kind::real, width, count)) decode_error(L);
      for (std::size_t i = 0; i < count; ++i) {
        const std::int64_t raw = wire::number_element(data, width, i);
        if (f.what == kind::real) {
          double d = 0;
          std::memcpy(&d, &raw, sizeof d);
          lua_pushnumber(L, d);
        } else {
          push_integer(L, f, raw);
        }
        lua_rawseti(L, result, ++n);
      }
      return;
    }
    case kind::boolean:
      for (const char c : data) {
        lua_pushboolean(L, c != 0 ? 1 : 0);
        lua_rawseti(L, result, ++n);
      }
      return;
    case kind::string:
    case kind::structure: {
      std::string_view block;
      while (!data.empty()) {
        if (!wire::next_block(data, block)) decode_error(L);
        if (f.what == kind::string) {
          lua_pushlstring(L, block.data(), block.size());
        } else {
          push_struct(L, *f.st, block, depth + 1);
          if (f.key >= 0 || f.map) {
            add_map_element(L, f, result);
            continue;
          }
        }
        lua_rawseti(L, result, ++n);
      }
      return;
    }
  }
}

void push_field(lua_State* L, const field& f, const wire::entry& e, int depth) {
  if (f.array) {
    if (!e.has_data) decode_error(L);
    push_array(L, f, e.data, depth);
    return;
  }
  if (!e.has_data) {
    if (f.what == kind::integer) {
      push_integer(L, f, e.value);
    } else if (f.what == kind::boolean) {
      lua_pushboolean(L, e.value != 0 ? 1 : 0);
    } else {
      decode_error(L);
    }
    return;
  }
  switch (f.what) {
    case kind::integer: {
      std::int64_t v = 0;
      if (!wire::integer_of(e.data, v)) decode_error(L);
      push_integer(L, f, v);
      return;
    }
    case kind::real: {
      double d = 0;
      if (!wire::real_of(e.data, d)) decode_error(L);
      lua_pushnumber(L, d);
      return;
    }
    case kind::string:
      lua_pushlstring(L, e.data.data(), e.data.size());
      return;
    case kind::structure:
      push_struct(L, *f.st, e.data, depth + 1);
      return;
    case kind::boolean:
      decode_error(L);
  }
}

// Fills the table at `table`; returns the bytes the struct took.
std::size_t decode_struct(lua_State* L, const type& t, std::string_view bytes, int table,
                          int depth) {
  if (depth >= sproto::max_depth) luaL_error(L, "The table is too deep");
  luaL_checkstack(L, 8, nullptr);
  wire::struct_reader r;
  if (!r.open(bytes)) decode_error(L);
  wire::entry e;
  while (r.next(e)) {
    const field* f = t.find(e.tag);
    if (f == nullptr) continue;  // a newer peer's field
    push_field(L, *f, e, depth);
    lua_setfield(L, table, f->name.c_str());
  }
  return r.size();
}

// decode(type, data[, size][, table]) -> table, bytes used
int decode(lua_State* L) {
  const auto* t = static_cast<const type*>(lua_touserdata(L, 1));
  if (t == nullptr) return 0;
  const std::string_view bytes = buffer_arg(L, 2);
  const int top = lua_gettop(L);
  int table = 0;
  if (top > 2 && lua_istable(L, top)) {
    table = top;
  } else {
    lua_newtable(L);
    table = lua_gettop(L);
  }
  const std::size_t used = decode_struct(L, *t, bytes, table, 0);
  lua_pushvalue(L, table);
  lua_pushinteger(L, static_cast<lua_Integer>(used));
  return 2;
}

// ---- defaults --------------------------------------------------------------------

void push_default_value(lua_State* L, const field& f, bool element) {
  switch (f.what) {
    case kind::integer:
      if (f.decimal != 0) {
        lua_pushnumber(L, 0.0);
      } else {
        lua_pushinteger(L, 0);
      }
      return;
    case kind::real:
      lua_pushnumber(L, 0.0);
      return;
    case kind::boolean:
      lua_pushboolean(L, 0);
      return;
    case kind::string:
      lua_pushliteral(L, "");
      return;
    case kind::structure:
      if (element) {
        lua_pushlstring(L, f.st->name.data(), f.st->name.size());
      } else {
        lua_createtable(L, 0, 1);
        lua_pushlstring(L, f.st->name.data(), f.st->name.size());
        lua_setfield(L, -2, "__type");
      }
      return;
  }
}

int default_table(lua_State* L) {
  const auto* t = static_cast<const type*>(lua_touserdata(L, 1));
  if (t == nullptr) return luaL_argerror(L, 1, "Need a sproto_type object");
  lua_createtable(L, 0, static_cast<int>(t->fields.size()));
  for (const field& f : t->fields) {
    if (f.array) {
      lua_createtable(L, 0, 1);
      push_default_value(L, f, true);
      lua_setfield(L, -2, "__array");
    } else {
      push_default_value(L, f, false);
    }
    lua_setfield(L, -2, f.name.c_str());
  }
  return 1;
}

// ---- 0-packing -------------------------------------------------------------------

int push_bytes(lua_State* L, const std::string& bytes) {
  lua_pushlstring(L, bytes.data(), bytes.size());
  return 1;
}

int pack(lua_State* L) {
  const std::string_view bytes = buffer_arg(L, 1);
  // Packed into storage of this thread, kept for the next call: no allocation per call, and
  // nothing of ours to leak should lua_pushlstring raise (out of memory). Nothing else runs
  // between packing and the copy Lua makes (a finalizer can only run after it).
  constexpr std::size_t keep_capacity = std::size_t{64} * 1024;
  thread_local std::string packed;
  native(L, [&] { sproto::pack(bytes, packed); });
  lua_pushlstring(L, packed.data(), packed.size());
  if (packed.capacity() > keep_capacity) std::string().swap(packed);
  return 1;
}

struct unpacked {
  std::string bytes;
  bool ok = false;
};

int unpack(lua_State* L) {
  const std::string_view bytes = buffer_arg(L, 1);
  const int n = native(
      L,
      [&] {
        unpacked u;
        u.ok = sproto::unpack(bytes, u.bytes);
        return u;
      },
      [](lua_State* S, const unpacked& u) { return u.ok ? push_bytes(S, u.bytes) : 0; });
  if (n == 0) return luaL_error(L, "Invalid unpack stream");
  return n;
}

}  // namespace

int open_sproto_core(lua_State* L) {
  luaL_checkversion(L);
  static const luaL_Reg functions[] = {{"newproto", newproto},   {"deleteproto", deleteproto},
                                       {"dumpproto", dumpproto}, {"querytype", querytype},
                                       {"protocol", protocol},   {"encode", encode},
                                       {"decode", decode},       {"pack", pack},
                                       {"unpack", unpack},       {"saveproto", saveproto},
                                       {"loadproto", loadproto}, {"default", default_table},
                                       {nullptr, nullptr}};
  luaL_newlib(L, functions);
  return 1;
}

}  // namespace starling::lua
