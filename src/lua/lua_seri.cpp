#include "lua/lua_seri.hpp"

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <exception>
#include <span>
#include <string>
#include <string_view>

#include "base/payload.hpp"
#include "lua/protected.hpp"
#include "seri/error.hpp"
#include "seri/format.hpp"
#include "seri/reader.hpp"
#include "seri/writer.hpp"

// Errors and the two unwinding mechanisms
// ---------------------------------------
// Debian's Lua is built as C: lua_error longjmps (lua/protected.hpp states the rule). Packing
// owns a writer (a malloc'd buffer) while it walks tables, which may run __pairs and fail: the
// writer lives in run_packer's frame and the walk runs under lua::protect, so the writer is
// always destroyed normally and the error raised again afterwards. Inside, Lua errors may
// longjmp over the walking frames: they hold only trivial locals. C++ exceptions (from the
// writer, or our own error texts) become Lua errors at the protected call's boundary.
//
// Unpacking never throws C++ exceptions: it reads the bytes itself, raises errors with
// lua_error directly, and keeps its state (the open-table frames) in trivial locals and a
// Lua userdata, so a longjmp from anywhere leaks nothing. That also saves the pcall on the
// hot path.

namespace starling::lua {
namespace {

namespace format = seri::format;

// ---- packing -------------------------------------------------------------------

[[noreturn]] void throw_unsupported(lua_State* L, int type) {
  throw seri::error(std::string("Unsupport type ") + lua_typename(L, type) + " to serialize");
}

void pack_value(lua_State* L, seri::writer& w, int index, int depth);

// Packs the pairs a __pairs metamethod yields (docs/SERI.md, "Tables"): header 06, every pair
// in iterator order, integer keys included. The metamethod is on the stack top.
void pack_metapairs(lua_State* L, seri::writer& w, int index, int depth) {
  w.begin_table(0);
  lua_pushvalue(L, index);
  lua_call(L, 1, 3);  // f, s, control; errors propagate unchanged
  for (;;) {
    lua_pushvalue(L, -3);
    lua_pushvalue(L, -3);
    lua_pushvalue(L, -3);
    lua_call(L, 2, 2);  // k, v = f(s, control)
    if (lua_type(L, -2) == LUA_TNIL) {
      lua_pop(L, 5);
      break;
    }
    const int top = lua_gettop(L);
    pack_value(L, w, top - 1, depth + 1);
    pack_value(L, w, top, depth + 1);
    lua_pop(L, 1);
    lua_replace(L, -2);  // k is the next control value
  }
  w.end_table();
}

void pack_table(lua_State* L, seri::writer& w, int index, int depth) {
  luaL_checkstack(L, LUA_MINSTACK, nullptr);
  if (luaL_getmetafield(L, index, "__pairs") != LUA_TNIL) {
    pack_metapairs(L, w, index, depth);
    return;
  }
  const lua_Unsigned n = lua_rawlen(L, index);
  w.begin_table(n);
  for (lua_Unsigned i = 1; i <= n; ++i) {
    lua_rawgeti(L, index, static_cast<lua_Integer>(i));
    pack_value(L, w, lua_gettop(L), depth + 1);
    lua_pop(L, 1);
  }
  lua_pushnil(L);
  while (lua_next(L, index) != 0) {
    // Integer keys 1..n went into the array part.
    if (lua_isinteger(L, -2)) {
      const lua_Integer k = lua_tointeger(L, -2);
      if (k >= 1 && static_cast<lua_Unsigned>(k) <= n) {
        lua_pop(L, 1);
        continue;
      }
    }
    const int top = lua_gettop(L);
    pack_value(L, w, top - 1, depth + 1);
    pack_value(L, w, top, depth + 1);
    lua_pop(L, 1);
  }
  w.end_table();
}

// `index` is absolute. Depth first, as skynet does: a function too deep reports the depth.
void pack_value(lua_State* L, seri::writer& w, int index, int depth) {
  if (depth > seri::writer::max_depth) throw seri::error("serialize can't pack too depth table");
  const int type = lua_type(L, index);
  switch (type) {
    case LUA_TNIL:
      w.write_nil();
      break;
    case LUA_TBOOLEAN:
      w.write_bool(lua_toboolean(L, index) != 0);
      break;
    case LUA_TNUMBER:
      if (lua_isinteger(L, index)) {
        w.write_integer(lua_tointeger(L, index));
      } else {
        w.write_real(lua_tonumber(L, index));
      }
      break;
    case LUA_TSTRING: {
      std::size_t length = 0;
      const char* s = lua_tolstring(L, index, &length);
      w.write_string(std::string_view(s, length));
      break;
    }
    case LUA_TLIGHTUSERDATA:
      w.write_light_userdata(reinterpret_cast<std::uintptr_t>(lua_touserdata(L, index)));
      break;
    case LUA_TTABLE:
      pack_table(L, w, index, depth);
      break;
    default:
      throw_unsupported(L, type);
  }
}

enum class result_kind { pointer, string };

// Protected body (lua::protect): the values to pack are the stack. Pushes the result.
int pack_body(lua_State* L, seri::writer& w, result_kind kind) {
  const int top = lua_gettop(L);
  for (int i = 1; i <= top; ++i)
    pack_value(L, w, i, 0);
  if (kind == result_kind::string) {
    const auto bytes = w.bytes();
    lua_pushlstring(L, reinterpret_cast<const char*>(bytes.data()), bytes.size());
    return 1;
  }
  std::size_t size = 0;
  void* block = nullptr;
  {
    payload bytes = w.finish();
    size = bytes.size();
    block = bytes.release_malloced();
  }
  // Neither push allocates, so the block cannot leak between here and the caller.
  lua_pushlightuserdata(L, block);
  lua_pushinteger(L, static_cast<lua_Integer>(size));
  return 2;
}

// Owns the writer across the protected call; returns protect's count of results (-1: failed).
int run_packer(lua_State* L, result_kind kind, cxx_failure& failure) {
  seri::writer w;
  return protect(
      L, lua_gettop(L), [&](lua_State* S) { return pack_body(S, w, kind); }, failure);
}

// ---- unpacking -----------------------------------------------------------------

namespace line = format::line;

struct cursor {
  const unsigned char* pos;
  const unsigned char* end;
  [[nodiscard]] std::size_t remaining() const { return static_cast<std::size_t>(end - pos); }
};

[[noreturn]] void fail(lua_State* L, const cursor& c, int line_number) {
  // luaL_error, as skynet: called from Lua, the message gets the caller's position.
  luaL_error(L, "Invalid serialize stream %I (line:%d)", static_cast<lua_Integer>(c.remaining()),
             line_number);
  __builtin_unreachable();
}

template <class T>
T take(lua_State* L, cursor& c, int line_number) {
  if (c.remaining() < sizeof(T)) fail(L, c, line_number);
  T v;
  std::memcpy(&v, c.pos, sizeof v);
  c.pos += sizeof v;
  return v;
}

lua_Integer integer_body(lua_State* L, cursor& c, unsigned cookie) {
  switch (cookie) {
    case format::number_zero:
      return 0;
    case format::number_byte:
      return take<std::uint8_t>(L, c, line::byte_body);
    case format::number_word:
      return take<std::uint16_t>(L, c, line::word_body);
    case format::number_dword:
      return take<std::int32_t>(L, c, line::dword_body);  // signed
    case format::number_qword:
      return take<std::int64_t>(L, c, line::qword_body);
    default:
      fail(L, c, line::bad_integer_cookie);
  }
}

// Pushes the non-table value whose tag was just consumed.
void push_scalar(lua_State* L, cursor& c, unsigned tag) {
  const unsigned cookie = tag >> 3;
  switch (tag & 7) {
    case format::type_nil:
      lua_pushnil(L);
      return;
    case format::type_boolean:
      lua_pushboolean(L, cookie != 0);
      return;
    case format::type_number:
      if (cookie == format::number_real) {
        lua_pushnumber(L, take<double>(L, c, line::real_body));
      } else {
        lua_pushinteger(L, integer_body(L, c, cookie));
      }
      return;
    case format::type_userdata: {
      const auto address = take<std::uint64_t>(L, c, line::userdata_body);
      // NOLINTNEXTLINE(performance-no-int-to-ptr): skynet packs a light userdata as its address
      lua_pushlightuserdata(L, reinterpret_cast<void*>(static_cast<std::uintptr_t>(address)));
      return;
    }
    case format::type_short_string:
    case format::type_long_string: {
      std::size_t length = cookie;
      if ((tag & 7) == format::type_long_string) {
        if (cookie == 2) {
          length = take<std::uint16_t>(L, c, line::word_length);
        } else if (cookie == 4) {
          length = take<std::uint32_t>(L, c, line::dword_length);
        } else {
          fail(L, c, line::bad_long_string_cookie);
        }
      }
      if (c.remaining() < length) fail(L, c, line::string_body);
      lua_pushlstring(L, reinterpret_cast<const char*>(c.pos), length);
      c.pos += length;
      return;
    }
    default:
      fail(L, c, line::bad_type);
  }
}

// Array count of a table tag; cut to a C int like skynet, negative meaning none.
lua_Integer table_count(lua_State* L, cursor& c, unsigned cookie) {
  if (cookie != format::table_count_follows) return cookie;
  if (c.remaining() == 0) fail(L, c, line::count_tag_missing);
  const unsigned tag = *c.pos++;
  if ((tag & 7) != format::type_number || (tag >> 3) == format::number_real) {
    fail(L, c, line::count_tag_not_integer);
  }
  const auto count = static_cast<std::int32_t>(integer_body(L, c, tag >> 3));
  return count < 0 ? 0 : count;
}

// One table being filled; it sits on the Lua stack (with its pending key, if any).
struct frame {
  enum stage : unsigned char { array, key, value };
  lua_Integer count;  // array items announced
  lua_Integer next;   // next array slot
  stage at;
};

// Decodes every value of [data, data + size) onto the stack; returns how many. Stack slot
// `anchor` holds the frame storage once it outgrows the C stack.
int decode(lua_State* L, const unsigned char* data, std::size_t size, int anchor) {
  constexpr std::size_t inline_frames = 32;
  frame local[inline_frames];
  frame* frames = local;
  std::size_t capacity = inline_frames;
  std::size_t depth = 0;
  // Each array item takes a byte or more, so all size hints together never exceed the input:
  // lying counts cannot make us allocate more than the message could fill.
  std::size_t hint_budget = size;
  cursor c{data, data + size};
  int values = 0;

  for (;;) {
    frame* f = depth == 0 ? nullptr : &frames[depth - 1];
    if (f == nullptr) {
      if (c.remaining() == 0) break;  // the end between values ends the message
      luaL_checkstack(L, 1, "too many values to unpack");
    } else {
      if (f->at == frame::array && f->next > f->count) f->at = frame::key;
      if (c.remaining() == 0) fail(L, c, line::table_truncated);
    }
    const unsigned tag = *c.pos++;

    if ((tag & 7) == format::type_table) {
      if (depth >= seri::reader::max_depth) {
        luaL_error(L, "Invalid serialize stream %I (depth limit %I)",
                   static_cast<lua_Integer>(c.remaining()),
                   static_cast<lua_Integer>(seri::reader::max_depth));
      }
      const lua_Integer count = table_count(L, c, tag >> 3);
      if (depth == capacity) {
        // Frames move to a Lua userdata (anchored in its slot) so a longjmp frees them too.
        const std::size_t bigger = capacity * 2;
        auto* grown = static_cast<frame*>(lua_newuserdatauv(L, bigger * sizeof(frame), 0));
        std::memcpy(grown, frames, depth * sizeof(frame));
        lua_replace(L, anchor);
        frames = grown;
        capacity = bigger;
      }
      luaL_checkstack(L, 3, "table too deep to unpack");
      const std::size_t hint = std::min(static_cast<std::size_t>(count), hint_budget);
      hint_budget -= hint;
      lua_createtable(L, static_cast<int>(hint), 0);
      frames[depth++] = frame{count, 1, count > 0 ? frame::array : frame::key};
      continue;
    }

    if (f != nullptr && f->at == frame::key && (tag & 7) == format::type_nil) {
      // Terminator: the table is complete on the stack top; hand it to its parent below.
      --depth;
    } else {
      push_scalar(L, c, tag);
    }

    // Hand the value on the stack top to the innermost open table (or the results),
    // closing no further tables: a parent only closes on its own terminator.
    if (depth == 0) {
      ++values;
      continue;
    }
    frame& parent = frames[depth - 1];
    switch (parent.at) {
      case frame::array:
        lua_rawseti(L, -2, parent.next++);
        break;
      case frame::key:
        parent.at = frame::value;  // the key waits on the stack for its value
        break;
      case frame::value:
        lua_rawset(L, -3);  // raw, in stream order; a NaN key is Lua's own error
        parent.at = frame::key;
        break;
    }
  }
  return values;
}

}  // namespace

namespace {

// Runs the packer and raises its error, if any, from this frame (nothing left to destroy).
int pack_entry(lua_State* L, result_kind kind) {
  cxx_failure failure;
  const int n = run_packer(L, kind, failure);
  if (n >= 0) return n;
  // Our own texts get the Lua caller's position, as skynet's luaL_error gives them.
  if (failure.failed()) failure.raise(L);
  return lua_error(L);  // from Lua code: unchanged
}

}  // namespace

int pack(lua_State* L) {
  return pack_entry(L, result_kind::pointer);
}

int packstring(lua_State* L) {
  return pack_entry(L, result_kind::string);
}

int unpack(lua_State* L) {
  if (lua_isnoneornil(L, 1)) return 0;
  const void* data = nullptr;
  std::size_t size = 0;
  if (lua_type(L, 1) == LUA_TSTRING) {
    data = lua_tolstring(L, 1, &size);
  } else {
    data = lua_touserdata(L, 1);
    const lua_Integer sz = luaL_checkinteger(L, 2);
    luaL_argcheck(L, sz >= 0, 2, "negative size");
    size = static_cast<std::size_t>(sz);
  }
  if (size == 0) return 0;
  if (data == nullptr) return luaL_error(L, "deserialize null pointer");
  lua_settop(L, 1);  // a string argument keeps the bytes alive
  lua_pushnil(L);    // slot 2: frame storage for deep messages
  return decode(L, static_cast<const unsigned char*>(data), size, 2);
}

namespace {

// The common message: a few scalars and short strings, small enough for a payload's inline
// storage. Encoded straight into a stack buffer; false (nothing done) for anything else.
bool pack_small(lua_State* L, int first, int last, payload& out) {
  std::uint8_t buffer[payload::inline_capacity];
  std::size_t n = 0;
  constexpr std::size_t room = sizeof buffer;
  for (int i = first; i <= last; ++i) {
    switch (lua_type(L, i)) {
      case LUA_TNIL:
        if (n + 1 > room) return false;
        buffer[n++] = format::tag(format::type_nil, 0);
        break;
      case LUA_TBOOLEAN:
        if (n + 1 > room) return false;
        buffer[n++] = format::tag(format::type_boolean, lua_toboolean(L, i) != 0 ? 1 : 0);
        break;
      case LUA_TNUMBER: {
        if (n + 9 > room) return false;
        if (lua_isinteger(L, i) == 0) {
          const double v = lua_tonumber(L, i);
          buffer[n] = format::tag(format::type_number, format::number_real);
          std::memcpy(buffer + n + 1, &v, 8);
          n += 9;
          break;
        }
        const lua_Integer v = lua_tointeger(L, i);
        if (v == 0) {
          buffer[n++] = format::tag(format::type_number, format::number_zero);
        } else if (v < INT32_MIN || v > INT32_MAX) {
          buffer[n] = format::tag(format::type_number, format::number_qword);
          const std::int64_t q = v;
          std::memcpy(buffer + n + 1, &q, 8);
          n += 9;
        } else if (v > 0 && v < 0x100) {
          buffer[n] = format::tag(format::type_number, format::number_byte);
          buffer[n + 1] = static_cast<std::uint8_t>(v);
          n += 2;
        } else if (v > 0 && v < 0x10000) {
          buffer[n] = format::tag(format::type_number, format::number_word);
          const auto w = static_cast<std::uint16_t>(v);
          std::memcpy(buffer + n + 1, &w, 2);
          n += 3;
        } else {
          buffer[n] = format::tag(format::type_number, format::number_dword);
          const auto d = static_cast<std::int32_t>(v);
          std::memcpy(buffer + n + 1, &d, 4);
          n += 5;
        }
        break;
      }
      case LUA_TSTRING: {
        std::size_t length = 0;
        const char* text = lua_tolstring(L, i, &length);
        if (length > format::max_short_string || n + 1 + length > room) return false;
        buffer[n] = format::tag(format::type_short_string, static_cast<std::uint8_t>(length));
        std::memcpy(buffer + n + 1, text, length);
        n += 1 + length;
        break;
      }
      default:
        return false;
    }
  }
  out = payload::copy_of(std::as_bytes(std::span(buffer, n)));
  return true;
}

bool all_plain(lua_State* L, int first, int last) {
  for (int i = first; i <= last; ++i) {
    const int type = lua_type(L, i);
    if (type != LUA_TNIL && type != LUA_TBOOLEAN && type != LUA_TNUMBER && type != LUA_TSTRING) {
      return false;
    }
  }
  return true;
}

// Nothing here can raise a Lua error, so the writer is never skipped by a longjmp; a C++
// exception (out of memory) is raised once the writer is gone.
payload pack_plain(lua_State* L, int first, int last) {
  cxx_failure failure;
  {
    payload out;
    failure.run([&] {
      seri::writer w;
      for (int i = first; i <= last; ++i)
        pack_value(L, w, i, 0);
      out = w.finish();
    });
    if (!failure.failed()) return out;
  }
  failure.raise(L);
}

// Tables may run __pairs and fail: go through the protected packer. Trivial locals only.
payload pack_general(lua_State* L, int first, int last) {
  const int base = lua_gettop(L);
  // A copy of every value goes on the stack: more than a C function's guaranteed slots.
  luaL_checkstack(L, last - first + 2, "too many values to pack");
  lua_pushcfunction(L, pack);
  for (int i = first; i <= last; ++i)
    lua_pushvalue(L, i);
  lua_call(L, last - first + 1, 2);
  void* block = lua_touserdata(L, base + 1);
  const auto size = static_cast<std::size_t>(lua_tointeger(L, base + 2));
  lua_settop(L, base);
  return payload::adopt_malloced(block, size);
}

}  // namespace

payload pack_values(lua_State* L, int first, int last) {
  if (last < first) return {};
  if (payload small; pack_small(L, first, last, small)) return small;
  if (all_plain(L, first, last)) return pack_plain(L, first, last);
  return pack_general(L, first, last);
}

namespace {

// Messages without tables (most calls and replies): one stack check for the whole message
// instead of one per value, and no table frames. Returns the number of values pushed, or -1
// (with nothing left pushed) when the message holds a table: the full decoder takes it.
// Malformed scalars raise exactly as in the full decoder (same cursor, same push_scalar).
int decode_flat(lua_State* L, const unsigned char* data, std::size_t size) {
  // Each value takes at least one byte: one stack check covers a short message. Longer ones
  // (long strings, many values) go to the full decoder, which checks as it goes.
  constexpr std::size_t flat_limit = 256;
  if (size > flat_limit || !lua_checkstack(L, static_cast<int>(size))) return -1;
  const int base = lua_gettop(L);
  cursor c{data, data + size};
  int values = 0;
  while (c.remaining() != 0) {
    const unsigned tag = *c.pos++;
    if ((tag & 7) == format::type_table) {
      lua_settop(L, base);
      return -1;
    }
    push_scalar(L, c, tag);
    ++values;
  }
  return values;
}

}  // namespace

int push_unpacked(lua_State* L, const void* data, std::size_t size, int scratch) {
  if (size == 0) return 0;
  if (data == nullptr) return luaL_error(L, "deserialize null pointer");
  const auto* bytes = static_cast<const unsigned char*>(data);
  if (const int n = decode_flat(L, bytes, size); n >= 0) return n;
  return decode(L, bytes, size, lua_absindex(L, scratch));
}

int open_seri(lua_State* L) {
  luaL_checkversion(L);
  static const luaL_Reg functions[] = {
      {"pack", pack}, {"packstring", packstring}, {"unpack", unpack}, {nullptr, nullptr}};
  luaL_newlib(L, functions);
  return 1;
}

}  // namespace starling::lua

extern "C" int luaopen_starling_seri(lua_State* L) {
  return starling::lua::open_seri(L);
}
