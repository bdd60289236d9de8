#include "lua/ltls_module.hpp"

#include <cstring>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "lua/protected.hpp"
#include "net/tls.hpp"

namespace starling::lua {

namespace {

constexpr const char* ctx_type = "ltls.ctx";
constexpr const char* tls_type = "ltls.tls";

// The userdata hold an optional: empty until made, and again once closed.
using ctx_box = std::optional<net::tls_context>;
using tls_box = std::optional<net::tls_connection>;

// An empty optional owns nothing: resetting is all its destruction needs, and a userdata
// resurrected after its __gc then finds a closed object, not freed memory.
template <class Box>
int collect(lua_State* L) {
  static_cast<Box*>(lua_touserdata(L, 1))->reset();
  return 0;
}

template <class Box>
Box* new_box(lua_State* L, const char* type) {
  auto* box = static_cast<Box*>(lua_newuserdatauv(L, sizeof(Box), 0));
  std::construct_at(box);
  luaL_setmetatable(L, type);
  return box;
}

net::tls_context& check_ctx(lua_State* L, int index) {
  auto* box = static_cast<ctx_box*>(luaL_checkudata(L, index, ctx_type));
  if (!box->has_value()) luaL_error(L, "context is closed");
  return **box;
}

net::tls_connection& check_tls(lua_State* L) {
  auto* box = static_cast<tls_box*>(luaL_checkudata(L, 1, tls_type));
  if (!box->has_value()) luaL_error(L, "context is closed");
  return **box;
}

std::string_view opt_view(lua_State* L, int index) {
  std::size_t size = 0;
  const char* s = luaL_optlstring(L, index, "", &size);
  return {s, size};
}

int push_string(lua_State* L, const std::string& s) {
  lua_pushlstring(L, s.data(), s.size());
  return 1;
}

// newctx() -> a context for clients and servers
int newctx(lua_State* L) {
  ctx_box* box = new_box<ctx_box>(L, ctx_type);
  native(L, [&] { box->emplace(); });
  return 1;
}

// ctx:set_cert(certfile, keyfile)
int set_cert(lua_State* L) {
  net::tls_context& ctx = check_ctx(L, 1);
  const char* cert = lua_tostring(L, 2);
  if (cert == nullptr) return luaL_error(L, "need certfile");
  const char* key = lua_tostring(L, 3);
  if (key == nullptr) return luaL_error(L, "need private key");
  native(L, [&] { ctx.set_cert(cert, key); });
  return 0;
}

// ctx:set_ciphers(list)
int set_ciphers(lua_State* L) {
  net::tls_context& ctx = check_ctx(L, 1);
  const char* ciphers = luaL_checkstring(L, 2);
  native(L, [&] { ctx.set_ciphers(ciphers); });
  return 0;
}

// newtls(method, ctx [, hostname]) -> a TLS session, "client" or "server"
int newtls(lua_State* L) {
  const char* method = luaL_checkstring(L, 1);
  const bool client = std::strcmp(method, "client") == 0;
  if (!client && std::strcmp(method, "server") != 0) {
    return luaL_error(L, "invalid method:%s e.g[server, client]", method);
  }
  net::tls_context& ctx = check_ctx(L, 2);
  const std::string_view host = client ? opt_view(L, 3) : std::string_view{};
  tls_box* box = new_box<tls_box>(L, tls_type);
  native(L, [&] {
    box->emplace(
        ctx, client ? net::tls_connection::role::client : net::tls_connection::role::server, host);
  });
  return 1;
}

// tls:handshake([received]) -> bytes to send, or nothing
int handshake(lua_State* L) {
  net::tls_connection& tls = check_tls(L);
  if (tls.finished()) return luaL_error(L, "handshake is finished");
  const std::string_view received = opt_view(L, 2);
  return native(
      L, [&] { return tls.handshake(received); },
      [](lua_State* S, const std::string& out) { return out.empty() ? 0 : push_string(S, out); });
}

int finished(lua_State* L) {
  lua_pushboolean(L, check_tls(L).finished() ? 1 : 0);
  return 1;
}

// tls:read(received) -> the plaintext they complete (maybe "")
int read(lua_State* L) {
  net::tls_connection& tls = check_tls(L);
  const std::string_view received = opt_view(L, 2);
  return native(
      L, [&] { return tls.read(received); }, push_string);
}

// tls:write(plaintext) -> bytes to send
int write(lua_State* L) {
  net::tls_connection& tls = check_tls(L);
  const std::string_view plain = opt_view(L, 2);
  return native(
      L, [&] { return tls.write(plain); }, push_string);
}

int set_ext_host_name(lua_State* L) {
  net::tls_connection& tls = check_tls(L);
  const char* name = luaL_checkstring(L, 2);
  lua_pushinteger(L, native(L, [&] { return tls.set_host_name(name); }));
  return 1;
}

int close(lua_State* L) {
  check_tls(L);
  static_cast<tls_box*>(lua_touserdata(L, 1))->reset();
  return 0;
}

void new_type(lua_State* L, const char* type, const luaL_Reg* methods, lua_CFunction gc) {
  if (luaL_newmetatable(L, type) != 0) {
    lua_newtable(L);
    luaL_setfuncs(L, methods, 0);
    lua_setfield(L, -2, "__index");
    lua_pushcfunction(L, gc);
    lua_setfield(L, -2, "__gc");
  }
  lua_pop(L, 1);
}

}  // namespace

int open_ltls(lua_State* L) {
  luaL_checkversion(L);
  const luaL_Reg ctx_methods[] = {
      {"set_cert", set_cert},
      {"set_ciphers", set_ciphers},
      {nullptr, nullptr},
  };
  const luaL_Reg tls_methods[] = {
      {"handshake", handshake},
      {"finished", finished},
      {"read", read},
      {"write", write},
      {"set_ext_host_name", set_ext_host_name},
      {"close", close},
      {nullptr, nullptr},
  };
  const luaL_Reg functions[] = {
      {"newctx", newctx},
      {"newtls", newtls},
      {nullptr, nullptr},
  };
  new_type(L, ctx_type, ctx_methods, collect<ctx_box>);
  new_type(L, tls_type, tls_methods, collect<tls_box>);
  luaL_newlib(L, functions);
  return 1;
}

}  // namespace starling::lua
