#include "lua/cluster_core.hpp"

#include <unistd.h>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <span>
#include <string_view>
#include <type_traits>
#include <utility>

#include "lua/protected.hpp"
#include "net/cluster_wire.hpp"

// Lua errors longjmp (Debian's Lua is built as C), so no frame below may hold an object with a
// destructor when one is raised. The codec's types are views, trivially destructible, which
// these asserts keep true. A malloc'd message this module owns is released before any error
// that could follow it: pushes that may fail for memory run under lua::protect, the block is
// freed whatever they did, and only then is the error raised again.

namespace starling::lua {

namespace {

namespace wire = net::cluster;

static_assert(std::is_trivially_destructible_v<wire::request_frames>);
static_assert(std::is_trivially_destructible_v<wire::response_frames>);
static_assert(std::is_trivially_destructible_v<result<wire::request_frames, wire::wire_error>>);
static_assert(std::is_trivially_destructible_v<result<wire::request_part, wire::wire_error>>);
static_assert(std::is_trivially_destructible_v<result<wire::response_part, wire::wire_error>>);

void release(void* block) noexcept {
  std::free(block);  // NOLINT(*-no-malloc): message bodies are malloc'd (base/payload.hpp)
}

// A new message body for the runtime, or null when memory is out. Never null for 0 bytes:
// append refuses a null buffer, as skynet's does.
std::byte* new_block(std::size_t size) noexcept {
  // NOLINTNEXTLINE(*-no-malloc): message bodies are malloc'd (base/payload.hpp)
  return static_cast<std::byte*>(std::malloc(std::max<std::size_t>(size, 1)));
}

std::span<const std::byte> bytes_of(const void* data, std::size_t size) noexcept {
  return {static_cast<const std::byte*>(data), size};
}

// Raises the codec's text for `e` as luaL_error would: after the caller's position.
int raise(lua_State* L, const wire::wire_error& e) {
  luaL_where(L, 1);
  char text[128];
  const std::size_t size = wire::describe(e, text);
  if (size <= sizeof text) {
    lua_pushlstring(L, text, size);
  } else {  // a long name: the text goes straight into a Lua buffer
    luaL_Buffer b;
    char* at = luaL_buffinitsize(L, &b, size);
    wire::describe(e, std::span(at, size));
    luaL_pushresultsize(&b, size);
  }
  lua_concat(L, 2);
  return lua_error(L);
}

template <class Frames>
void push_frame(lua_State* L, const Frames& frames, std::size_t index) {
  const std::size_t size = frames.size(index);
  luaL_Buffer b;
  char* at = luaL_buffinitsize(L, &b, size);
  frames.write(index, std::as_writable_bytes(std::span(at, size)));
  luaL_pushresultsize(&b, size);
}

// Pushes a table of frames [first, count()) as its items 1, 2, ...
template <class Frames>
void push_frames(lua_State* L, const Frames& frames, std::size_t first) {
  lua_createtable(L, static_cast<int>(frames.count() - first), 0);
  for (std::size_t i = first; i < frames.count(); ++i) {
    push_frame(L, frames, i);
    lua_rawseti(L, -2, static_cast<lua_Integer>(i - first) + 1);
  }
}

// Pushes every frame joined in one new block, then its size and whether there are several: a
// message socketdriver.send takes over, one copy of the bytes where frames as strings and the
// send's own copy of them make two.
template <class Frames>
void push_block(lua_State* L, const Frames& frames) {
  std::size_t total = 0;
  for (std::size_t i = 0; i < frames.count(); ++i)
    total += frames.size(i);
  std::byte* block = new_block(total);
  if (block == nullptr) luaL_error(L, "not enough memory");
  std::size_t at = 0;
  for (std::size_t i = 0; i < frames.count(); ++i)
    at += frames.write(i, std::span(block + at, total - at));
  lua_pushlightuserdata(L, block);
  lua_pushinteger(L, static_cast<lua_Integer>(total));
  lua_pushboolean(L, frames.count() > 1 ? 1 : 0);
}

// Protected: block, size, split, next session.
int push_request_block(lua_State* L, const wire::request_frames& frames, lua_Integer next) {
  push_block(L, frames);
  lua_pushinteger(L, next);
  return 4;
}

// Protected: request, next session[, pieces].
int push_request(lua_State* L, const wire::request_frames& frames, lua_Integer next) {
  push_frame(L, frames, 0);
  lua_pushinteger(L, next);
  if (frames.count() == 1) return 2;
  push_frames(L, frames, 1);
  return 3;
}

// The integer at `index`, or (after freeing `block`) luaL_checkinteger's error.
lua_Integer integer_or_release(lua_State* L, int index, void* block) {
  int is_integer = 0;
  const lua_Integer n = lua_tointegerx(L, index, &is_integer);
  if (is_integer == 0) {
    release(block);
    luaL_checkinteger(L, index);  // raises
  }
  return n;
}

// packrequest / packpush(addr, session, msg, sz | str) -> request, next session[, pieces];
// `push` pushes the results, protected.
using request_pusher = int (*)(lua_State*, const wire::request_frames&, lua_Integer);

int pack_request(lua_State* L, wire::request_kind kind, request_pusher push) {
  // A light userdata message is ours from here on (skynet frees it too): freed on every path.
  void* block = nullptr;
  std::span<const std::byte> payload;
  switch (lua_type(L, 3)) {
    case LUA_TLIGHTUSERDATA: {
      block = lua_touserdata(L, 3);
      if (block == nullptr) return luaL_error(L, "Invalid request message");
      const lua_Integer size = integer_or_release(L, 4, block);
      if (size < 0) {
        release(block);
        return luaL_argerror(L, 4, "invalid size");
      }
      payload = bytes_of(block, static_cast<std::size_t>(size));
      break;
    }
    case LUA_TSTRING: {
      std::size_t size = 0;
      const char* text = lua_tolstring(L, 3, &size);
      payload = bytes_of(text, size);
      break;
    }
    default:
      return luaL_error(L, "Invalid request message");
  }
  // skynet keeps the low 32 bits of the session: 2^32+5 is 5, 2^31 is negative.
  const auto session = static_cast<std::int32_t>(integer_or_release(L, 2, block));
  wire::destination to;
  bool not_a_string = false;
  if (lua_type(L, 1) == LUA_TNUMBER) {
    to = static_cast<std::uint32_t>(lua_tointeger(L, 1));
  } else {
    std::size_t length = 0;
    const char* name = lua_tolstring(L, 1, &length);
    not_a_string = name == nullptr;
    if (!not_a_string) to = std::string_view(name, length);
  }
  // make() checks the session before the name, so a bad session is reported first.
  auto frames = wire::request_frames::make(kind, to, session, payload);
  if (!frames) {
    release(block);
    return raise(L, frames.error());
  }
  if (not_a_string) {
    release(block);
    return luaL_error(L, "name is not a string, it's a %s", luaL_typename(L, 1));
  }
  const lua_Integer next = wire::next_session(session);
  cxx_failure failure;
  const int n = protect(
      L, 0, [&](lua_State* S) { return push(S, frames.value(), next); }, failure);
  release(block);
  if (n >= 0) return n;
  if (failure.failed()) failure.raise(L);
  return lua_error(L);
}

int packrequest(lua_State* L) {
  return pack_request(L, wire::request_kind::call, push_request);
}

int packpush(lua_State* L) {
  return pack_request(L, wire::request_kind::push, push_request);
}

// packrequestmsg / packpushmsg(addr, session, msg, sz | str) -> block, size, split, next session
int packrequestmsg(lua_State* L) {
  return pack_request(L, wire::request_kind::call, push_request_block);
}

int packpushmsg(lua_State* L) {
  return pack_request(L, wire::request_kind::push, push_request_block);
}

// packtrace(tag) -> frame
int packtrace(lua_State* L) {
  std::size_t length = 0;
  const char* tag = luaL_checklstring(L, 1, &length);
  if (length > wire::max_trace_tag) {
    return raise(L, {wire::wire_error::code::tag_too_long, static_cast<std::int64_t>(length), {}});
  }
  const std::size_t size = wire::trace_size(length);
  luaL_Buffer b;
  char* at = luaL_buffinitsize(L, &b, size);
  (void)wire::write_trace(std::string_view(tag, length),
                          std::as_writable_bytes(std::span(at, size)));
  luaL_pushresultsize(&b, size);
  return 1;
}

void push_destination(lua_State* L, const wire::destination& to) {
  if (const auto* handle = std::get_if<std::uint32_t>(&to)) {
    lua_pushinteger(L, *handle);
  } else {
    const std::string_view name = std::get<std::string_view>(to);
    lua_pushlstring(L, name.data(), name.size());
  }
}

// Pushes a new block holding `bytes`, then its size. Called after every push that may fail,
// so that the block cannot leak.
void push_copy(lua_State* L, std::span<const std::byte> bytes) {
  std::byte* block = new_block(bytes.size());
  if (block == nullptr) luaL_error(L, "not enough memory");
  if (!bytes.empty()) std::memcpy(block, bytes.data(), bytes.size());
  lua_pushlightuserdata(L, block);
  lua_pushinteger(L, static_cast<lua_Integer>(bytes.size()));
}

// unpackrequest(msg, sz | str) -> the values of the body's kind (docs/CLUSTER.md)
int unpackrequest(lua_State* L) {
  std::span<const std::byte> body;
  if (lua_type(L, 1) == LUA_TLIGHTUSERDATA) {
    const void* data = lua_touserdata(L, 1);
    const lua_Integer size = luaL_checkinteger(L, 2);
    luaL_argcheck(L, size >= 0 && (data != nullptr || size == 0), 2, "invalid size");
    body = bytes_of(data, static_cast<std::size_t>(size));
  } else {
    std::size_t size = 0;
    const char* data = luaL_checklstring(L, 1, &size);
    body = bytes_of(data, size);
  }
  const auto decoded = wire::decode_request(body);
  if (!decoded) return raise(L, decoded.error());
  const wire::request_part& part = decoded.value();
  using kind = wire::request_part::kind;
  switch (part.type) {
    case kind::message:
      push_destination(L, part.to);
      lua_pushinteger(L, part.session);
      push_copy(L, part.data);
      if (!part.push) return 4;
      lua_pushnil(L);
      lua_pushboolean(L, 1);
      return 6;
    case kind::header:
      push_destination(L, part.to);
      lua_pushinteger(L, part.session);
      lua_pushnil(L);
      lua_pushinteger(L, part.total);
      lua_pushboolean(L, 1);
      lua_pushboolean(L, part.push ? 1 : 0);
      return 6;
    case kind::fragment:
    case kind::last:
      lua_pushboolean(L, 0);
      lua_pushinteger(L, part.session);
      push_copy(L, part.data);
      lua_pushboolean(L, part.type == kind::fragment ? 1 : 0);
      return 5;
    case kind::trace:
      lua_pushlstring(L, reinterpret_cast<const char*>(part.data.data()), part.data.size());
      return 1;
  }
  return 0;
}

// The reply packresponse / packresponsemsg were given, as frames. The message is not freed: it
// is the reply skynet.rawcall returned, which the runtime owns.
wire::response_frames response_of(lua_State* L) {
  const auto session = static_cast<std::uint32_t>(luaL_checkinteger(L, 1));
  const bool ok = lua_toboolean(L, 2) != 0;
  std::span<const std::byte> data;
  if (lua_type(L, 3) == LUA_TSTRING) {
    std::size_t size = 0;
    const char* text = lua_tolstring(L, 3, &size);
    data = bytes_of(text, size);
  } else {
    luaL_argexpected(L, lua_type(L, 3) == LUA_TLIGHTUSERDATA || lua_isnoneornil(L, 3), 3,
                     "string or light userdata");
    const void* block = lua_touserdata(L, 3);
    const lua_Integer size = luaL_checkinteger(L, 4);
    luaL_argcheck(L, size >= 0 && (block != nullptr || size == 0), 4, "invalid size");
    data = bytes_of(block, static_cast<std::size_t>(size));
  }
  const auto frames = wire::response_frames::make(session, ok, data);
  if (!frames) raise(L, frames.error());
  return frames.value();
}

// packresponse(session, ok, msg, sz | str) -> frame, or a table of frames for a split reply.
int packresponse(lua_State* L) {
  const wire::response_frames frames = response_of(L);
  if (frames.count() == 1) {
    push_frame(L, frames, 0);
  } else {
    push_frames(L, frames, 0);  // the begin frame first
  }
  return 1;
}

// packresponsemsg(session, ok, msg, sz | str) -> block, size, split
int packresponsemsg(lua_State* L) {
  push_block(L, response_of(L));
  return 3;
}

// unpackresponse(str) -> session, ok, data[, padding] | nothing for a body that does not decode
int unpackresponse(lua_State* L) {
  std::size_t size = 0;
  const char* body = luaL_checklstring(L, 1, &size);
  const auto decoded = wire::decode_response(bytes_of(body, size));
  if (!decoded) return 0;
  const wire::response_part& part = decoded.value();
  using kind = wire::response_part::kind;
  lua_pushinteger(L, part.session);
  lua_pushboolean(L, part.type == kind::error ? 0 : 1);
  if (part.type == kind::begin) {
    lua_pushinteger(L, part.total);
    lua_pushboolean(L, 1);
    return 4;
  }
  lua_pushlstring(L, reinterpret_cast<const char*>(part.data.data()), part.data.size());
  if (part.type != kind::piece) return 3;
  lua_pushboolean(L, 1);
  return 4;
}

// append(tbl, msg, sz): tbl[#tbl+1] = the bytes of msg as a string, and msg is freed (in every
// case, errors included). append(tbl, nil, v) appends v itself (the announced total).
int append(lua_State* L) {
  void* block = lua_type(L, 2) == LUA_TLIGHTUSERDATA ? lua_touserdata(L, 2) : nullptr;
  if (!lua_istable(L, 1)) {
    release(block);
    luaL_checktype(L, 1, LUA_TTABLE);  // raises
  }
  const auto next = static_cast<lua_Integer>(lua_rawlen(L, 1)) + 1;
  if (lua_isnil(L, 2)) {
    lua_settop(L, 3);
    lua_seti(L, 1, next);
    return 0;
  }
  if (block == nullptr) return luaL_error(L, "Need lightuserdata");
  const lua_Integer size = integer_or_release(L, 3, block);
  if (size < 0) {
    release(block);
    return luaL_argerror(L, 3, "invalid size");
  }
  push_string_taking(L, block, static_cast<std::size_t>(size));
  lua_seti(L, 1, next);
  return 0;
}

// concat(tbl) -> msg, sz: tbl is {total, string, string, ...}; the strings joined into a new
// block, or nothing when tbl is not that shape or the strings do not add up to the total.
// Raw reads: the sizes are summed before anything is allocated, and the copy cannot raise.
int concat(lua_State* L) {
  if (!lua_istable(L, 1)) return 0;
  const bool has_total = lua_rawgeti(L, 1, 1) == LUA_TNUMBER;
  const lua_Integer total = lua_tointeger(L, -1);
  lua_pop(L, 1);
  if (!has_total || total < 0) return 0;
  const auto wanted = static_cast<std::size_t>(total);
  std::size_t sum = 0;
  lua_Integer end = 2;
  for (; lua_rawgeti(L, 1, end) == LUA_TSTRING; ++end) {
    sum += lua_rawlen(L, -1);
    lua_pop(L, 1);
    if (sum > wanted) return 0;
  }
  lua_pop(L, 1);
  if (sum != wanted) return 0;
  std::byte* block = new_block(wanted);
  if (block == nullptr) return luaL_error(L, "not enough memory");
  std::size_t at = 0;
  for (lua_Integer i = 2; i < end; ++i) {
    lua_rawgeti(L, 1, i);
    std::size_t length = 0;
    const char* piece = lua_tolstring(L, -1, &length);
    if (length != 0) std::memcpy(block + at, piece, length);
    at += length;
    lua_pop(L, 1);
  }
  lua_pushlightuserdata(L, block);
  lua_pushinteger(L, total);
  return 2;
}

// A split request joined in place as its parts come (append and concat copy each part twice):
// one block of the announced total. Starling's own; clusteragent uses it. A joiner never taken
// frees its block when collected.
constexpr const char* joiner_type = "skynet.cluster.joiner";

struct joiner {
  std::byte* block;
  std::size_t total;
  std::size_t filled;
  bool overflowed;
};

joiner* check_joiner(lua_State* L, int index) {
  return static_cast<joiner*>(luaL_checkudata(L, index, joiner_type));
}

int collect_joiner(lua_State* L) {
  joiner* j = check_joiner(L, 1);
  release(j->block);
  j->block = nullptr;
  return 0;
}

// joiner(total) -> a joiner for a message of `total` bytes
int new_joiner(lua_State* L) {
  const lua_Integer total = luaL_checkinteger(L, 1);
  luaL_argcheck(L, total >= 0, 1, "invalid size");
  auto* j = static_cast<joiner*>(lua_newuserdatauv(L, sizeof(joiner), 0));
  *j = joiner{nullptr, static_cast<std::size_t>(total), 0, false};
  luaL_setmetatable(L, joiner_type);
  j->block = new_block(j->total);
  if (j->block == nullptr) return luaL_error(L, "not enough memory");
  return 1;
}

// joinpart(j, msg, sz): copies the part in and frees msg (in every case, errors included). A
// part past the total spoils the join.
int join_part(lua_State* L) {
  void* block = lua_type(L, 2) == LUA_TLIGHTUSERDATA ? lua_touserdata(L, 2) : nullptr;
  auto* j = static_cast<joiner*>(luaL_testudata(L, 1, joiner_type));
  if (j == nullptr || j->block == nullptr) {
    release(block);
    return luaL_argerror(L, 1, "joiner expected");
  }
  if (block == nullptr) return luaL_error(L, "Need lightuserdata");
  const lua_Integer size = integer_or_release(L, 3, block);
  if (size < 0) {
    release(block);
    return luaL_argerror(L, 3, "invalid size");
  }
  const auto length = static_cast<std::size_t>(size);
  if (length > j->total - j->filled) {
    j->overflowed = true;
  } else {
    if (length != 0) std::memcpy(j->block + j->filled, block, length);
    j->filled += length;
  }
  release(block);
  return 0;
}

// joined(j) -> msg, sz: the joined message, taken out of the joiner, when the parts made exactly
// the total; else nothing.
int take_joined(lua_State* L) {
  joiner* j = check_joiner(L, 1);
  if (j->block == nullptr || j->overflowed || j->filled != j->total) return 0;
  lua_pushlightuserdata(L, std::exchange(j->block, nullptr));
  lua_pushinteger(L, static_cast<lua_Integer>(j->total));
  return 2;
}

// isname(addr) -> true when addr is a string (or number) starting with '@', else nothing
int isname(lua_State* L) {
  const char* name = lua_tostring(L, 1);
  if (name == nullptr || name[0] != '@') return 0;
  lua_pushboolean(L, 1);
  return 1;
}

// nodename() -> the host name, bytes up to the space made '_', then the process id
int nodename(lua_State* L) {
  const auto pid = static_cast<int>(::getpid());
  char host[256];
  if (::gethostname(host, sizeof host) != 0) {
    lua_pushfstring(L, "noname%d", pid);
    return 1;
  }
  host[sizeof host - 1] = '\0';  // a cut name may come without its terminator
  for (char* c = host; *c != '\0'; ++c) {
    // skynet compares a plain (signed) char: bytes from 0x80 up are replaced as well.
    if (static_cast<signed char>(*c) <= ' ') *c = '_';
  }
  lua_pushfstring(L, "%s%d", host, pid);
  return 1;
}

}  // namespace

int open_cluster_core(lua_State* L) {
  luaL_checkversion(L);
  const luaL_Reg functions[] = {
      {"packrequest", packrequest},
      {"packpush", packpush},
      {"packtrace", packtrace},
      {"unpackrequest", unpackrequest},
      {"packresponse", packresponse},
      {"unpackresponse", unpackresponse},
      {"append", append},
      {"concat", concat},
      {"isname", isname},
      {"nodename", nodename},
      // Starling's own, for its cluster services (docs/CLUSTER.md)
      {"packrequestmsg", packrequestmsg},
      {"packpushmsg", packpushmsg},
      {"packresponsemsg", packresponsemsg},
      {"joiner", new_joiner},
      {"joinpart", join_part},
      {"joined", take_joined},
      {nullptr, nullptr},
  };
  if (luaL_newmetatable(L, joiner_type) != 0) {
    lua_pushcfunction(L, collect_joiner);
    lua_setfield(L, -2, "__gc");
  }
  lua_pop(L, 1);
  luaL_newlib(L, functions);
  return 1;
}

}  // namespace starling::lua
