#include <cstring>

#include "core/node.hpp"
#include "lua/protected.hpp"
#include "lua/skynet_api_internal.hpp"

namespace starling::lua::api {

// ---- coroutines -------------------------------------------------------------------------------

// skynet.fork(f, ...)
int l_fork(lua_State* L) {
  scheduler& s = host(L);
  luaL_checktype(L, 1, LUA_TFUNCTION);
  const int n = lua_gettop(L);
  coroutine_info& co = s.take_coroutine(L);
  lua_checkstack(co.thread, n + 1);
  lua_xmove(L, co.thread, n);
  native(L, [&] { s.fork(co); });
  push_thread(L, co.thread);
  return 1;
}

// The record of the running coroutine when the token at index 1 is that coroutine itself and
// it is one of the service's own: its sleep is kept in the record, not the sleeping table.
coroutine_info* own_token(lua_State* L, scheduler& s) {
  return lua_tothread(L, 1) == L ? s.managed(L) : nullptr;
}

// Stack [token, resume values...] after a sleep or wait.
int sleep_k(lua_State* L, int status, lua_KContext ctx) {
  (void)status;
  scheduler& s = host(L);
  std::int32_t session = 0;
  if (coroutine_info* own = own_token(L, s)) {
    session = own->self_sleep;
    own->self_sleep = 0;
  } else {
    lua_rawgeti(L, LUA_REGISTRYINDEX, s.sleeping_ref());
    lua_pushvalue(L, 1);
    lua_rawget(L, -2);
    session = static_cast<std::int32_t>(lua_tointeger(L, -1));
    lua_pop(L, 1);
    lua_pushvalue(L, 1);
    lua_pushnil(L);
    lua_rawset(L, -3);
    lua_pop(L, 1);
    s.token_wakes();
  }
  const bool woken = lua_toboolean(L, 2) == 0;
  if (!woken) return 0;
  if (ctx == 0) s.end_woken_wait(session);
  const char* why = lua_tostring(L, 3);
  if (why == nullptr || std::strcmp(why, "BREAK") != 0) return luaL_error(L, "sleep failed");
  if (ctx == 0) return 0;  // wait returns nothing
  lua_pushliteral(L, "BREAK");
  return 1;
}

// Suspends the running coroutine on `session` under `token` (stack index 1).
int suspend_on(lua_State* L, scheduler& s, std::int32_t session, lua_KContext ctx) {
  native(L, [&] { s.trace_event("sleep", L, 1); });
  if (coroutine_info* own = own_token(L, s)) {
    own->self_sleep = session;
  } else {
    lua_rawgeti(L, LUA_REGISTRYINDEX, s.sleeping_ref());
    lua_pushvalue(L, 1);
    lua_pushinteger(L, session);
    lua_rawset(L, -3);
    s.token_sleeps();
  }
  lua_settop(L, 1);
  lua_pushliteral(L, "SUSPEND");
  lua_pushinteger(L, session);
  return lua_yieldk(L, 2, ctx, sleep_k);
}

// Leaves the token at stack index 1; raises "token duplicative" if it already sleeps.
void check_token(lua_State* L, scheduler& s, int token_index) {
  if (lua_isnoneornil(L, token_index)) {
    lua_settop(L, 0);
    lua_pushthread(L);
  } else {
    lua_pushvalue(L, token_index);
    lua_replace(L, 1);
    lua_settop(L, 1);
  }
  coroutine_info* own = lua_type(L, 1) == LUA_TTHREAD ? s.managed(lua_tothread(L, 1)) : nullptr;
  bool taken = own != nullptr && own->self_sleep != 0;
  if (!taken && s.tokens_sleep()) {
    lua_rawgeti(L, LUA_REGISTRYINDEX, s.sleeping_ref());
    lua_pushvalue(L, 1);
    taken = lua_rawget(L, -2) != LUA_TNIL;
    lua_pop(L, 2);
  }
  if (taken) luaL_error(L, "token duplicative");
}

// skynet.sleep(ti, token) -> nil | "BREAK"
int l_sleep(lua_State* L) {
  scheduler& s = host(L);
  const lua_Integer ticks = luaL_checkinteger(L, 1);
  if (!lua_isyieldable(L)) return luaL_error(L, "attempt to yield from outside a coroutine");
  check_token(L, s, 2);
  const std::int32_t session = s.new_session();
  native(L, [&] { s.self().timeout(ticks, session); });
  return suspend_on(L, s, session, 1);
}

// skynet.yield()
int l_yield(lua_State* L) {
  lua_settop(L, 0);
  lua_pushinteger(L, 0);
  return l_sleep(L);
}

// skynet.wait(token)
int l_wait(lua_State* L) {
  scheduler& s = host(L);
  if (!lua_isyieldable(L)) return luaL_error(L, "attempt to yield from outside a coroutine");
  lua_settop(L, 1);
  lua_pushnil(L);
  lua_insert(L, 1);  // check_token reads the token from index 2
  check_token(L, s, 2);
  return suspend_on(L, s, s.new_session(), 0);
}

// skynet.wakeup(token) -> true | nil
int l_wakeup(lua_State* L) {
  if (host(L).wakeup(L, 1)) {
    lua_pushboolean(L, 1);
    return 1;
  }
  return 0;
}

// skynet.timeout(ti, f) -> coroutine
int l_timeout(lua_State* L) {
  scheduler& s = host(L);
  const lua_Integer ticks = luaL_checkinteger(L, 1);
  luaL_checktype(L, 2, LUA_TFUNCTION);
  lua_settop(L, 2);
  const std::int32_t session = s.new_session();
  native(L, [&] { s.self().timeout(ticks, session); });
  coroutine_info& co = s.wait_with_new_coroutine(L, session, 0);
  if (s.traces_timeouts()) {
    lua_pushfstring(L, "TIMER %I+%I : ", static_cast<LUAI_UACINT>(s.self().owner().now()),
                    static_cast<LUAI_UACINT>(ticks));
    luaL_traceback(L, L, lua_tostring(L, -1), 1);
    co.timer_origin = luaL_ref(L, LUA_REGISTRYINDEX);
    lua_pop(L, 1);
  }
  push_thread(L, co.thread);
  return 1;
}

// skynet.killthread(co | text) -> co | nil
int l_killthread(lua_State* L) {
  scheduler& s = host(L);
  coroutine_info* co = s.find_waiting(L, 1);
  if (co == nullptr || co->thread == L) return 0;
  push_thread(L, co->thread);
  s.kill_coroutine(*co);
  return 1;
}

// skynet.task([arg])
int l_task(lua_State* L) {
  scheduler& s = host(L);
  switch (lua_type(L, 1)) {
    case LUA_TNONE:
    case LUA_TNIL:
      lua_pushinteger(L, static_cast<lua_Integer>(s.pending_sessions()));
      return 1;
    case LUA_TTABLE:
      lua_settop(L, 1);
      s.describe_tasks(L);
      return 1;
    case LUA_TNUMBER:
      s.describe_session(L, static_cast<std::int32_t>(lua_tointeger(L, 1)));
      return 1;
    case LUA_TTHREAD:
      s.push_waiting_session(L, 1);
      return 1;
    default:
      if (lua_type(L, 1) == LUA_TSTRING && std::strcmp(lua_tostring(L, 1), "init") == 0 &&
          s.starting() != nullptr) {
        luaL_traceback(L, s.starting()->thread, nullptr, 0);
      } else {
        lua_pushnil(L);
      }
      return 1;
  }
}

// skynet.exit(): never returns
int l_exit(lua_State* L) {
  scheduler& s = host(L);
  if (!lua_isyieldable(L)) {
    s.exit(L);
    return luaL_error(L, "attempt to yield from outside a coroutine");
  }
  s.exit(L);
  lua_settop(L, 0);
  lua_pushliteral(L, "QUIT");
  return lua_yield(L, 1);
}

// skynet.term(addr)
int l_term(lua_State* L) {
  luaL_checkany(L, 1);
  host(L).term(L, 1);
  return 0;
}

// ---- tracing ------------------------------------------------------------------------------------

// skynet.trace([info])
int l_trace(lua_State* L) {
  scheduler& s = host(L);
  s.start_trace(s.running(), luaL_optstring(L, 1, nullptr));
  return 0;
}

// skynet.tracetag() -> tag | false | nil
int l_tracetag(lua_State* L) {
  const coroutine_info& co = host(L).running();
  switch (co.trace) {
    case trace_mode::unset:
      lua_pushnil(L);
      break;
    case trace_mode::off:
      lua_pushboolean(L, 0);
      break;
    case trace_mode::on:
      lua_pushlstring(L, co.trace_tag.data(), co.trace_tag.size());
      break;
  }
  return 1;
}

// skynet.tracelog(tag, text [, co] [, level]): positions from `level` (default 1, the caller)
// when a coroutine or a level is given.
int l_tracelog(lua_State* L) {
  scheduler& s = host(L);
  const char* tag = luaL_checkstring(L, 1);
  const char* text = luaL_checkstring(L, 2);
  lua_State* co = nullptr;
  int level = 0;
  if (lua_type(L, 3) == LUA_TTHREAD) {
    co = lua_tothread(L, 3);
    level = static_cast<int>(luaL_optinteger(L, 4, 1));
  } else if (!lua_isnoneornil(L, 3)) {
    co = L;
    level = static_cast<int>(luaL_checkinteger(L, 3));
  }
  native(L, [&] { s.trace_log(tag, text, co, level); });
  return 0;
}

// skynet.traceproto(name or id, flag)
int l_traceproto(lua_State* L) {
  scheduler& s = host(L);
  protocol* p = nullptr;
  if (lua_type(L, 1) == LUA_TNUMBER) {
    p = s.find_protocol(static_cast<int>(lua_tointeger(L, 1)));
  } else {
    std::size_t length = 0;
    const char* name = luaL_checklstring(L, 1, &length);
    p = s.find_protocol(std::string_view(name, length));
  }
  if (p == nullptr) return luaL_argerror(L, 1, "unknown protocol");
  if (lua_isnoneornil(L, 2)) {
    p->trace = trace_mode::unset;
  } else {
    p->trace = lua_toboolean(L, 2) != 0 ? trace_mode::on : trace_mode::off;
  }
  return 0;
}

// skynet.trace_timeout(on)
int l_trace_timeout(lua_State* L) {
  host(L).set_trace_timeouts(lua_toboolean(L, 1) != 0);
  return 0;
}

}  // namespace starling::lua::api
