#include "lua/socketdriver.hpp"

#include <fmt/format.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <string_view>
#include <vector>

#include "core/node.hpp"
#include "core/socket_message.hpp"
#include "lua/protected.hpp"
#include "lua/scheduler.hpp"
#include "lua/socket_buffer.hpp"
#include "net/socket_server.hpp"

// Every C++ part runs through lua::native (lua/protected.hpp): no Lua error skips a destructor.

namespace starling::lua {

namespace {

constexpr int default_backlog = 0;  // the system maximum (socket_server::listen)
constexpr std::size_t host_capacity = 256;

// ---- the server and the calling service (the module's upvalues) ------------------------------

net::socket_server& server(lua_State* L) {
  return *static_cast<net::socket_server*>(lua_touserdata(L, lua_upvalueindex(1)));
}

handle_t self(lua_State* L) {
  return static_cast<handle_t>(lua_tointeger(L, lua_upvalueindex(2)));
}

std::int32_t check_id(lua_State* L, int index) {
  return static_cast<std::int32_t>(luaL_checkinteger(L, index));
}

// ---- addresses -------------------------------------------------------------------------------

struct endpoint {
  char host[host_capacity];
  int port = 0;
};

// `addr, port`, or "host:port" / "[ipv6]:port" in `addr` when `port` is absent.
void check_endpoint(lua_State* L, int index, endpoint& out, bool port_required) {
  std::size_t size = 0;
  const char* addr = luaL_checklstring(L, index, &size);
  if (!lua_isnoneornil(L, index + 1)) {
    if (size >= host_capacity) {
      luaL_error(L, "Invalid address %s.", addr);
      return;  // not reached
    }
    std::memcpy(out.host, addr, size + 1);
    out.port = static_cast<int>(luaL_checkinteger(L, index + 1));
    return;
  }
  const char* port_text = nullptr;
  std::size_t host_size = 0;
  const char* host = addr;
  if (addr[0] == '[') {
    const char* close = std::strchr(addr, ']');
    if (close == nullptr || close[1] != ':') luaL_error(L, "Invalid address %s.", addr);
    host = addr + 1;
    host_size = static_cast<std::size_t>(close - host);
    port_text = close + 2;
  } else {
    const char* colon = std::strrchr(addr, ':');
    if (colon == nullptr) {
      if (port_required) luaL_error(L, "Invalid address %s.", addr);
      host_size = size;
    } else {
      host_size = static_cast<std::size_t>(colon - addr);
      port_text = colon + 1;
    }
  }
  if (host_size >= host_capacity) {
    luaL_error(L, "Invalid address %s.", addr);
    return;  // not reached: luaL_error does not return
  }
  std::memcpy(out.host, host, host_size);
  out.host[host_size] = '\0';
  out.port = 0;
  if (port_text != nullptr) {
    char* end = nullptr;
    const long port = std::strtol(port_text, &end, 10);
    if (*port_text == '\0' || *end != '\0' || port < 0 || port > 65535) {
      luaL_error(L, "Invalid port in address %s.", addr);
    }
    out.port = static_cast<int>(port);
  }
}

// ---- outgoing bytes --------------------------------------------------------------------------

// Outgoing bytes as checked from the arguments: plain values only, so that every check that
// raises is over before the payload exists. A string (copied), a table of strings (joined), a
// light userdata with a size (adopted: the socket thread frees it) or a full userdata (copied,
// optionally only its first `size` bytes).
struct bytes_arg {
  enum class kind { copy, join, adopt } how = kind::copy;
  const void* data = nullptr;
  std::size_t size = 0;  // the total, for a join
  int index = 0;         // the table, for a join
};

bytes_arg check_bytes(lua_State* L, int index) {
  switch (lua_type(L, index)) {
    case LUA_TSTRING: {
      std::size_t size = 0;
      const char* bytes = lua_tolstring(L, index, &size);
      return {bytes_arg::kind::copy, bytes, size, index};
    }
    case LUA_TTABLE: {
      const lua_Integer count = static_cast<lua_Integer>(lua_rawlen(L, index));
      std::size_t total = 0;
      for (lua_Integer i = 1; i <= count; ++i) {
        if (lua_rawgeti(L, index, i) != LUA_TSTRING) {
          luaL_error(L, "Invalid buffer: item %d is a %s", static_cast<int>(i),
                     luaL_typename(L, -1));
        }
        total += lua_rawlen(L, -1);
        lua_pop(L, 1);
      }
      return {bytes_arg::kind::join, nullptr, total, lua_absindex(L, index)};
    }
    case LUA_TLIGHTUSERDATA: {
      const lua_Integer size = luaL_optinteger(L, index + 1, -1);
      if (size < 0) luaL_error(L, "Invalid buffer: a light userdata needs a size");
      return {bytes_arg::kind::adopt, lua_touserdata(L, index), static_cast<std::size_t>(size),
              index};
    }
    case LUA_TUSERDATA: {
      const auto whole = static_cast<lua_Integer>(lua_rawlen(L, index));
      const lua_Integer size = luaL_optinteger(L, index + 1, whole);
      if (size < 0 || size > whole) luaL_error(L, "Invalid buffer size %d", static_cast<int>(size));
      return {bytes_arg::kind::copy, lua_touserdata(L, index), static_cast<std::size_t>(size),
              index};
    }
    default:
      luaL_error(L, "Invalid buffer type %s", luaL_typename(L, index));
      return {};
  }
}

// The payload of checked bytes, for native's work: raw reads of strings checked already,
// nothing that raises.
payload take_bytes(lua_State* L, const bytes_arg& b) {
  switch (b.how) {
    case bytes_arg::kind::copy:
      return payload::copy_of(std::string_view(static_cast<const char*>(b.data), b.size));
    case bytes_arg::kind::adopt:
      return payload::adopt_malloced(const_cast<void*>(b.data), b.size);
    case bytes_arg::kind::join:
      break;
  }
  payload joined(b.size);
  std::size_t at = 0;
  const auto count = static_cast<lua_Integer>(lua_rawlen(L, b.index));
  for (lua_Integer i = 1; i <= count; ++i) {
    lua_rawgeti(L, b.index, i);
    std::size_t size = 0;
    const char* bytes = lua_tolstring(L, -1, &size);
    if (size != 0 && at + size <= b.size) std::memcpy(joined.data() + at, bytes, size);
    at += size;
    lua_pop(L, 1);
  }
  return joined;
}

int push_boolean(lua_State* L, bool value) {
  lua_pushboolean(L, value ? 1 : 0);
  return 1;
}

int push_id(lua_State* L, std::int32_t id) {
  lua_pushinteger(L, id);
  return 1;
}

// The id of an opened socket, -1 when it failed: skynet's texts for these give no reason, so
// the result's detail string stays inside native's work.
std::int32_t id_of(const net::socket_server::opened& opened) {
  return opened ? *opened : -1;
}

// ---- requests --------------------------------------------------------------------------------

int l_connect(lua_State* L) {
  endpoint to;
  check_endpoint(L, 1, to, true);
  if (to.port == 0) return luaL_error(L, "Invalid port");
  net::socket_server& sockets = server(L);
  const handle_t owner = self(L);
  const std::int32_t id =
      native(L, [&] { return id_of(sockets.connect(owner, to.host, to.port)); });
  if (id < 0) return luaL_error(L, "Connect %s %d failed", to.host, to.port);
  return push_id(L, id);
}

// Raises "Listen error: <host>:<port>: <why>" (skynet says only "Listen error"), `why` being the
// failure's detail: the system's or the resolver's text.
struct listen_outcome {
  std::int32_t id = -1;
  char why[256] = "failed";
};

int l_listen(lua_State* L) {
  endpoint at;
  check_endpoint(L, 1, at, true);
  const int backlog = static_cast<int>(luaL_optinteger(L, 3, default_backlog));
  net::socket_server& sockets = server(L);
  const handle_t owner = self(L);
  const listen_outcome out = native(L, [&] {
    listen_outcome o;
    const net::socket_server::opened r = sockets.listen(owner, at.host, at.port, backlog);
    if (r) {
      o.id = *r;
    } else if (!r.error().detail.empty()) {
      std::snprintf(o.why, sizeof o.why, "%s", r.error().detail.c_str());
    }
    return o;
  });
  if (out.id >= 0) return push_id(L, out.id);
  lua_pushfstring(L, "Listen error: %s:%d: %s", at.host, at.port, out.why);
  return lua_error(L);
}

int l_bind(lua_State* L) {
  const int fd = static_cast<int>(luaL_checkinteger(L, 1));
  net::socket_server& sockets = server(L);
  const handle_t owner = self(L);
  const std::int32_t id = native(L, [&] { return id_of(sockets.bind(owner, fd)); });
  if (id < 0) return luaL_error(L, "Bind error");
  return push_id(L, id);
}

// close, shutdown, start, pause: a request about one socket of the calling service.
template <void (net::socket_server::*verb)(handle_t, std::int32_t)>
int l_request(lua_State* L) {
  const std::int32_t id = check_id(L, 1);
  net::socket_server& sockets = server(L);
  const handle_t owner = self(L);
  native(L, [&] { (sockets.*verb)(owner, id); });
  return 0;
}

int l_nodelay(lua_State* L) {
  const std::int32_t id = check_id(L, 1);
  net::socket_server& sockets = server(L);
  native(L, [&] { sockets.nodelay(id); });
  return 0;
}

// sink(id, service): Starling's; reading `id` also pauses while `service`'s mailbox is long.
int l_sink(lua_State* L) {
  const std::int32_t id = check_id(L, 1);
  const auto sink = static_cast<handle_t>(luaL_checkinteger(L, 2));
  net::socket_server& sockets = server(L);
  native(L, [&] { sockets.set_sink(id, sink); });
  return 0;
}

template <bool low_priority>
int l_send(lua_State* L) {
  const std::int32_t id = check_id(L, 1);
  const bytes_arg bytes = check_bytes(L, 2);
  net::socket_server& sockets = server(L);
  return push_boolean(L, native(L, [&] {
                        payload body = take_bytes(L, bytes);
                        return low_priority ? sockets.send_lowpriority(id, std::move(body))
                                            : sockets.send(id, std::move(body));
                      }));
}

// ---- UDP -------------------------------------------------------------------------------------

int l_udp(lua_State* L) {
  endpoint at{};
  if (!lua_isnoneornil(L, 1)) check_endpoint(L, 1, at, false);
  net::socket_server& sockets = server(L);
  const handle_t owner = self(L);
  const std::int32_t id = native(L, [&] { return id_of(sockets.udp(owner, at.host, at.port)); });
  if (id < 0) return luaL_error(L, "udp init failed");
  return push_id(L, id);
}

int l_udp_connect(lua_State* L) {
  const std::int32_t id = check_id(L, 1);
  endpoint to;
  check_endpoint(L, 2, to, false);
  net::socket_server& sockets = server(L);
  const bool done =
      native(L, [&] { return sockets.udp_connect(id, to.host, to.port).has_value(); });
  if (!done) return luaL_error(L, "udp connect failed");
  return 0;
}

int l_udp_dial(lua_State* L) {
  endpoint to;
  check_endpoint(L, 1, to, false);
  net::socket_server& sockets = server(L);
  const handle_t owner = self(L);
  const std::int32_t id =
      native(L, [&] { return id_of(sockets.udp_dial(owner, to.host, to.port)); });
  if (id < 0) return luaL_error(L, "udp dial host failed");
  return push_id(L, id);
}

int l_udp_listen(lua_State* L) {
  endpoint at;
  check_endpoint(L, 1, at, false);
  net::socket_server& sockets = server(L);
  const handle_t owner = self(L);
  const std::int32_t id =
      native(L, [&] { return id_of(sockets.udp_listen(owner, at.host, at.port)); });
  if (id < 0) return luaL_error(L, "udp listen host failed");
  return push_id(L, id);
}

int l_udp_send(lua_State* L) {
  const std::int32_t id = check_id(L, 1);
  std::size_t size = 0;
  const char* address = luaL_checklstring(L, 2, &size);
  const bytes_arg bytes = check_bytes(L, 3);
  net::socket_server& sockets = server(L);
  return push_boolean(L, native(L, [&] {
                        return sockets.udp_send(id, std::as_bytes(std::span(address, size)),
                                                take_bytes(L, bytes));
                      }));
}

// A decoded udp address in plain values (an IP's text is at most 45 characters).
struct udp_endpoint {
  bool valid = false;
  char host[64] = {};
  int port = 0;
};

int l_udp_address(lua_State* L) {
  std::size_t size = 0;
  const char* address = luaL_checklstring(L, 1, &size);
  const udp_endpoint decoded = native(L, [&] {
    udp_endpoint out;
    const auto d = net::socket_server::udp_address(std::as_bytes(std::span(address, size)));
    if (d && d->first.size() < sizeof out.host) {
      out.valid = true;
      std::memcpy(out.host, d->first.data(), d->first.size());
      out.port = d->second;
    }
    return out;
  });
  if (!decoded.valid) return luaL_error(L, "Invalid udp address");
  lua_pushstring(L, decoded.host);
  lua_pushinteger(L, decoded.port);
  return 2;
}

// ---- resolve and netstat ---------------------------------------------------------------------

int l_resolve(lua_State* L) {
  const char* host = luaL_checkstring(L, 1);
  return native(
      L, [&] { return net::socket_server::resolve(host); },
      [](lua_State* S, const result<std::vector<std::string>, net::failure>& r) {
        if (!r) {
          lua_pushlstring(S, r.error().detail.data(), r.error().detail.size());
          return lua_error(S);
        }
        const std::vector<std::string>& ips = r.value();
        lua_createtable(S, static_cast<int>(ips.size()), 0);
        for (std::size_t i = 0; i < ips.size(); ++i) {
          lua_pushlstring(S, ips[i].data(), ips[i].size());
          lua_rawseti(S, -2, static_cast<lua_Integer>(i) + 1);
        }
        return 1;
      });
}

const char* kind_name(net::socket_info::kind kind) {
  switch (kind) {
    case net::socket_info::kind::listen:
      return "LISTEN";
    case net::socket_info::kind::tcp:
      return "TCP";
    case net::socket_info::kind::udp:
      return "UDP";
    case net::socket_info::kind::bind:
      return "BIND";
    case net::socket_info::kind::closing:
      return "CLOSING";
    case net::socket_info::kind::unknown:
      break;
  }
  return "UNKNOWN";
}

void set_integer(lua_State* L, const char* key, lua_Integer value) {
  lua_pushinteger(L, value);
  lua_setfield(L, -2, key);
}

void set_boolean(lua_State* L, const char* key, bool value) {
  lua_pushboolean(L, value ? 1 : 0);
  lua_setfield(L, -2, key);
}

void set_string(lua_State* L, const char* key, const std::string& value) {
  lua_pushlstring(L, value.data(), value.size());
  lua_setfield(L, -2, key);
}

void push_info(lua_State* L, const net::socket_info& s) {
  lua_newtable(L);
  set_integer(L, "id", s.id);
  set_integer(L, "address", static_cast<lua_Integer>(s.owner));
  lua_pushstring(L, kind_name(s.type));
  lua_setfield(L, -2, "type");
  set_integer(L, "rtime", s.rtime);
  if (s.type == net::socket_info::kind::listen) {
    set_integer(L, "accept", static_cast<lua_Integer>(s.read));
    if (!s.endpoint.empty()) set_string(L, "sock", s.endpoint);
    return;
  }
  set_integer(L, "read", static_cast<lua_Integer>(s.read));
  set_integer(L, "write", static_cast<lua_Integer>(s.write));
  set_integer(L, "wbuffer", static_cast<lua_Integer>(s.wbuffer));
  set_integer(L, "wtime", s.wtime);
  set_boolean(L, "reading", s.reading);
  set_boolean(L, "writing", s.writing);
  if (s.throttled) set_boolean(L, "throttled", true);
  if (!s.endpoint.empty()) set_string(L, "peer", s.endpoint);
}

int l_info(lua_State* L) {
  net::socket_server& sockets = server(L);
  return native(
      L, [&] { return sockets.info(); },
      [](lua_State* S, const std::vector<net::socket_info>& all) {
        lua_createtable(S, static_cast<int>(all.size()), 0);
        for (std::size_t i = 0; i < all.size(); ++i) {
          push_info(S, all[i]);
          lua_rawseti(S, -2, static_cast<lua_Integer>(i) + 1);
        }
        return 1;
      });
}

// ---- socket messages -------------------------------------------------------------------------

// unpack(msg, sz) -> type, id, ud, data[, udp address]
int l_unpack(lua_State* L) {
  const void* data = lua_touserdata(L, 1);
  const auto size = static_cast<std::size_t>(luaL_checkinteger(L, 2));
  const socket_message* head = read_socket_message(data, size);
  if (head == nullptr) return luaL_error(L, "Invalid socket message");
  lua_pushinteger(L, static_cast<lua_Integer>(head->type));
  lua_pushinteger(L, head->id);
  lua_pushinteger(L, head->ud);
  switch (head->type) {
    case socket_event::connect:
    case socket_event::accept:
    case socket_event::error: {
      const std::string_view text = socket_message_text(data, size);
      lua_pushlstring(L, text.data(), text.size());
      return 4;
    }
    case socket_event::udp: {
      if (head->buffer == nullptr) return luaL_error(L, "Invalid socket message");
      lua_pushlightuserdata(L, head->buffer);
      const auto* blob = static_cast<const char*>(head->buffer) + head->ud;
      const std::size_t blob_size = blob[0] == 2 ? 19 : 7;  // family tag: 1 = IPv4, 2 = IPv6
      lua_pushlstring(L, blob, blob_size);
      return 5;
    }
    default:
      lua_pushlightuserdata(L, head->buffer);
      return 4;
  }
}

int l_drop(lua_State* L) {
  // NOLINTNEXTLINE(*-no-malloc): message bodies are malloc'd (base/payload.hpp)
  std::free(lua_touserdata(L, 1));
  return 0;
}

int l_str2p(lua_State* L) {
  std::size_t size = 0;
  const char* text = luaL_checklstring(L, 1, &size);
  // NOLINTNEXTLINE(*-no-malloc): message bodies are malloc'd (base/payload.hpp)
  void* block = std::malloc(size == 0 ? 1 : size);
  if (block == nullptr) return luaL_error(L, "not enough memory");
  std::memcpy(block, text, size);
  lua_pushlightuserdata(L, block);
  lua_pushinteger(L, static_cast<lua_Integer>(size));
  return 2;
}

// header(s): the big-endian unsigned number in a 1..4 byte string.
int l_header(lua_State* L) {
  std::size_t size = 0;
  const char* bytes = luaL_checklstring(L, 1, &size);
  if (size < 1 || size > 4) return luaL_error(L, "Invalid read %s", bytes);
  lua_Integer value = 0;
  for (std::size_t i = 0; i < size; ++i) {
    value = (value << 8) | static_cast<unsigned char>(bytes[i]);
  }
  lua_pushinteger(L, value);
  return 1;
}

const luaL_Reg with_server[] = {
    {"connect", l_connect},
    {"listen", l_listen},
    {"bind", l_bind},
    {"close", l_request<&net::socket_server::close>},
    {"shutdown", l_request<&net::socket_server::shutdown>},
    {"start", l_request<&net::socket_server::start>},
    {"pause", l_request<&net::socket_server::pause>},
    {"nodelay", l_nodelay},
    {"send", l_send<false>},
    {"lsend", l_send<true>},
    {"udp", l_udp},
    {"udp_connect", l_udp_connect},
    {"udp_dial", l_udp_dial},
    {"udp_listen", l_udp_listen},
    {"udp_send", l_udp_send},
    {"info", l_info},
    {"sink", l_sink},
    {nullptr, nullptr},
};

const luaL_Reg plain[] = {
    {"udp_address", l_udp_address},
    {"resolve", l_resolve},
    {"unpack", l_unpack},
    {"drop", l_drop},
    {"str2p", l_str2p},
    {"header", l_header},
    {nullptr, nullptr},
};

}  // namespace

int open_socketdriver(lua_State* L) {
  scheduler* host = scheduler::of(L);
  if (host == nullptr) return luaL_error(L, "skynet.socketdriver needs the Starling Lua host");
  net::socket_server* sockets = net::socket_server::of(host->self().owner());
  if (sockets == nullptr)
    return luaL_error(L, "skynet.socketdriver: this node has no socket thread");

  open_read_buffers(L);
  luaL_newlibtable(L, with_server);
  lua_pushlightuserdata(L, sockets);
  lua_pushinteger(L, static_cast<lua_Integer>(host->self().handle()));
  luaL_setfuncs(L, with_server, 2);
  luaL_setfuncs(L, plain, 0);
  luaL_setfuncs(L, read_buffer_functions, 0);
  return 1;
}

}  // namespace starling::lua
