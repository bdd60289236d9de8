#include "lua/lua_seri.hpp"
#include "lua/protected.hpp"
#include "lua/skynet_api.hpp"
#include "lua/skynet_api_internal.hpp"

namespace starling::lua::api {

// ---- start ------------------------------------------------------------------------------------

void tell_launcher(lua_State* L, scheduler& s, const char* what) {
  lua_pushstring(L, what);
  const int at = lua_gettop(L);
  static constexpr char launcher[] = ".launcher";
  (void)post(L, s, s.self().handle(), address{0, launcher, sizeof launcher - 1},
             static_cast<int>(ptype::lua), 0, pack_values(L, at, at));
  lua_pop(L, 1);
}

// Runs the queued skynet.init functions, then the start function (stack index 1). ctx is
// the index of the next init function; the calls may yield.
int run_start_k(lua_State* L, int status, lua_KContext ctx) {
  (void)status;
  scheduler& s = host(L);
  if (ctx < 0) return 0;  // the start function returned
  for (lua_KContext i = ctx; s.push_init(L, static_cast<lua_Integer>(i)); ++i)
    lua_callk(L, 0, 0, i + 1, run_start_k);
  s.inits_done(L);
  lua_pushvalue(L, 1);
  lua_callk(L, 0, 0, -1, run_start_k);
  return 0;
}

int run_start(lua_State* L) {
  return run_start_k(L, LUA_OK, 1);
}

int init_service_k(lua_State* L, int status, lua_KContext ctx) {
  (void)ctx;
  scheduler& s = host(L);
  s.set_starting(nullptr);
  if (status == LUA_OK || status == LUA_YIELD) {
    tell_launcher(L, s, "LAUNCHOK");
    return 0;
  }
  lua_pushfstring(L, "init service failed: %s", lua_tostring(L, -1));
  const char* text = lua_tostring(L, -1);
  native(L, [&] { s.self().log(text); });
  tell_launcher(L, s, "ERROR");
  s.exit(L);
  lua_settop(L, 0);
  lua_pushliteral(L, "QUIT");
  return lua_yield(L, 1);
}

// skynet.init_service(start): init functions, start, then LAUNCHOK (or ERROR and exit).
int l_init_service(lua_State* L) {
  luaL_checktype(L, 1, LUA_TFUNCTION);
  lua_settop(L, 1);
  lua_pushcfunction(L, traceback_handler);
  lua_pushcfunction(L, run_start);
  lua_pushvalue(L, 1);
  return init_service_k(L, lua_pcallk(L, 1, 0, 2, 0, init_service_k), 0);
}

// skynet.start(f)
int l_start(lua_State* L) {
  scheduler& s = host(L);
  luaL_checktype(L, 1, LUA_TFUNCTION);
  lua_settop(L, 1);
  lua_pushcfunction(L, dispatch_message);
  s.set_callback(L, -1, false);
  lua_settop(L, 1);
  lua_pushcfunction(L, l_init_service);
  lua_insert(L, 1);
  const std::int32_t session = s.new_session();
  native(L, [&] { s.self().timeout(0, session); });
  s.set_starting(&s.wait_with_new_coroutine(L, session, 1));
  return 0;
}

// skynet.init(f)
int l_init(lua_State* L) {
  scheduler& s = host(L);
  luaL_checktype(L, 1, LUA_TFUNCTION);
  lua_settop(L, 1);
  if (s.started()) {
    lua_call(L, 0, 0);
    return 0;
  }
  s.queue_init(L, 1);
  return 0;
}

// ---- protocols --------------------------------------------------------------------------------

int l_register_protocol(lua_State* L) {
  host(L).register_protocol(L, 1);
  return 0;
}

// skynet.dispatch(name [, f]) -> previous / current dispatch function
int l_dispatch(lua_State* L) {
  scheduler& s = host(L);
  std::size_t length = 0;
  const char* name = luaL_checklstring(L, 1, &length);
  protocol* p = s.find_protocol(std::string_view(name, length));
  if (lua_isnoneornil(L, 2)) {
    if (p == nullptr || p->dispatch == LUA_NOREF) return 0;
    lua_rawgeti(L, LUA_REGISTRYINDEX, p->dispatch);
    return 1;
  }
  if (p == nullptr) return luaL_error(L, "attempt to index a nil value (field '%s')", name);
  if (p->dispatch == LUA_NOREF) {
    lua_pushnil(L);
  } else {
    lua_rawgeti(L, LUA_REGISTRYINDEX, p->dispatch);
    luaL_unref(L, LUA_REGISTRYINDEX, p->dispatch);
  }
  lua_pushvalue(L, 2);
  p->dispatch = luaL_ref(L, LUA_REGISTRYINDEX);
  return 1;
}

int l_dispatch_unknown_request(lua_State* L) {
  return host(L).swap_hook(L, scheduler::hook::unknown_request);
}

int l_dispatch_unknown_response(lua_State* L) {
  return host(L).swap_hook(L, scheduler::hook::unknown_response);
}

int debug_dispatched(lua_State* L, int status, lua_KContext ctx) {
  (void)status;
  (void)ctx;
  return lua_gettop(L);
}

// The debug protocol's dispatcher loads lualib/skynet/debug.lua on first use.
int debug_dispatch(lua_State* L) {
  scheduler& s = host(L);
  const int n = lua_gettop(L);
  lua_getglobal(L, "require");
  lua_pushliteral(L, "skynet.debug");
  lua_call(L, 1, 1);
  lua_getfield(L, -1, "dispatch");
  lua_remove(L, -2);
  if (protocol* p = s.find_protocol(static_cast<int>(ptype::debug))) {
    if (p->dispatch != LUA_NOREF) luaL_unref(L, LUA_REGISTRYINDEX, p->dispatch);
    lua_pushvalue(L, -1);
    p->dispatch = luaL_ref(L, LUA_REGISTRYINDEX);
  }
  lua_insert(L, 1);
  lua_callk(L, n, LUA_MULTRET, 0, debug_dispatched);  // commands such as EXIT and GC yield
  return lua_gettop(L);
}

}  // namespace starling::lua::api
