// lua::scheduler, what debugging sees of it: the sessions it waits on (debug TASK, INFO),
// the remote debugger's dispatch hook and paused coroutines, and skynet.trace's log.
#include <fmt/format.h>

#include "core/node.hpp"
#include "lua/scheduler.hpp"

namespace starling::lua {

// ---- waiting sessions ----------------------------------------------------------------------

std::size_t scheduler::pending_sessions() const {
  std::size_t n = 0;
  waiting_.for_each([&](std::int32_t, coroutine_info* co) {
    if (co != &break_marker_) ++n;
  });
  return n;
}

void scheduler::describe_tasks(lua_State* L) {
  const int table = lua_gettop(L);
  waiting_.for_each([&](std::int32_t session, coroutine_info* co) {
    if (co == &break_marker_) {
      lua_pushfstring(L, "session: %d", static_cast<int>(session));
      lua_pushliteral(L, "BREAK");
    } else {
      lua_pushthread(co->thread);
      lua_xmove(co->thread, L, 1);
      lua_pushfstring(L, "%s session: %d", luaL_tolstring(L, -1, nullptr),
                      static_cast<int>(session));
      lua_replace(L, -3);
      lua_pop(L, 1);
      if (trace_timeouts_ && co->timer_origin != LUA_NOREF) {
        lua_rawgeti(L, LUA_REGISTRYINDEX, co->timer_origin);
      } else {
        luaL_traceback(L, co->thread, nullptr, 0);
      }
    }
    lua_rawset(L, table);
  });
}

void scheduler::describe_session(lua_State* L, std::int32_t session) {
  coroutine_info* co = waiting_.find(session);
  if (co == nullptr || co == &break_marker_) {
    lua_pushliteral(L, "No session");
    return;
  }
  luaL_traceback(L, co->thread, nullptr, 0);
}

void scheduler::push_waiting_session(lua_State* L, int index) {
  coroutine_info* co = find_waiting(L, index);
  if (co == nullptr || co->waiting == 0) {
    lua_pushnil(L);
  } else {
    lua_pushinteger(L, co->waiting);
  }
}

// ---- the remote debugger -------------------------------------------------------------------

void scheduler::set_dispatch_hook(lua_State* L, int index) {
  luaL_unref(L, LUA_REGISTRYINDEX, dispatch_hook_);
  dispatch_hook_ = LUA_NOREF;
  if (lua_isnil(L, index)) return;
  lua_pushvalue(L, index);
  dispatch_hook_ = luaL_ref(L, LUA_REGISTRYINDEX);
}

void scheduler::run_dispatch_hook(lua_State* L) {
  lua_rawgeti(L, LUA_REGISTRYINDEX, dispatch_hook_);
  if (lua_pcall(L, 0, 0, 0) != LUA_OK) {
    failures_.emplace_back(luaL_tolstring(L, -1, nullptr));
    lua_pop(L, 2);
  }
  drain();
}

bool scheduler::resume_paused(lua_State* thread) {
  coroutine_info* co = managed(thread);
  if (co == nullptr || co->state != co_state::paused) return false;
  resume(*co, 0);
  drain();
  return true;
}

// ---- tracing -------------------------------------------------------------------------------

void scheduler::trace_log(std::string_view tag, std::string_view text, lua_State* co, int level) {
  std::string line = fmt::format("<TRACE {}> {} {}", tag, node::hpc(), text);
  if (co != nullptr) {
    // Frames without a current line (C functions) are skipped, as they say nothing.
    lua_Debug ar;
    for (int found = 0; found < 3 && lua_getstack(co, level, &ar) != 0; ++level) {
      lua_getinfo(co, "Sl", &ar);
      if (ar.currentline < 0) continue;
      line += found++ == 0 ? " : " : " ";
      line += fmt::format("{}:{}", ar.source, ar.currentline);
    }
  }
  self_.log(line);
}

void scheduler::start_trace(coroutine_info& co, const char* info) {
  // The first line is a leftover debug line of skynet's, kept for identical logs.
  switch (co.trace) {
    case trace_mode::unset:
      self_.log("TRACE nil");
      break;
    case trace_mode::off:
      self_.log("TRACE false");
      return;
    case trace_mode::on:
      self_.log(fmt::format("TRACE {}", co.trace_tag));
      break;
  }
  co.trace = trace_mode::on;
  co.trace_tag = fmt::format(":{:08x}-{}", self_.handle(), ++traces_);
  trace_log(co.trace_tag, info == nullptr ? std::string("trace") : fmt::format("trace {}", info));
}

// A request's coroutine: a tag sent ahead by its source carries over unless the protocol
// turns tracing off; a protocol with trace on starts a new trace otherwise.
void scheduler::request_trace(coroutine_info& co, const protocol& p, handle_t source) {
  std::string tag;
  if (auto it = trace_sources_.find(source); it != trace_sources_.end()) {
    tag = std::move(it->second);
    trace_sources_.erase(it);
  }
  if (p.trace == trace_mode::off) {
    co.trace = trace_mode::off;
  } else if (!tag.empty()) {
    co.trace = trace_mode::on;
    co.trace_tag = std::move(tag);
    trace_log(co.trace_tag, "request");
  } else if (p.trace == trace_mode::on) {
    start_trace(co, nullptr);
  }
}

}  // namespace starling::lua
