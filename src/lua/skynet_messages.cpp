#include <cstdlib>
#include <cstring>
#include <initializer_list>
#include <string>
#include <string_view>

#include "core/node.hpp"
#include "lua/lua_seri.hpp"
#include "lua/protected.hpp"
#include "lua/skynet_api_internal.hpp"

// C++ parts run through lua::native (lua/protected.hpp). A message body is packed last, after
// every check that raises, and goes straight to `post`, which moves it into native's work.

namespace starling::lua::api {

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
  native(L, [&] {
    s.note_call(session, to.name == nullptr ? to.handle : 0,
                to.name == nullptr ? std::string_view() : std::string_view(to.name, to.length),
                deadline);
  });
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
  scheduler& s = host(L);
  const char* tag = lua_tostring(L, 1);
  native(L, [&] { s.trace_log(tag, "tracecall end"); });
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

// ---- launching: the calls every service makes, kept in C so they cost no loaded Lua code ----

// service_mgr answers (handle) or (nil, reason): the reason is raised as-is, as assert does.
int asserted_call_k(lua_State* L, int status, lua_KContext ctx) {
  const int n = call_k(L, status, ctx);
  const int first = lua_gettop(L) - n + 1;
  if (n > 0 && lua_toboolean(L, first) != 0) return n;
  if (n < 2 || lua_isnil(L, first + 1)) return luaL_error(L, "assertion failed!");
  lua_pushvalue(L, first + 1);
  return lua_error(L);
}

// Calls `to` with the protocol "lua", the `words` put in front of the arguments on the stack.
int call_with(lua_State* L, std::initializer_list<const char*> words, lua_KFunction k) {
  luaL_checkstack(L, static_cast<int>(words.size()) + 1, nullptr);
  int at = 1;
  for (const char* word : words) {
    lua_pushstring(L, word);
    lua_insert(L, at++);
  }
  scheduler& s = host(L);
  const address to = check_address(L, 1);
  const protocol& p = s.checked_protocol(L, 2);
  return request(L, s, to, p.id, false, p.id, k);
}

// skynet.newservice(name, ...)
int l_newservice(lua_State* L) {
  return call_with(L, {".launcher", "lua", "LAUNCH", "snlua"}, call_k);
}

// skynet.uniqueservice([true,] name, ...): `true` asks for a node-global one.
int l_uniqueservice(lua_State* L) {
  if (lua_type(L, 1) == LUA_TBOOLEAN && lua_toboolean(L, 1) != 0) {
    lua_remove(L, 1);
    return call_with(L, {".service", "lua", "GLAUNCH"}, asserted_call_k);
  }
  return call_with(L, {".service", "lua", "LAUNCH"}, asserted_call_k);
}

// skynet.queryservice([true,] name)
int l_queryservice(lua_State* L) {
  if (lua_type(L, 1) == LUA_TBOOLEAN && lua_toboolean(L, 1) != 0) {
    lua_remove(L, 1);
    return call_with(L, {".service", "lua", "GQUERY"}, asserted_call_k);
  }
  return call_with(L, {".service", "lua", "QUERY"}, asserted_call_k);
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
    // NOLINTNEXTLINE(*-no-malloc): message bodies are malloc'd (base/payload.hpp)
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
  scheduler& s = host(L);
  native(L, [&] { s.trace_event("response"); });
  return reply_with(L, owed_request(L, "No session"), false);
}

// skynet.retpack(...)
int l_retpack(lua_State* L) {
  scheduler& s = host(L);
  native(L, [&] { s.trace_event("response"); });
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
    native(L, [&] { (void)self.send(record->source, ptype::error, record->session, {}); });
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

}  // namespace starling::lua::api
