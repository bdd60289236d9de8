#include "lua/skynet_api.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <iterator>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "core/command.hpp"
#include "core/node.hpp"
#include "lua/lua_seri.hpp"
#include "lua/protected.hpp"
#include "lua/scheduler.hpp"

// C++ parts run through lua::native (lua/protected.hpp). A message body is packed last, after
// every check that raises, and goes straight to `post`, which moves it into native's work.

namespace starling::lua {

namespace {

scheduler& host(lua_State* L) {
  scheduler* s = scheduler::of(L);
  if (s == nullptr) luaL_error(L, "skynet needs the Starling Lua host (snlua)");
  return *s;
}

// ---- addresses and message bodies -----------------------------------------------------------

struct address {
  handle_t handle = 0;
  const char* name = nullptr;  // a text address (".local", ":hex", global) when set
  std::size_t length = 0;
};

address check_address(lua_State* L, int index) {
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

// Sends `body`; whether it was delivered.
bool post(lua_State* L, scheduler& s, handle_t source, const address& to, int type,
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

int push_send_result(lua_State* L, bool delivered, std::int32_t session) {
  if (delivered) {
    lua_pushinteger(L, session);
  } else {
    lua_pushnil(L);
  }
  return 1;
}

void push_address_text(lua_State* L, int index) {
  if (lua_type(L, index) == LUA_TNUMBER) {
    lua_pushfstring(L, ":%s", fmt::format("{:08x}", lua_tointeger(L, index)).c_str());
  } else {
    luaL_tolstring(L, index, nullptr);
  }
}

// ---- sending ----------------------------------------------------------------------------------

// skynet.send(addr, typename, ...)
int l_send(lua_State* L) {
  scheduler& s = host(L);
  const address to = check_address(L, 1);
  const protocol& p = s.checked_protocol(L, 2);
  const int top = lua_gettop(L);
  const bool delivered = post(L, s, s.self().handle(), to, p.id, 0, s.pack_with(L, p, 3, top));
  return push_send_result(L, delivered, 0);
}

// skynet.rawsend(addr, typename, msg, sz)
int l_rawsend(lua_State* L) {
  scheduler& s = host(L);
  const address to = check_address(L, 1);
  const protocol& p = s.checked_protocol(L, 2);
  const bool delivered = post(L, s, s.self().handle(), to, p.id, 0, raw_message(L, 3));
  return push_send_result(L, delivered, 0);
}

// skynet.redirect(addr, source, typename, session, msg, sz)
int l_redirect(lua_State* L) {
  scheduler& s = host(L);
  const address to = check_address(L, 1);
  auto source = static_cast<handle_t>(luaL_checkinteger(L, 2));
  if (source == 0) source = s.self().handle();  // as skynet: source 0 means "from me"
  const int type = lua_type(L, 3) == LUA_TNUMBER ? static_cast<int>(lua_tointeger(L, 3))
                                                 : s.checked_protocol(L, 3).id;
  const auto session = static_cast<std::int32_t>(luaL_checkinteger(L, 4));
  const bool delivered = post(L, s, source, to, type, session, raw_message(L, 5));
  return push_send_result(L, delivered, session);
}

// ---- calling ----------------------------------------------------------------------------------

// A failed call raises "call failed", or the reason it was resumed with (a deadline's).
int call_failed(lua_State* L, int reason) {
  if (lua_type(L, reason) == LUA_TSTRING) return luaL_error(L, "%s", lua_tostring(L, reason));
  return luaL_error(L, "call failed");
}

int call_k(lua_State* L, int status, lua_KContext ctx) {
  (void)status;
  if (lua_toboolean(L, 1) == 0) return call_failed(L, 2);
  scheduler& s = host(L);
  const void* data = lua_touserdata(L, 2);
  const auto size = static_cast<std::size_t>(lua_tointeger(L, 3));
  if (ctx < 0) {  // rawcall: the buffer as it came
    lua_settop(L, 3);
    return 2;
  }
  const protocol* p = s.find_protocol(static_cast<int>(ctx));
  lua_settop(L, 1);  // slot 1 becomes the decoder's scratch slot
  if (p == nullptr) return 0;
  return s.unpack_with(L, *p, data, size, 1);
}

// A traced call tells the callee its tag first (PTYPE_TRACE, ahead of the request).
void send_trace_tag(lua_State* L, scheduler& s, const address& to, std::string_view tag) {
  native(L, [&] {
    node& runtime = s.self().owner();
    const handle_t self = s.self().handle();
    if (to.name != nullptr) {
      (void)runtime.send(self, std::string_view(to.name, to.length), ptype::trace, 0,
                         payload::copy_of(tag));
    } else {
      (void)runtime.send(self, to.handle, ptype::trace, 0, payload::copy_of(tag));
    }
  });
}

// Sends the request packed in `body`; raises "call to invalid address" when it cannot go.
// With `keep_top`, the value on the stack top stays under the yielded values (tracecall's tag).
// `deadline` (ticks; 0: the node's call_timeout; -1: none) fails the call when it passes.
int request(lua_State* L, scheduler& s, const address& to, int type, bool raw, lua_KContext ctx,
            lua_KFunction k = call_k, bool keep_top = false, std::int64_t deadline = 0) {
  if (const coroutine_info& running = s.running(); running.trace == trace_mode::on) {
    native(L, [&] { s.trace_log(running.trace_tag, "call", L, 1); });
    send_trace_tag(L, s, to, running.trace_tag);
  }
  const std::int32_t session = s.new_session();
  const bool delivered =
      post(L, s, s.self().handle(), to, type, session,
           raw ? raw_message(L, 3) : s.pack_with(L, *s.find_protocol(type), 3, lua_gettop(L)));
  if (!delivered) {
    if (raw) return luaL_error(L, "call to invalid address");
    push_address_text(L, 1);
    return luaL_error(L, "call to invalid address %s", lua_tostring(L, -1));
  }
  s.note_call(session, to.name == nullptr ? to.handle : 0,
              to.name == nullptr ? std::string_view() : std::string_view(to.name, to.length),
              deadline);
  if (keep_top) {
    lua_replace(L, 1);
    lua_settop(L, 1);
  } else {
    lua_settop(L, 0);
  }
  lua_pushliteral(L, "SUSPEND");
  lua_pushinteger(L, session);
  return lua_yieldk(L, 2, ctx, k);
}

// skynet.call(addr, typename, ...)
int l_call(lua_State* L) {
  scheduler& s = host(L);
  const address to = check_address(L, 1);
  const protocol& p = s.checked_protocol(L, 2);
  return request(L, s, to, p.id, false, p.id);
}

// skynet.rawcall(addr, typename, msg, sz)
int l_rawcall(lua_State* L) {
  scheduler& s = host(L);
  const address to = check_address(L, 1);
  const protocol& p = s.checked_protocol(L, 2);
  return request(L, s, to, p.id, true, -1);
}

// Stack [tag, ok, msg, sz, session] after tracecall's request.
int tracecall_k(lua_State* L, int status, lua_KContext ctx) {
  (void)status;
  (void)ctx;
  if (lua_toboolean(L, 2) == 0) return call_failed(L, 3);
  host(L).trace_log(lua_tostring(L, 1), "tracecall end");
  lua_settop(L, 4);
  return 2;
}

// skynet.tracecall(tag, addr, typename, msg, sz): rawcall under an explicit tag.
int l_tracecall(lua_State* L) {
  scheduler& s = host(L);
  luaL_checkstring(L, 1);
  lua_settop(L, 5);
  lua_rotate(L, 1, -1);  // the tag goes on top: [addr, typename, msg, sz, tag]
  const address to = check_address(L, 1);
  const protocol& p = s.checked_protocol(L, 2);
  const char* tag = lua_tostring(L, 5);
  native(L, [&] { s.trace_log(tag, "tracecall begin"); });
  send_trace_tag(L, s, to, tag);
  return request(L, s, to, p.id, true, -1, tracecall_k, true);
}

// ---- skynet.deadline (Starling's): calls that give up ------------------------------------------

// The deadline at index 1, removed from the stack: ticks (> 0), or false for none at all
// (-1 for note_call: not even the node's call_timeout).
std::int64_t take_deadline(lua_State* L) {
  std::int64_t ticks = -1;
  if (lua_type(L, 1) != LUA_TBOOLEAN || lua_toboolean(L, 1) != 0) {
    ticks = luaL_checkinteger(L, 1);
    luaL_argcheck(L, ticks > 0, 1, "the deadline must be a positive number of ticks or false");
  }
  lua_remove(L, 1);
  return ticks;
}

// deadline.call(ticks, addr, typename, ...)
int l_deadline_call(lua_State* L) {
  scheduler& s = host(L);
  const std::int64_t ticks = take_deadline(L);
  const address to = check_address(L, 1);
  const protocol& p = s.checked_protocol(L, 2);
  return request(L, s, to, p.id, false, p.id, call_k, false, ticks);
}

// deadline.rawcall(ticks, addr, typename, msg, sz)
int l_deadline_rawcall(lua_State* L) {
  scheduler& s = host(L);
  const std::int64_t ticks = take_deadline(L);
  const address to = check_address(L, 1);
  const protocol& p = s.checked_protocol(L, 2);
  return request(L, s, to, p.id, true, -1, call_k, false, ticks);
}

// ---- replying ---------------------------------------------------------------------------------

coroutine_info& owed_request(lua_State* L, const char* error) {
  coroutine_info& co = scheduler::current(L);
  if (!co.owes_reply()) luaL_error(L, "%s", error);
  return co;
}

// The request is consumed only once the reply is built: a reply that cannot be packed raises
// with the request still owed, so the failing handler answers it with an error.
int reply_with(lua_State* L, coroutine_info& co, bool packed) {
  if (co.session == 0) {
    co.consume_request();
    if (!packed && lua_type(L, 1) == LUA_TLIGHTUSERDATA) std::free(lua_touserdata(L, 1));
    lua_pushboolean(L, 0);
    return 1;
  }
  scheduler& s = host(L);
  const bool sent = post(L, s, s.self().handle(), address{co.source, nullptr, 0},
                         static_cast<int>(ptype::response), co.session,
                         packed ? pack_values(L, 1, lua_gettop(L)) : raw_message(L, 1));
  co.consume_request();
  lua_pushboolean(L, sent ? 1 : 0);
  return 1;
}

// skynet.ret(msg, sz)
int l_ret(lua_State* L) {
  host(L).trace_event("response");
  return reply_with(L, owed_request(L, "No session"), false);
}

// skynet.retpack(...)
int l_retpack(lua_State* L) {
  host(L).trace_event("response");
  return reply_with(L, owed_request(L, "No session"), true);
}

// resp(ok, ...): the closure skynet.response returns. Upvalues: record, pack function or nil.
int response_call(lua_State* L) {
  scheduler& s = host(L);
  auto* record = static_cast<response_record*>(lua_touserdata(L, lua_upvalueindex(1)));
  if (lua_type(L, 1) == LUA_TSTRING && std::strcmp(lua_tostring(L, 1), "TEST") == 0) {
    lua_pushboolean(L, !record->used && !record->gone ? 1 : 0);
    return 1;
  }
  if (record->used) return luaL_error(L, "Can't response more than once");
  record->used = true;
  // No longer owed: leave the table of unanswered closures.
  lua_rawgeti(L, LUA_REGISTRYINDEX, s.unanswered_ref());
  lua_pushnil(L);
  while (lua_next(L, -2) != 0) {
    lua_pop(L, 1);
    bool mine = false;
    if (lua_getupvalue(L, -1, 1) != nullptr) {
      mine = lua_touserdata(L, -1) == record;
      lua_pop(L, 1);
    }
    if (mine) {
      lua_pushnil(L);
      lua_rawset(L, -3);
      break;
    }
  }
  lua_pop(L, 1);
  if (record->gone) {
    lua_pushboolean(L, 0);
    return 1;
  }
  context& self = s.self();
  if (lua_toboolean(L, 1) == 0) {
    (void)self.send(record->source, ptype::error, record->session, {});
    lua_pushboolean(L, 1);
    return 1;
  }
  const int top = lua_gettop(L);
  if (!lua_isnil(L, lua_upvalueindex(2))) {
    lua_pushvalue(L, lua_upvalueindex(2));
    lua_insert(L, 2);
    lua_call(L, top - 1, 2);  // the custom pack: its result replaces the arguments
  }
  const bool sent =
      post(L, s, self.handle(), address{record->source, nullptr, 0},
           static_cast<int>(ptype::response), record->session,
           lua_isnil(L, lua_upvalueindex(2)) ? pack_values(L, 2, top) : raw_message(L, 2));
  lua_pushboolean(L, sent ? 1 : 0);
  return 1;
}

int response_nothing(lua_State* L) {
  (void)L;
  return 0;
}

// skynet.response([pack])
int l_response(lua_State* L) {
  scheduler& s = host(L);
  coroutine_info& co = owed_request(L, "no session");
  co.consume_request();
  if (co.session == 0) {
    lua_pushcfunction(L, response_nothing);
    return 1;
  }
  const bool custom = !lua_isnoneornil(L, 1) && lua_tocfunction(L, 1) != &lua::pack;
  auto* record = static_cast<response_record*>(lua_newuserdatauv(L, sizeof(response_record), 0));
  *record = response_record{false, false, co.session, co.source};
  if (custom) {
    lua_pushvalue(L, 1);
  } else {
    lua_pushnil(L);
  }
  lua_pushcclosure(L, response_call, 2);
  lua_rawgeti(L, LUA_REGISTRYINDEX, s.unanswered_ref());
  lua_pushvalue(L, -2);
  lua_pushinteger(L, co.source);
  lua_rawset(L, -3);
  lua_pop(L, 1);
  return 1;
}

// skynet.context() -> session, source of the running coroutine's request
int l_context(lua_State* L) {
  const coroutine_info& co = scheduler::current(L);
  if (co.owes_reply()) {
    lua_pushinteger(L, co.session);
  } else {
    lua_pushnil(L);
  }
  if (co.request != request_state::none) {
    lua_pushinteger(L, co.source);
  } else {
    lua_pushnil(L);
  }
  return 2;
}

int l_ignoreret(lua_State* L) {
  scheduler::current(L).consume_request();
  return 0;
}

int l_genid(lua_State* L) {
  lua_pushinteger(L, host(L).new_session());
  return 1;
}

// ---- coroutines -------------------------------------------------------------------------------

void push_thread(lua_State* L, lua_State* thread) {
  lua_pushthread(thread);
  lua_xmove(thread, L, 1);
}

// skynet.fork(f, ...)
int l_fork(lua_State* L) {
  scheduler& s = host(L);
  luaL_checktype(L, 1, LUA_TFUNCTION);
  const int n = lua_gettop(L);
  coroutine_info& co = s.take_coroutine(L);
  lua_checkstack(co.thread, n + 1);
  lua_xmove(L, co.thread, n);
  s.fork(co);
  push_thread(L, co.thread);
  return 1;
}

// Stack [token, resume values...] after a sleep or wait.
int sleep_k(lua_State* L, int status, lua_KContext ctx) {
  (void)status;
  scheduler& s = host(L);
  lua_rawgeti(L, LUA_REGISTRYINDEX, s.sleeping_ref());
  lua_pushvalue(L, 1);
  lua_pushnil(L);
  lua_rawset(L, -3);
  lua_pop(L, 1);
  const bool woken = lua_toboolean(L, 2) == 0;
  if (!woken) return 0;
  const char* why = lua_tostring(L, 3);
  if (why == nullptr || std::strcmp(why, "BREAK") != 0) return luaL_error(L, "sleep failed");
  if (ctx == 0) return 0;  // wait returns nothing
  lua_pushliteral(L, "BREAK");
  return 1;
}

// Suspends the running coroutine on `session` under `token` (stack index 1).
int suspend_on(lua_State* L, scheduler& s, std::int32_t session, lua_KContext ctx) {
  s.trace_event("sleep", L, 1);
  lua_rawgeti(L, LUA_REGISTRYINDEX, s.sleeping_ref());
  lua_pushvalue(L, 1);
  lua_pushinteger(L, session);
  lua_rawset(L, -3);
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
  lua_rawgeti(L, LUA_REGISTRYINDEX, s.sleeping_ref());
  lua_pushvalue(L, 1);
  const bool taken = lua_rawget(L, -2) != LUA_TNIL;
  lua_pop(L, 2);
  if (taken) luaL_error(L, "token duplicative");
}

// skynet.sleep(ti, token) -> nil | "BREAK"
int l_sleep(lua_State* L) {
  scheduler& s = host(L);
  const lua_Integer ticks = luaL_checkinteger(L, 1);
  if (!lua_isyieldable(L)) return luaL_error(L, "attempt to yield from outside a coroutine");
  check_token(L, s, 2);
  const std::int32_t session = s.new_session();
  s.self().timeout(ticks, session);
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
  s.self().timeout(ticks, session);
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
  s.trace_log(tag, text, co, level);
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
  s.self().log(lua_tostring(L, -1));
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
  s.self().timeout(0, session);
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

// ---- identity, environment, time ----------------------------------------------------------

int l_self(lua_State* L) {
  lua_pushinteger(L, host(L).self().handle());
  return 1;
}

int l_localname(lua_State* L) {
  std::size_t length = 0;
  const char* name = luaL_checklstring(L, 1, &length);
  if (length < 2 || name[0] != '.') return 0;
  const auto h = host(L).self().owner().find_name(std::string_view(name + 1, length - 1));
  if (!h) return 0;
  lua_pushinteger(L, *h);
  return 1;
}

int l_address(lua_State* L) {
  push_address_text(L, 1);
  return 1;
}

int l_harbor(lua_State* L) {
  scheduler& s = host(L);
  const auto h = static_cast<handle_t>(luaL_checkinteger(L, 1));
  const handle_t harbor = h >> 24;
  lua_pushinteger(L, harbor);
  lua_pushboolean(L, harbor != 0 && harbor != s.self().owner().options().harbor ? 1 : 0);
  return 2;
}

template <class Text>
int push_text_or_nil(lua_State* L, const std::optional<Text>& text) {
  if (text) {
    lua_pushlstring(L, text->data(), text->size());
  } else {
    lua_pushnil(L);
  }
  return 1;
}

int l_getenv(lua_State* L) {
  const char* key = luaL_checkstring(L, 1);
  scheduler& s = host(L);
  return native(L, [&] { return s.self().owner().env().get(key); }, push_text_or_nil<std::string>);
}

int l_setenv(lua_State* L) {
  const char* key = luaL_checkstring(L, 1);
  const char* value = luaL_checkstring(L, 2);
  scheduler& s = host(L);
  if (!native(L, [&] { return s.self().owner().env().set(key, value); })) {
    return luaL_error(L, "Can't setenv exist key : %s", key);
  }
  return 0;
}

int l_now(lua_State* L) {
  lua_pushinteger(L, host(L).self().owner().now());
  return 1;
}

int l_time(lua_State* L) {
  const node& runtime = host(L).self().owner();
  lua_pushnumber(L, static_cast<lua_Number>(runtime.now()) / 100.0 +
                        static_cast<lua_Number>(runtime.start_time()));
  return 1;
}

int l_starttime(lua_State* L) {
  lua_pushinteger(L, host(L).self().owner().start_time());
  return 1;
}

int l_hpc(lua_State* L) {
  lua_pushinteger(L, static_cast<lua_Integer>(node::hpc()));
  return 1;
}

// skynet.error(...): tostring of each argument, joined by single spaces.
int l_error(lua_State* L) {
  scheduler& s = host(L);
  const int n = lua_gettop(L);
  luaL_Buffer b;
  luaL_buffinit(L, &b);
  if (n == 0) luaL_addstring(&b, "nil");
  for (int i = 1; i <= n; ++i) {
    if (i > 1) luaL_addchar(&b, ' ');
    luaL_tolstring(L, i, nullptr);
    luaL_addvalue(&b);
  }
  luaL_pushresult(&b);
  std::size_t length = 0;
  const char* text = lua_tolstring(L, -1, &length);
  native(L, [&] { s.self().log(std::string_view(text, length)); });
  return 0;
}

// The native command's text result; pushes it (or nothing) and returns the count.
int run(lua_State* L, const char* command, const char* param, int (*convert)(lua_State*)) {
  scheduler& s = host(L);
  native(
      L, [&] { return run_command(s.self(), command, param == nullptr ? "" : param); },
      push_text_or_nil<std::string>);
  if (lua_isnil(L, -1)) return 0;
  return convert == nullptr ? 1 : convert(L);
}

int to_number(lua_State* L) {
  if (lua_stringtonumber(L, lua_tostring(L, -1)) == 0) {
    return luaL_error(L, "Invalid result %s", lua_tostring(L, -1));
  }
  return 1;
}

int to_handle(lua_State* L) {
  const char* text = lua_tostring(L, -1);
  if (text[0] != ':') return 0;
  lua_pushinteger(L, static_cast<lua_Integer>(std::strtoul(text + 1, nullptr, 16)));
  return 1;
}

int l_command(lua_State* L) {
  return run(L, luaL_checkstring(L, 1), luaL_optstring(L, 2, nullptr), nullptr);
}

int l_intcommand(lua_State* L) {
  const char* command = luaL_checkstring(L, 1);
  if (lua_type(L, 2) == LUA_TNUMBER) {
    lua_pushfstring(L, "%I", static_cast<LUAI_UACINT>(lua_tointeger(L, 2)));
    lua_replace(L, 2);
  }
  return run(L, command, luaL_optstring(L, 2, nullptr), to_number);
}

int l_addresscommand(lua_State* L) {
  return run(L, luaL_checkstring(L, 1), luaL_optstring(L, 2, nullptr), to_handle);
}

// skynet.stat(what)
int l_stat(lua_State* L) {
  const char* what = luaL_checkstring(L, 1);
  if (run(L, "STAT", what, nullptr) == 0 || lua_stringtonumber(L, lua_tostring(L, -1)) == 0) {
    lua_pushinteger(L, 0);
  }
  return 1;
}

int l_mqlen(lua_State* L) {
  lua_settop(L, 0);
  lua_pushliteral(L, "mqlen");
  return l_stat(L);
}

int l_endless(lua_State* L) {
  lua_settop(L, 0);
  lua_pushliteral(L, "endless");
  l_stat(L);
  lua_pushboolean(L, lua_tointeger(L, -1) == 1 ? 1 : 0);
  return 1;
}

// skynet.memlimit(bytes): applied by the host after the main chunk; removes itself.
int l_memlimit(lua_State* L) {
  scheduler& s = host(L);
  const lua_Integer bytes = luaL_checkinteger(L, 1);
  s.take_memlimit(bytes > 0 ? static_cast<std::size_t>(bytes) : 0);
  s.push_module(L);
  lua_pushnil(L);
  lua_setfield(L, -2, "memlimit");
  return 0;
}

int l_info_func(lua_State* L) {
  return host(L).swap_hook(L, scheduler::hook::info);
}

// skynet.core.callback(f [, forward])
int l_callback(lua_State* L) {
  scheduler& s = host(L);
  luaL_checktype(L, 1, LUA_TFUNCTION);
  s.set_callback(L, 1, lua_toboolean(L, 2) != 0);
  return 0;
}

// skynet.core.send(addr, type, session, msg [, sz])
int l_core_send(lua_State* L) {
  scheduler& s = host(L);
  const address to = check_address(L, 1);
  const lua_Integer type = luaL_checkinteger(L, 2);
  std::int32_t session = 0;
  if (lua_isnil(L, 3)) {
    session = s.new_session();
  } else {
    session = static_cast<std::int32_t>(luaL_checkinteger(L, 3));
  }
  if (lua_type(L, 4) != LUA_TSTRING && lua_type(L, 4) != LUA_TLIGHTUSERDATA &&
      !lua_isnoneornil(L, 4)) {
    return luaL_error(L, "invalid param %s", luaL_typename(L, 4));
  }
  const bool delivered =
      post(L, s, s.self().handle(), to, static_cast<int>(type), session, raw_message(L, 4));
  return push_send_result(L, delivered, session);
}

// ---- messages as values -----------------------------------------------------------------------

int l_tostring(lua_State* L) {
  if (lua_isnoneornil(L, 1)) return 0;
  if (lua_type(L, 1) == LUA_TSTRING) {
    lua_settop(L, 1);
    return 1;
  }
  const char* data = static_cast<const char*>(lua_touserdata(L, 1));
  const lua_Integer size = luaL_checkinteger(L, 2);
  lua_pushlstring(L, data, static_cast<std::size_t>(size));
  return 1;
}

int l_trash(lua_State* L) {
  switch (lua_type(L, 1)) {
    case LUA_TLIGHTUSERDATA:
      std::free(lua_touserdata(L, 1));
      return 0;
    case LUA_TSTRING:
      return 0;
    default:
      return luaL_error(L, "skynet.trash invalid param %s", luaL_typename(L, 1));
  }
}

// ---- the tables -------------------------------------------------------------------------------

// Sorted by name: lazy_index searches it (checked at compile time below).
constexpr luaL_Reg skynet_functions[] = {
    {"address", l_address},
    {"call", l_call},
    {"context", l_context},
    {"dispatch", l_dispatch},
    {"dispatch_message", dispatch_message},
    {"dispatch_unknown_request", l_dispatch_unknown_request},
    {"dispatch_unknown_response", l_dispatch_unknown_response},
    {"endless", l_endless},
    {"error", l_error},
    {"exit", l_exit},
    {"fork", l_fork},
    {"genid", l_genid},
    {"getenv", l_getenv},
    {"harbor", l_harbor},
    {"hpc", l_hpc},
    {"ignoreret", l_ignoreret},
    {"info_func", l_info_func},
    {"init", l_init},
    {"init_service", l_init_service},
    {"killthread", l_killthread},
    {"localname", l_localname},
    {"memlimit", l_memlimit},
    {"mqlen", l_mqlen},
    {"now", l_now},
    {"pack", lua::pack},
    {"packstring", lua::packstring},
    {"rawcall", l_rawcall},
    {"rawsend", l_rawsend},
    {"redirect", l_redirect},
    {"register_protocol", l_register_protocol},
    {"response", l_response},
    {"ret", l_ret},
    {"retpack", l_retpack},
    {"self", l_self},
    {"send", l_send},
    {"setenv", l_setenv},
    {"sleep", l_sleep},
    {"start", l_start},
    {"starttime", l_starttime},
    {"stat", l_stat},
    {"task", l_task},
    {"term", l_term},
    {"time", l_time},
    {"timeout", l_timeout},
    {"tostring", l_tostring},
    {"trace", l_trace},
    {"trace_timeout", l_trace_timeout},
    {"tracecall", l_tracecall},
    {"tracelog", l_tracelog},
    {"traceproto", l_traceproto},
    {"tracetag", l_tracetag},
    {"trash", l_trash},
    {"unpack", lua::unpack},
    {"wait", l_wait},
    {"wakeup", l_wakeup},
    {"yield", l_yield},
    {nullptr, nullptr},
};

constexpr bool sorted_by_name(std::span<const luaL_Reg> table) {
  for (std::size_t i = 1; i + 1 < table.size(); ++i) {  // the last entry is the null one
    if (std::string_view(table[i - 1].name) >= std::string_view(table[i].name)) return false;
  }
  return true;
}
static_assert(sorted_by_name(skynet_functions), "skynet_functions must stay sorted by name");

const luaL_Reg core_functions[] = {
    {"send", l_core_send},
    {"redirect", l_redirect},
    {"genid", l_genid},
    {"command", l_command},
    {"intcommand", l_intcommand},
    {"addresscommand", l_addresscommand},
    {"callback", l_callback},
    {"error", l_error},
    {"harbor", l_harbor},
    {"pack", lua::pack},
    {"packstring", lua::packstring},
    {"unpack", lua::unpack},
    {"tostring", l_tostring},
    {"trash", l_trash},
    {"now", l_now},
    {"hpc", l_hpc},
    {"trace", l_tracelog},
    {nullptr, nullptr},
};

struct constant {
  const char* name;
  ptype value;
};

const constant ptypes[] = {
    {"PTYPE_TEXT", ptype::text},
    {"PTYPE_RESPONSE", ptype::response},
    {"PTYPE_MULTICAST", ptype::multicast},
    {"PTYPE_CLIENT", ptype::client},
    {"PTYPE_SYSTEM", ptype::system},
    {"PTYPE_HARBOR", ptype::harbor},
    {"PTYPE_SOCKET", ptype::socket},
    {"PTYPE_ERROR", ptype::error},
    {"PTYPE_QUEUE", ptype::queue},
    {"PTYPE_DEBUG", ptype::debug},
    {"PTYPE_LUA", ptype::lua},
    {"PTYPE_SNAX", ptype::snax},
    {"PTYPE_TRACE", ptype::trace},
};

void load_extra(lua_State* L, scheduler& s) {
  s.mark_extra_loaded();
  lua_getglobal(L, "require");
  lua_pushliteral(L, "skynet.extra");
  lua_call(L, 1, 0);
}

// The table starts empty: a field is looked up here on first use and stored, so a service
// holds only the entries it touches. What C does not provide comes from
// lualib/skynet/extra.lua, loaded once.
int lazy_index(lua_State* L) {
  std::size_t length = 0;
  const char* key = lua_tolstring(L, 2, &length);
  if (key == nullptr || lua_type(L, 2) != LUA_TSTRING) return 0;
  scheduler& s = host(L);
  const auto end = std::end(skynet_functions) - 1;  // the array ends with a null entry
  const auto* f =
      std::lower_bound(std::begin(skynet_functions), end, key,
                       [](const luaL_Reg& r, const char* k) { return std::strcmp(r.name, k) < 0; });
  if (f != end && std::strcmp(f->name, key) == 0) {
    if (f->func == l_memlimit && s.memlimit_taken()) return 0;
    lua_pushcfunction(L, f->func);
    lua_pushvalue(L, 2);
    lua_pushvalue(L, -2);
    lua_rawset(L, 1);
    return 1;
  }
  for (const constant& c : ptypes) {
    if (std::strcmp(c.name, key) != 0) continue;
    lua_pushinteger(L, static_cast<lua_Integer>(c.value));
    lua_pushvalue(L, 2);
    lua_pushvalue(L, -2);
    lua_rawset(L, 1);
    return 1;
  }
  if (s.extra_loaded()) return 0;
  load_extra(L, s);
  lua_settop(L, 2);
  lua_rawget(L, 1);
  return 1;
}

// pairs(skynet) sees every field, as with skynet's plain table: the lazy ones are stored first.
int lazy_pairs(lua_State* L) {
  scheduler& s = host(L);
  luaL_checktype(L, 1, LUA_TTABLE);
  lua_settop(L, 1);
  for (const luaL_Reg* f = std::begin(skynet_functions); f->name != nullptr; ++f) {
    if (f->func == l_memlimit && s.memlimit_taken()) continue;
    lua_getfield(L, 1, f->name);  // __index stores it
    lua_pop(L, 1);
  }
  for (const constant& c : ptypes) {
    lua_getfield(L, 1, c.name);
    lua_pop(L, 1);
  }
  if (!s.extra_loaded()) load_extra(L, s);
  lua_getglobal(L, "next");
  lua_pushvalue(L, 1);
  lua_pushnil(L);
  return 3;
}

}  // namespace

int dispatch_message(lua_State* L) {
  scheduler& s = host(L);
  const auto type = static_cast<int>(luaL_checkinteger(L, 1));
  const void* data = lua_touserdata(L, 2);
  const auto size = static_cast<std::size_t>(luaL_optinteger(L, 3, 0));
  const auto session = static_cast<std::int32_t>(luaL_optinteger(L, 4, 0));
  const auto source = static_cast<handle_t>(luaL_optinteger(L, 5, 0));
  s.dispatch(L, type, data, size, session, source);
  if (!s.has_failures()) return 0;
  native(
      L, [&] { return s.take_failures(); },
      [](lua_State* S, const std::string& failures) {
        lua_pushlstring(S, failures.data(), failures.size());
        return 1;
      });
  return lua_error(L);
}

int traceback_handler(lua_State* L) {
  const char* message = lua_tostring(L, 1);
  if (message == nullptr && !lua_isnoneornil(L, 1)) {
    message = lua_pushfstring(L, "(error object is a %s value)", luaL_typename(L, 1));
  }
  luaL_traceback(L, L, message, 1);
  return 1;
}

int dispatch_incoming(lua_State* L) {
  scheduler& s = host(L);
  const auto* m = static_cast<const incoming*>(lua_touserdata(L, 1));
  lua_settop(L, 0);
  s.dispatch(L, m->type, m->data, m->size, m->session, m->source);
  return 0;
}

int open_skynet(lua_State* L) {
  scheduler& s = host(L);
  lua_createtable(L, 0, 8);
  lua_getglobal(L, "pcall");
  lua_setfield(L, -2, "pcall");
  using packing = scheduler::packing;
  s.register_builtin(L, "lua", static_cast<int>(ptype::lua), packing::seri, nullptr);
  s.register_builtin(L, "response", static_cast<int>(ptype::response), packing::none, nullptr);
  s.register_builtin(L, "error", static_cast<int>(ptype::error), packing::identity, nullptr);
  s.register_builtin(L, "debug", static_cast<int>(ptype::debug), packing::seri, debug_dispatch);
  lua_createtable(L, 0, 2);
  lua_pushcfunction(L, lazy_index);
  lua_setfield(L, -2, "__index");
  lua_pushcfunction(L, lazy_pairs);
  lua_setfield(L, -2, "__pairs");
  lua_setmetatable(L, -2);
  lua_pushvalue(L, -1);
  s.set_module(luaL_ref(L, LUA_REGISTRYINDEX));
  return 1;
}

int open_deadline(lua_State* L) {
  const luaL_Reg functions[] = {
      {"call", l_deadline_call},
      {"rawcall", l_deadline_rawcall},
      {nullptr, nullptr},
  };
  luaL_newlib(L, functions);
  return 1;
}

int open_skynet_core(lua_State* L) {
  (void)host(L);
  luaL_newlib(L, core_functions);
  return 1;
}

}  // namespace starling::lua
