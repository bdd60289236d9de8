#pragma once
// The pieces of `require "skynet"` / "skynet.core" shared by the files that implement them
// (skynet_api.cpp holds the tables; see docs/LUA.md). Internal to src/lua.

#include <cstddef>
#include <cstdint>
#include <lua.hpp>
#include <string_view>
#include <utility>

#include "base/payload.hpp"
#include "core/node.hpp"
#include "lua/protected.hpp"
#include "lua/scheduler.hpp"

namespace starling::lua::api {

// The helpers of every message (inline: the hot paths call them).

/// The scheduler of L's service; raises outside a Starling Lua service.
inline scheduler& host(lua_State* L) {
  scheduler* s = scheduler::of(L);
  if (s == nullptr) luaL_error(L, "skynet needs the Starling Lua host (snlua)");
  return *s;
}

/// A destination as given to send or call: a handle, or a text address.
struct address {
  handle_t handle = 0;
  const char* name = nullptr;  // a text address (".local", ":hex", global) when set
  std::size_t length = 0;
};

/// The address at `index`; raises skynet's errors for 0 and for other types.
inline address check_address(lua_State* L, int index) {
  int is_number = 0;
  const lua_Integer h = lua_tointegerx(L, index, &is_number);
  if (is_number != 0 && h != 0) return {static_cast<handle_t>(h), nullptr, 0};
  if (lua_type(L, index) == LUA_TNUMBER) luaL_error(L, "Invalid service address 0");
  if (lua_type(L, index) != LUA_TSTRING) {
    luaL_error(L, "dest address type (%s) must be a string or number.", luaL_typename(L, index));
  }
  address a;
  a.name = lua_tolstring(L, index, &a.length);
  return a;
}

/// Sends `body`: made last by the caller, after every check that raises, and moved into
/// lua::native's work at once (lua/protected.hpp). Whether it was delivered.
inline bool post(lua_State* L, scheduler& s, handle_t source, const address& to, int type,
                 std::int32_t session, payload body) {
  return native(L, [&] {
    node& runtime = s.self().owner();
    const auto t = static_cast<ptype>(type);
    if (to.name != nullptr) {
      return runtime.send(source, std::string_view(to.name, to.length), t, session,
                          std::move(body));
    }
    return runtime.send(source, to.handle, t, session, std::move(body));
  });
}

/// Pushes the session when delivered, else nil.
inline int push_send_result(lua_State* L, bool delivered, std::int32_t session) {
  if (delivered) {
    lua_pushinteger(L, session);
  } else {
    lua_pushnil(L);
  }
  return 1;
}

/// Pushes ":%08x" for a handle, or the value's text.
void push_address_text(lua_State* L, int index);
/// Pushes `thread` itself onto L.
void push_thread(lua_State* L, lua_State* thread);

// skynet_messages.cpp: send, call, deadline, ret, response
int l_send(lua_State* L);
int l_rawsend(lua_State* L);
int l_redirect(lua_State* L);
int l_call(lua_State* L);
int l_rawcall(lua_State* L);
int l_tracecall(lua_State* L);
int l_newservice(lua_State* L);
int l_uniqueservice(lua_State* L);
int l_queryservice(lua_State* L);
int l_deadline_call(lua_State* L);
int l_deadline_rawcall(lua_State* L);
int l_ret(lua_State* L);
int l_retpack(lua_State* L);
int l_response(lua_State* L);
int l_context(lua_State* L);
int l_ignoreret(lua_State* L);
int l_genid(lua_State* L);

// skynet_coroutines.cpp: fork, sleep, wait, timeout, tasks, exit; tracing
int l_fork(lua_State* L);
int l_sleep(lua_State* L);
int l_yield(lua_State* L);
int l_wait(lua_State* L);
int l_wakeup(lua_State* L);
int l_timeout(lua_State* L);
int l_killthread(lua_State* L);
int l_task(lua_State* L);
int l_exit(lua_State* L);
int l_term(lua_State* L);
int l_trace(lua_State* L);
int l_tracetag(lua_State* L);
int l_tracelog(lua_State* L);
int l_traceproto(lua_State* L);
int l_trace_timeout(lua_State* L);

// skynet_start.cpp: start, init, protocols
int l_init_service(lua_State* L);
int l_start(lua_State* L);
int l_init(lua_State* L);
int l_register_protocol(lua_State* L);
int l_dispatch(lua_State* L);
int l_dispatch_unknown_request(lua_State* L);
int l_dispatch_unknown_response(lua_State* L);
/// The debug protocol's dispatcher: loads lualib/skynet/debug.lua on first use.
int debug_dispatch(lua_State* L);

// skynet_node.cpp: identity, environment, time, commands, the core functions
int l_self(lua_State* L);
int l_localname(lua_State* L);
int l_address(lua_State* L);
int l_harbor(lua_State* L);
int l_getenv(lua_State* L);
int l_setenv(lua_State* L);
int l_now(lua_State* L);
int l_time(lua_State* L);
int l_starttime(lua_State* L);
int l_hpc(lua_State* L);
int l_error(lua_State* L);
int l_command(lua_State* L);
int l_intcommand(lua_State* L);
int l_addresscommand(lua_State* L);
int l_stat(lua_State* L);
int l_mqlen(lua_State* L);
int l_endless(lua_State* L);
int l_memlimit(lua_State* L);
int l_info_func(lua_State* L);
int l_callback(lua_State* L);
int l_core_send(lua_State* L);
int l_tostring(lua_State* L);
int l_trash(lua_State* L);

}  // namespace starling::lua::api
