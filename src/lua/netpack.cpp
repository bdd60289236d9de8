#include "lua/netpack.hpp"

#include <cstdio>
#include <cstdlib>
#include <iterator>
#include <memory>
#include <new>
#include <optional>
#include <span>
#include <string>
#include <utility>

#include "base/payload.hpp"
#include "core/socket_message.hpp"
#include "lua/protected.hpp"
#include "net/netpack.hpp"

namespace starling::lua {

namespace {

constexpr const char* queue_metatable = "skynet.netpack.queue";

// The queue userdata. __gc empties the slot rather than leaving a destroyed object behind, so
// a reference resurrected by another finalizer still finds a valid (dead) queue.
using queue_slot = std::optional<net::frame_queue>;

// Upvalues of filter: the result type names, made once so that pushing them cannot fail while
// a packet is held only by a C pointer.
enum upvalue : int { up_data = 1, up_more, up_init, up_close, up_open, up_error, up_warning };
constexpr const char* upvalue_names[] = {"data", "more",  "init",   "close",
                                         "open", "error", "warning"};

// The queue at `index`: null for nil or a collected queue; raises for anything else.
net::frame_queue* queue_at(lua_State* L, int index) {
  if (lua_isnoneornil(L, index)) return nullptr;
  auto* slot = static_cast<queue_slot*>(luaL_checkudata(L, index, queue_metatable));
  return slot->has_value() ? &**slot : nullptr;
}

// Pushes a new queue (run under lua::protect by filter, which owns a buffer meanwhile).
int new_queue(lua_State* L) {
  auto* slot =
      std::construct_at(static_cast<queue_slot*>(lua_newuserdatauv(L, sizeof(queue_slot), 0)));
  luaL_setmetatable(L, queue_metatable);
  bool built = true;
  try {
    slot->emplace();
  } catch (const std::bad_alloc&) {
    built = false;
  }
  if (!built) return luaL_error(L, "not enough memory");
  return 1;
}

int queue_gc(lua_State* L) {
  static_cast<queue_slot*>(luaL_checkudata(L, 1, queue_metatable))->reset();
  return 0;
}

// What a DATA message produced, in plain values that can be pushed without raising.
struct data_outcome {
  net::frame_queue::outcome what = net::frame_queue::outcome::none;
  std::int32_t id = 0;
  void* block = nullptr;  // malloc'd; the packet of outcome::one
  std::size_t size = 0;
  bool out_of_memory = false;
};

data_outcome feed(net::frame_queue& queue, socket_message& head) noexcept {
  // The read buffer is ours whatever happens; clearing it in the message keeps a second
  // filter of the same message from freeing it again.
  const malloc_ptr<std::byte> bytes(static_cast<std::byte*>(std::exchange(head.buffer, nullptr)));
  const std::size_t size = bytes != nullptr && head.ud > 0 ? static_cast<std::size_t>(head.ud) : 0;
  data_outcome r;
  try {
    net::frame_queue::feed_result fed = queue.feed(head.id, std::span(bytes.get(), size));
    r.what = fed.what;
    if (fed.what == net::frame_queue::outcome::one) {
      r.id = fed.single.id;
      r.size = fed.single.data.size();
      r.block = fed.single.data.release_malloced();
    }
  } catch (const std::bad_alloc&) {
    r.out_of_memory = true;
  }
  return r;
}

int filter_data(lua_State* L, socket_message& head) {
  net::frame_queue* queue = queue_at(L, 1);
  if (queue == nullptr) {
    cxx_failure failure;
    if (protect(L, 0, new_queue, failure) < 0) {
      // new_queue raises no C++ exception: the Lua error is on the stack top.
      std::free(std::exchange(head.buffer, nullptr));  // NOLINT(*-no-malloc)
      return lua_error(L);
    }
    lua_replace(L, 1);
    queue = queue_at(L, 1);
  }
  const data_outcome r = feed(*queue, head);
  if (r.out_of_memory) return luaL_error(L, "not enough memory");
  switch (r.what) {
    case net::frame_queue::outcome::none:
      return 1;
    case net::frame_queue::outcome::one:
      lua_pushvalue(L, lua_upvalueindex(up_data));
      lua_pushinteger(L, r.id);
      lua_pushlightuserdata(L, r.block);
      lua_pushinteger(L, static_cast<lua_Integer>(r.size));
      return 5;
    case net::frame_queue::outcome::more:
      lua_pushvalue(L, lua_upvalueindex(up_more));
      return 2;
  }
  return 1;
}

void push_text(lua_State* L, const void* msg, std::size_t size) {
  const std::string_view text = socket_message_text(msg, size);
  lua_pushlstring(L, text.data(), text.size());
}

// netpack.filter(queue, msg, sz) -> queue[, type, ...]
int filter(lua_State* L) {
  void* msg = lua_touserdata(L, 2);
  const lua_Integer size = luaL_checkinteger(L, 3);
  if (size < 0 || read_socket_message(msg, static_cast<std::size_t>(size)) == nullptr) {
    return luaL_error(L, "netpack.filter: not a socket message");
  }
  const auto length = static_cast<std::size_t>(size);
  // The message body belongs to the dispatcher, but the read buffer it points to is ours.
  auto& head = *static_cast<socket_message*>(msg);
  lua_settop(L, 1);
  switch (head.type) {
    case socket_event::data:
      return filter_data(L, head);
    case socket_event::connect:
      lua_pushvalue(L, lua_upvalueindex(up_init));
      lua_pushinteger(L, head.id);
      push_text(L, msg, length);
      lua_pushinteger(L, head.ud);
      return 5;
    case socket_event::close:
      if (net::frame_queue* queue = queue_at(L, 1)) queue->discard(head.id);
      lua_pushvalue(L, lua_upvalueindex(up_close));
      lua_pushinteger(L, head.id);
      return 3;
    case socket_event::accept:
      lua_pushvalue(L, lua_upvalueindex(up_open));
      lua_pushinteger(L, head.ud);
      push_text(L, msg, length);
      return 4;
    case socket_event::error:
      if (net::frame_queue* queue = queue_at(L, 1)) queue->discard(head.id);
      lua_pushvalue(L, lua_upvalueindex(up_error));
      lua_pushinteger(L, head.id);
      push_text(L, msg, length);
      return 4;
    case socket_event::warning:
      lua_pushvalue(L, lua_upvalueindex(up_warning));
      lua_pushinteger(L, head.id);
      lua_pushinteger(L, head.ud);
      return 4;
    case socket_event::udp:
      // A gate has no use for datagrams; skynet leaks this buffer, we free it.
      std::free(std::exchange(head.buffer, nullptr));  // NOLINT(*-no-malloc)
      return 1;
  }
  return 1;
}

// netpack.pop(queue) -> fd, msg, sz | nothing
int pop(lua_State* L) {
  net::frame_queue* queue = queue_at(L, 1);
  if (queue == nullptr) return 0;
  bool found = false;
  bool out_of_memory = false;
  std::int32_t id = 0;
  void* block = nullptr;
  std::size_t size = 0;
  try {
    if (std::optional<net::packet> p = queue->pop()) {
      found = true;
      id = p->id;
      size = p->data.size();
      block = p->data.release_malloced();
    }
  } catch (const std::bad_alloc&) {
    out_of_memory = true;
  }
  if (out_of_memory) return luaL_error(L, "not enough memory");
  if (!found) return 0;
  lua_pushinteger(L, id);
  lua_pushlightuserdata(L, block);
  lua_pushinteger(L, static_cast<lua_Integer>(size));
  return 3;
}

// netpack.pack(str) / netpack.pack(msg, sz) -> frame, size: a new malloc'd block.
int pack(lua_State* L) {
  const char* data = nullptr;
  std::size_t size = 0;
  if (lua_type(L, 1) == LUA_TLIGHTUSERDATA) {
    data = static_cast<const char*>(lua_touserdata(L, 1));
    const lua_Integer n = luaL_checkinteger(L, 2);
    luaL_argcheck(L, n >= 0 && (data != nullptr || n == 0), 2, "invalid size");
    size = static_cast<std::size_t>(n);
  } else {
    data = luaL_checklstring(L, 1, &size);
  }
  if (size > net::max_packet_size) {
    char text[96];
    {
      const std::string message = net::too_long_message(size);
      std::snprintf(text, sizeof text, "%s", message.c_str());
    }
    return luaL_error(L, "%s", text);
  }
  void* block = nullptr;
  bool out_of_memory = false;
  try {
    std::optional<payload> frame = net::pack(std::as_bytes(std::span(data, size)));
    block = frame->release_malloced();
  } catch (const std::bad_alloc&) {
    out_of_memory = true;
  }
  if (out_of_memory) return luaL_error(L, "not enough memory");
  lua_pushlightuserdata(L, block);
  lua_pushinteger(
      L, static_cast<lua_Integer>(size) + static_cast<lua_Integer>(net::frame_header_size));
  return 2;
}

// netpack.tostring(msg, sz) -> string; frees msg.
int to_string(lua_State* L) {
  void* block = lua_touserdata(L, 1);
  const lua_Integer size = luaL_checkinteger(L, 2);
  if (block == nullptr) {
    lua_pushliteral(L, "");
    return 1;
  }
  luaL_argcheck(L, size >= 0, 2, "invalid size");
  push_string_taking(L, block, static_cast<std::size_t>(size));
  return 1;
}

// netpack.clear(queue)
int clear(lua_State* L) {
  if (net::frame_queue* queue = queue_at(L, 1)) queue->clear();
  return 0;
}

}  // namespace

int open_netpack(lua_State* L) {
  luaL_checkversion(L);
  if (luaL_newmetatable(L, queue_metatable) != 0) {
    lua_pushcfunction(L, queue_gc);
    lua_setfield(L, -2, "__gc");
  }
  lua_pop(L, 1);

  const luaL_Reg functions[] = {
      {"pop", pop}, {"pack", pack}, {"tostring", to_string}, {"clear", clear}, {nullptr, nullptr},
  };
  luaL_newlib(L, functions);
  for (const char* name : upvalue_names)
    lua_pushstring(L, name);
  lua_pushcclosure(L, filter, static_cast<int>(std::size(upvalue_names)));
  lua_setfield(L, -2, "filter");
  return 1;
}

}  // namespace starling::lua
