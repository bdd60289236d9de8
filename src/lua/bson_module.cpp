#include "lua/bson_module.hpp"

#include <bit>
#include <charconv>
#include <cstdlib>
#include <cstring>
#include <new>
#include <string>
#include <string_view>

#include "lua/protected.hpp"
#include "seri/bson.hpp"

namespace starling::lua {

namespace {

constexpr const char* bson_metatable = "bson";

using bson::type;

std::string_view view_at(lua_State* L, int index) {
  std::size_t size = 0;
  const char* s = lua_tolstring(L, index, &size);
  return {s, size};
}

// ---- encoding: Lua values onto bson::writer, all of it under lua::protect ----
//
// The frames below hold only trivially destructible values: a Lua error (a metamethod that
// raises, no memory) may leave them by longjmp. bson::error comes out as a C++ exception.

void append_value(lua_State* L, bson::writer& w, std::string_view key, int depth);

void append_key_value(lua_State* L, bson::writer& w, int depth) {
  // key at -2, value at -1
  switch (lua_type(L, -2)) {
    case LUA_TNUMBER:
      throw bson::error("Bson dictionary's key can't be number");
    case LUA_TSTRING:
      append_value(L, w, view_at(L, -2), depth);
      return;
    default:
      throw bson::error(std::string("Invalid key type : ") + luaL_typename(L, -2));
  }
}

// The table on the stack top as a document, in next() order.
void pack_plain_dict(lua_State* L, bson::writer& w, int depth) {
  const std::size_t at = w.begin();
  lua_pushnil(L);
  while (lua_next(L, -2) != 0) {
    append_key_value(L, w, depth);
    lua_pop(L, 1);
  }
  w.end(at);
}

// The table below its __pairs function (stack top) as a document, in the order __pairs gives.
void pack_pairs_dict(lua_State* L, bson::writer& w, int depth) {
  const std::size_t at = w.begin();
  lua_pushvalue(L, -2);
  lua_call(L, 1, 3);  // t pairs -> t f s k
  for (;;) {
    lua_pushvalue(L, -3);
    lua_pushvalue(L, -3);
    lua_pushvalue(L, -3);
    lua_call(L, 2, 2);  // t f s k -> t f s k k' v
    if (lua_isnil(L, -2)) {
      lua_pop(L, 5);
      break;
    }
    append_key_value(L, w, depth);
    lua_pop(L, 1);
    lua_replace(L, -2);  // k' replaces k
  }
  w.end(at);
}

void pack_array(lua_State* L, bson::writer& w, int depth, lua_Integer size) {
  const std::size_t at = w.begin();
  char key[24];
  for (lua_Integer i = 1; i <= size; ++i) {
    const auto written = std::to_chars(key, key + sizeof key, i - 1);
    lua_geti(L, -1, i);
    append_value(L, w, std::string_view(key, static_cast<std::size_t>(written.ptr - key)), depth);
    lua_pop(L, 1);
  }
  w.end(at);
}

// skynet's array test: the first key next() gives is 1, or an integer within the raw length.
bool is_raw_array(lua_State* L) {
  lua_pushnil(L);
  if (lua_next(L, -2) == 0) return false;  // an empty table is a document
  const lua_Integer first = lua_isinteger(L, -2) != 0 ? lua_tointeger(L, -2) : 0;
  lua_pop(L, 2);
  if (first <= 1) return first == 1;
  return static_cast<lua_Unsigned>(first) <= lua_rawlen(L, -1);
}

void append_table(lua_State* L, bson::writer& w, std::string_view key, int depth) {
  if (depth > bson::max_encode_depth) throw bson::error("Too depth while encoding bson");
  luaL_checkstack(L, 16, nullptr);
  if (luaL_getmetafield(L, -1, "__len") != LUA_TNIL) {
    lua_pushvalue(L, -2);
    lua_call(L, 1, 1);
    if (lua_isinteger(L, -1) == 0) throw bson::error("__len should return integer");
    const lua_Integer size = lua_tointeger(L, -1);
    lua_pop(L, 1);
    w.key(type::array, key);
    pack_array(L, w, depth, size);
  } else if (luaL_getmetafield(L, -1, "__pairs") != LUA_TNIL) {
    w.key(type::document, key);
    pack_pairs_dict(L, w, depth);
  } else if (is_raw_array(L)) {
    w.key(type::array, key);
    pack_array(L, w, depth, static_cast<lua_Integer>(lua_rawlen(L, -1)));
  } else {
    w.key(type::document, key);
    pack_plain_dict(L, w, depth);
  }
}

// An already encoded document: a bson userdata, or a pointer the caller vouches for.
std::string_view embedded_document(lua_State* L) {
  const char* doc = static_cast<const char*>(lua_touserdata(L, -1));
  const std::size_t size = lua_type(L, -1) == LUA_TUSERDATA ? lua_rawlen(L, -1) : 0;
  if (doc == nullptr || (lua_type(L, -1) == LUA_TUSERDATA && size < 5)) {
    throw bson::error("Invalid embedded bson document");
  }
  const auto length = static_cast<std::int32_t>(bson::load_le32(doc));
  if (length < 5 || (size > 0 && static_cast<std::size_t>(length) > size)) {
    throw bson::error("Invalid embedded bson document");
  }
  return {doc, static_cast<std::size_t>(length)};
}

void append_value(lua_State* L, bson::writer& w, std::string_view key, int depth) {
  switch (lua_type(L, -1)) {
    case LUA_TNUMBER:
      if (lua_isinteger(L, -1) != 0) {
        w.integer(key, lua_tointeger(L, -1));
      } else {
        w.real_element(key, lua_tonumber(L, -1));
      }
      return;
    case LUA_TLIGHTUSERDATA:
    case LUA_TUSERDATA: {
      const std::string_view doc = embedded_document(L);
      w.key(type::document, key);
      w.raw(doc);
      return;
    }
    case LUA_TSTRING: {
      const std::string_view s = view_at(L, -1);
      if (s.size() > 1 && s[0] == '\0') {
        w.special(key, s);
      } else {
        w.string_element(key, s);
      }
      return;
    }
    case LUA_TTABLE:
      append_table(L, w, key, depth + 1);
      return;
    case LUA_TBOOLEAN:
      w.boolean_element(key, lua_toboolean(L, -1) != 0);
      return;
    case LUA_TNIL:
      throw bson::error("Bson array has a hole (nil), Use bson.null instead");
    default:
      throw bson::error(std::string("Invalid value type : ") + luaL_typename(L, -1));
  }
}

void new_bson_userdata(lua_State* L, const std::string& bytes) {
  void* ud = lua_newuserdatauv(L, bytes.size(), 1);
  std::memcpy(ud, bytes.data(), bytes.size());
  luaL_setmetatable(L, bson_metatable);
}

// Runs `fill(L, writer)` under lua::protect over the `nargs` arguments, then pushes the bytes as
// a bson userdata. bson::error is raised without a position, as skynet's encoder raises it
// from inside its own protected call.
template <class Fill>
int encode_with(lua_State* L, int nargs, Fill fill) {
  cxx_failure failure;
  int n = 0;
  {
    // The storage is kept for the next call on this thread: a document is not grown from
    // empty each time (a nested encode, from a metamethod, finds it taken and starts anew).
    constexpr std::size_t keep_capacity = std::size_t{64} * 1024;
    thread_local std::string spare;
    std::string bytes = std::move(spare);
    bytes.clear();
    bytes.reserve(256);
    n = protect(
        L, nargs,
        [&](lua_State* S) {
          char text[256];
          bool failed = false;
          try {
            bson::writer w(bytes);
            fill(S, w);
          } catch (const bson::error& e) {
            std::strncpy(text, e.what(), sizeof text - 1);
            text[sizeof text - 1] = '\0';
            failed = true;
          }
          if (failed) {
            lua_pushstring(S, text);
            return lua_error(S);
          }
          new_bson_userdata(S, bytes);
          return 1;
        },
        failure);
    if (bytes.capacity() <= keep_capacity) spare = std::move(bytes);
  }
  if (n >= 0) return n;
  if (failure.failed()) failure.raise(L);
  return lua_error(L);
}

int encode(lua_State* L) {
  lua_settop(L, 1);
  luaL_checktype(L, 1, LUA_TTABLE);
  return encode_with(L, 1, [](lua_State* S, bson::writer& w) {
    if (luaL_getmetafield(S, 1, "__pairs") != LUA_TNIL) {
      pack_pairs_dict(S, w, 0);
    } else {
      pack_plain_dict(S, w, 0);
    }
  });
}

int encode_order(lua_State* L) {
  const int n = lua_gettop(L);
  if (n % 2 != 0) return luaL_error(L, "Invalid ordered dict");
  return encode_with(L, n, [n](lua_State* S, bson::writer& w) {
    const std::size_t at = w.begin();
    for (int i = 1; i < n; i += 2) {
      if (lua_type(S, i) != LUA_TSTRING && lua_type(S, i) != LUA_TNUMBER) {
        throw bson::error("Argument " + std::to_string(i) + " need a string");
      }
      lua_tolstring(S, i, nullptr);  // a number key becomes its string, in place
      const std::string_view key = view_at(S, i);
      lua_pushvalue(S, i + 1);
      append_value(S, w, key, 0);
      lua_pop(S, 1);
    }
    w.end(at);
  });
}

// ---- decoding: bson::reader onto Lua values, under lua::protect ----

void push_special(lua_State* L, type t, std::string_view a, std::string_view b = {}) {
  luaL_Buffer buffer;
  luaL_buffinit(L, &buffer);
  luaL_addchar(&buffer, '\0');
  luaL_addchar(&buffer, static_cast<char>(t));
  luaL_addlstring(&buffer, a.data(), a.size());
  luaL_addlstring(&buffer, b.data(), b.size());
  luaL_pushresult(&buffer);
}

void push_document(lua_State* L, bson::reader r, bool array);

void push_value(lua_State* L, const bson::reader& r, const bson::element& e) {
  char fixed[8];
  switch (e.kind) {
    case type::real:
      lua_pushnumber(L, e.real);
      return;
    case type::boolean:
      lua_pushboolean(L, e.integer != 0 ? 1 : 0);
      return;
    case type::string:
      lua_pushlstring(L, e.bytes.data(), e.bytes.size());
      return;
    case type::document:
    case type::array:
      push_document(L, r.child(e), e.kind == type::array);
      return;
    case type::binary:
      fixed[0] = static_cast<char>(e.subtype);
      push_special(L, e.kind, std::string_view(fixed, 1), e.bytes);
      return;
    case type::objectid:
      push_special(L, e.kind, e.bytes);
      return;
    case type::date:
      // Seconds, truncated toward zero, cut to 32 bits.
      bson::store_le32(fixed, static_cast<std::uint32_t>(e.integer / 1000));
      push_special(L, e.kind, std::string_view(fixed, 4));
      return;
    case type::null:
    case type::minkey:
    case type::maxkey:
      push_special(L, e.kind, {});
      return;
    case type::regex:
      push_special(L, e.kind, std::string_view(e.bytes.data(), e.bytes.size() + 1),
                   std::string_view(e.options.data(), e.options.size() + 1));  // with the NULs
      return;
    case type::int32:
    case type::int64:
      lua_pushinteger(L, e.integer);
      return;
    case type::timestamp:
      bson::store_le32(fixed, e.increment);
      bson::store_le32(fixed + 4, e.seconds);
      push_special(L, e.kind, std::string_view(fixed, 8));
      return;
    default:  // dbpointer, jscode, symbol, codews: the body as it is
      push_special(L, e.kind, e.bytes);
      return;
  }
}

// An array element's index: its key's leading decimal number plus one (C strtol, cut to int).
lua_Integer array_index(std::string_view key) {
  const long n = std::strtol(key.data(), nullptr, 10);  // the key is followed by its NUL
  return static_cast<std::int32_t>(static_cast<std::uint32_t>(static_cast<unsigned long>(n) + 1));
}

constexpr int max_presize = 1 << 20;

void push_document(lua_State* L, bson::reader r, bool array) {
  luaL_checkstack(L, 16, nullptr);
  // A first pass counts the elements, so the table is sized once: growing it step by step
  // (and freeing each smaller part) cost more than reading the element headers twice. A bad
  // element ends the count only: the second pass raises, after the errors of the elements
  // before it, as a single pass would.
  bson::element e;
  int count = 0;
  try {
    for (bson::reader counter = r; count < max_presize && counter.next(e);)
      ++count;
  } catch (const bson::error&) {
  }
  lua_createtable(L, array ? count : 0, array ? 0 : count);
  while (r.next(e)) {
    if (array) {
      push_value(L, r, e);
      lua_rawseti(L, -2, array_index(e.key));
    } else {
      lua_pushlstring(L, e.key.data(), e.key.size());
      push_value(L, r, e);
      lua_rawset(L, -3);
    }
  }
}

// The document at `index`: a bson userdata (its size known), or a pointer to one whose
// length field is trusted (the mongo driver hands replies over as light userdata).
std::string_view document_at(lua_State* L, int index) {
  const char* p = static_cast<const char*>(lua_touserdata(L, index));
  if (p == nullptr) return {};
  if (lua_type(L, index) == LUA_TUSERDATA) return {p, lua_rawlen(L, index)};
  const auto length = static_cast<std::int32_t>(bson::load_le32(p));
  return {p, length > 4 ? static_cast<std::size_t>(length) : 4};
}

int decode(lua_State* L) {
  const std::string_view doc = document_at(L, 1);
  if (doc.data() == nullptr) return 0;  // anything but a userdata: no values, as skynet
  cxx_failure failure;
  const int n = protect(
      L, 0,
      [doc](lua_State* S) {
        push_document(S, bson::reader(doc), false);
        return 1;
      },
      failure);
  if (n >= 0) return n;
  if (failure.failed()) failure.raise(L);
  return lua_error(L);
}

// ---- the userdata: tostring, #, makeindex, in-place replacement ----

constexpr int type_bits = 8;

std::string_view own_bytes(lua_State* L) {
  const auto* p = static_cast<const char*>(luaL_checkudata(L, 1, bson_metatable));
  return {p, lua_rawlen(L, 1)};
}

int to_string(lua_State* L) {
  const std::string_view bytes = own_bytes(L);
  lua_pushlstring(L, bytes.data(), bytes.size());
  return 1;
}

int length(lua_State* L) {
  lua_pushinteger(L, static_cast<lua_Integer>(own_bytes(L).size()));
  return 1;
}

bool fixed_size(type t) {
  switch (t) {
    case type::real:
    case type::boolean:
    case type::objectid:
    case type::date:
    case type::timestamp:
    case type::int32:
    case type::int64:
      return true;
    default:
      return false;
  }
}

// b:makeindex(): the offsets of the top-level fixed-size values, in b's user value.
int makeindex(lua_State* L) {
  const std::string_view bytes = own_bytes(L);
  lua_settop(L, 1);
  cxx_failure failure;
  const int n = protect(
      L, 0,
      [bytes](lua_State* S) {
        lua_newtable(S);
        bson::reader r(bytes);
        bson::element e;
        while (r.next(e)) {
          if (!fixed_size(e.kind)) continue;
          lua_pushlstring(S, e.key.data(), e.key.size());
          lua_pushinteger(S, static_cast<lua_Integer>(e.offset) << type_bits |
                                 static_cast<lua_Integer>(e.kind));
          lua_rawset(S, -3);
        }
        return 1;
      },
      failure);
  if (n < 0) {
    if (failure.failed()) failure.raise(L);
    return lua_error(L);
  }
  lua_setiuservalue(L, 1, 1);
  return 1;
}

// The special string at 3 must be of type `t` and `size` bytes after its prefix.
const char* replacement(lua_State* L, type t, std::size_t size, const char* invalid) {
  std::size_t len = 0;
  const char* data = luaL_checklstring(L, 3, &len);
  if (len < 6 || data[0] != '\0' ||
      static_cast<std::uint8_t>(data[1]) != static_cast<std::uint8_t>(t)) {
    luaL_error(L, "Type mismatch, need bson type %d", static_cast<int>(t));
  }
  if (len != size + 2) luaL_error(L, "%s", invalid);
  return data + 2;
}

// b.key = v: overwrites a value makeindex recorded, in place.
int replace(lua_State* L) {
  char* bytes = static_cast<char*>(luaL_checkudata(L, 1, bson_metatable));
  const std::size_t size = lua_rawlen(L, 1);
  if (lua_getiuservalue(L, 1, 1) != LUA_TTABLE) return luaL_error(L, "call makeindex first");
  lua_pushvalue(L, 2);
  if (lua_rawget(L, -2) != LUA_TNUMBER) {
    return luaL_error(L, "Can't replace key : %s", luaL_tolstring(L, 2, nullptr));
  }
  const lua_Integer id = lua_tointeger(L, -1);
  const auto t = static_cast<type>(id & ((1 << type_bits) - 1));
  const auto offset = static_cast<std::size_t>(id >> type_bits);
  char* at = bytes + offset;
  const std::size_t room = offset < size ? size - offset : 0;
  switch (t) {
    case type::real:
      if (room >= 8) bson::store_le64(at, std::bit_cast<std::uint64_t>(luaL_checknumber(L, 3)));
      break;
    case type::boolean:
      if (room >= 1) *at = lua_toboolean(L, 3) != 0 ? '\1' : '\0';
      break;
    case type::objectid:
      if (room >= 12) std::memcpy(at, replacement(L, t, 12, "Invalid object id"), 12);
      break;
    case type::date:
      if (room >= 8) {
        const char* d = replacement(L, t, 4, "Invalid date");
        bson::store_le64(at, static_cast<std::uint64_t>(bson::load_le32(d)) * 1000);
      }
      break;
    case type::timestamp:
      if (room >= 8) std::memcpy(at, replacement(L, t, 8, "Invalid timestamp"), 8);
      break;
    case type::int32:
      if (lua_isinteger(L, 3) == 0) {
        return luaL_error(L, "%f must be a 32bit integer ", lua_tonumber(L, 3));
      }
      if (room >= 4) bson::store_le32(at, static_cast<std::uint32_t>(lua_tointeger(L, 3)));
      break;
    case type::int64:
      if (lua_isinteger(L, 3) == 0) {
        return luaL_error(L, "%f must be a 64bit integer ", lua_tonumber(L, 3));
      }
      if (room >= 8) bson::store_le64(at, static_cast<std::uint64_t>(lua_tointeger(L, 3)));
      break;
    default:
      return luaL_error(L, "Can't replace type %d", static_cast<int>(t));
  }
  return 0;
}

// ---- constructors and bson.type ----

int push_fixed(lua_State* L, type t, const char* body, std::size_t size) {
  char s[16] = {'\0', static_cast<char>(t)};
  std::memcpy(s + 2, body, size);
  lua_pushlstring(L, s, size + 2);
  return 1;
}

int date(lua_State* L) {
  char b[4];
  bson::store_le32(b, static_cast<std::uint32_t>(luaL_checkinteger(L, 1)));  // cut to a C int
  return push_fixed(L, type::date, b, 4);
}

int int64(lua_State* L) {
  char b[8];
  bson::store_le64(b, static_cast<std::uint64_t>(luaL_checkinteger(L, 1)));
  return push_fixed(L, type::int64, b, 8);
}

// bson.timestamp(t[, inc]): without an increment it is 0, as skynet's is under Lua 5.4.
int timestamp(lua_State* L) {
  const lua_Integer seconds = luaL_checkinteger(L, 1);
  char b[8];
  bson::store_le32(b, lua_isnoneornil(L, 2) ? 0U : static_cast<std::uint32_t>(lua_tointeger(L, 2)));
  bson::store_le32(b + 4, static_cast<std::uint32_t>(seconds));
  return push_fixed(L, type::timestamp, b, 8);
}

int regex(lua_State* L) {
  std::size_t plen = 0;
  std::size_t olen = 0;
  const char* pattern = luaL_checklstring(L, 1, &plen);
  const char* options = luaL_optlstring(L, 2, "", &olen);
  push_special(L, type::regex, std::string_view(pattern, plen + 1),
               std::string_view(options, olen + 1));
  return 1;
}

int binary(lua_State* L) {
  const std::string_view data = lua_isstring(L, 1) != 0 ? view_at(L, 1) : std::string_view();
  push_special(L, type::binary, std::string_view("\0", 1), data);
  return 1;
}

int objectid(lua_State* L) {
  const bson::objectid id =
      lua_isstring(L, 1) != 0
          ? native(L, [s = view_at(L, 1)] { return bson::objectid_from_hex(s); })
          : native(L, [] { return bson::new_objectid(); });
  return push_fixed(L, type::objectid, reinterpret_cast<const char*>(id.bytes.data()), 12);
}

int to_lightuserdata(lua_State* L) {
  lua_pushlightuserdata(L, lua_touserdata(L, 1));
  return 1;
}

int type_of_special(lua_State* L, std::string_view s) {
  const auto t = static_cast<type>(static_cast<std::uint8_t>(s[1]));
  const std::string_view body = s.substr(2);
  switch (t) {
    case type::binary:
      if (body.empty()) return luaL_error(L, "Invalid binary");
      lua_pushliteral(L, "binary");
      lua_pushlstring(L, body.data() + 1, body.size() - 1);
      lua_pushinteger(L, static_cast<std::uint8_t>(body[0]));
      return 3;
    case type::objectid: {
      if (body.size() != 12) return luaL_error(L, "Invalid object id");
      static constexpr char digits[] = "0123456789abcdef";
      char hex[24];
      for (std::size_t i = 0; i < 12; ++i) {
        const auto c = static_cast<std::uint8_t>(body[i]);
        hex[2 * i] = digits[c >> 4];
        hex[2 * i + 1] = digits[c & 0xf];
      }
      lua_pushliteral(L, "objectid");
      lua_pushlstring(L, hex, sizeof hex);
      return 2;
    }
    case type::date:
      if (body.size() != 4) return luaL_error(L, "Invalid date");
      lua_pushliteral(L, "date");
      lua_pushinteger(L, static_cast<std::int32_t>(bson::load_le32(body.data())));
      return 2;
    case type::timestamp:
      if (body.size() != 8) return luaL_error(L, "Invalid timestamp");
      lua_pushliteral(L, "timestamp");
      lua_pushinteger(L, bson::load_le32(body.data() + 4));
      lua_pushinteger(L, bson::load_le32(body.data()));
      return 3;
    case type::regex: {
      const std::string_view both = body.substr(0, body.empty() ? 0 : body.size() - 1);
      const std::size_t split = both.rfind('\0');
      if (split == std::string_view::npos) return luaL_error(L, "Invalid regex");
      lua_pushliteral(L, "regex");
      lua_pushlstring(L, both.data(), split);
      lua_pushlstring(L, both.data() + split + 1, both.size() - split - 1);
      return 3;
    }
    case type::minkey:
      lua_pushliteral(L, "minkey");
      return 1;
    case type::maxkey:
      lua_pushliteral(L, "maxkey");
      return 1;
    case type::null:
      lua_pushliteral(L, "nil");
      return 1;
    case type::jscode:
    case type::dbpointer:
    case type::symbol:
    case type::codews:
      lua_pushliteral(L, "unsupported");
      lua_pushlstring(L, body.data(), body.size());
      return 2;
    case type::int64:
      if (body.size() != 8) return luaL_error(L, "Invalid int64");
      lua_pushliteral(L, "int64");
      lua_pushinteger(L, static_cast<lua_Integer>(bson::load_le64(body.data())));
      return 2;
    default:
      return luaL_error(L, "Invalid subtype %d", static_cast<int>(t));
  }
}

// bson.type(v) -> the kind of value v encodes as, and what it holds.
int type_of(lua_State* L) {
  switch (lua_type(L, 1)) {
    case LUA_TNUMBER:
      lua_pushliteral(L, "number");
      break;
    case LUA_TBOOLEAN:
      lua_pushliteral(L, "boolean");
      break;
    case LUA_TTABLE:
      lua_pushliteral(L, "table");
      break;
    case LUA_TNIL:
      lua_pushliteral(L, "nil");
      return 1;
    case LUA_TSTRING: {
      const std::string_view s = view_at(L, 1);
      if (s.size() >= 2 && s[0] == '\0') return type_of_special(L, s);
      lua_pushliteral(L, "string");
      break;
    }
    default:
      return luaL_error(L, "Invalid type %s", luaL_typename(L, 1));
  }
  lua_pushvalue(L, 1);
  return 2;
}

}  // namespace

int open_bson(lua_State* L) {
  luaL_checkversion(L);
  if (luaL_newmetatable(L, bson_metatable) != 0) {
    const luaL_Reg methods[] = {{"decode", decode}, {"makeindex", makeindex}, {nullptr, nullptr}};
    luaL_newlib(L, methods);
    lua_setfield(L, -2, "__index");
    const luaL_Reg meta[] = {
        {"__tostring", to_string}, {"__len", length}, {"__newindex", replace}, {nullptr, nullptr}};
    luaL_setfuncs(L, meta, 0);
  }
  lua_pop(L, 1);

  const luaL_Reg functions[] = {
      {"encode", encode},       {"encode_order", encode_order},
      {"decode", decode},       {"date", date},
      {"timestamp", timestamp}, {"regex", regex},
      {"binary", binary},       {"objectid", objectid},
      {"int64", int64},         {"to_lightuserdata", to_lightuserdata},
      {"type", type_of},        {nullptr, nullptr},
  };
  luaL_newlib(L, functions);
  lua_pushlstring(L, "\0\x0a", 2);
  lua_setfield(L, -2, "null");
  lua_pushlstring(L, "\0\xff", 2);
  lua_setfield(L, -2, "minkey");
  lua_pushlstring(L, "\0\x7f", 2);
  lua_setfield(L, -2, "maxkey");
  return 1;
}

}  // namespace starling::lua
