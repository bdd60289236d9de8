#include "lua/profile.hpp"

#include <cstdint>

#include "base/clock.hpp"
#include "lua/scheduler.hpp"

namespace starling::lua {

namespace {

struct record {
  std::uint64_t start = 0;  // thread CPU ns when the current stretch began
  std::uint64_t total = 0;  // CPU ns of the finished stretches
  bool running = false;
};

scheduler& host(lua_State* L) {
  scheduler* s = scheduler::of(L);
  if (s == nullptr) luaL_error(L, "skynet.profile needs the Starling Lua host (snlua)");
  return *s;
}

// Pushes the table of records and `co`; returns the table's stack index.
int push_key(lua_State* L, const scheduler& s, lua_State* co) {
  luaL_checkstack(L, 3, nullptr);
  lua_rawgeti(L, LUA_REGISTRYINDEX, s.profile_records());
  const int table = lua_gettop(L);
  if (co == L) {
    lua_pushthread(L);
  } else {
    lua_checkstack(co, 1);
    lua_pushthread(co);
    lua_xmove(co, L, 1);
  }
  return table;
}

// The record of `co` (kept alive by the table), or null.
record* find(lua_State* L, const scheduler& s, lua_State* co) {
  if (s.profile_records() == LUA_NOREF) return nullptr;
  const int table = push_key(L, s, co);
  lua_rawget(L, table);
  auto* r = static_cast<record*>(lua_touserdata(L, -1));
  lua_settop(L, table - 1);
  return r;
}

void erase(lua_State* L, const scheduler& s, lua_State* co) {
  const int table = push_key(L, s, co);
  lua_pushnil(L);
  lua_rawset(L, table);
  lua_pop(L, 1);
}

// Running or resuming another coroutine: its stretch is open.
bool active(lua_State* L, lua_State* co) {
  lua_Debug ar;
  return co == L || (lua_status(co) == LUA_OK && lua_getstack(co, 0, &ar) != 0);
}

// What coroutine.resume would accept: yielded, or created and never run.
bool resumable(lua_State* co) {
  lua_Debug ar;
  const int status = lua_status(co);
  return status == LUA_YIELD ||
         (status == LUA_OK && lua_getstack(co, 0, &ar) == 0 && lua_gettop(co) != 0);
}

lua_State* target(lua_State* L) {
  if (lua_isnoneornil(L, 1)) return L;
  luaL_checktype(L, 1, LUA_TTHREAD);
  return lua_tothread(L, 1);
}

int l_start(lua_State* L) {
  scheduler& s = host(L);
  lua_State* co = target(L);
  if (find(L, s, co) != nullptr) return luaL_error(L, "Thread %p start profile more than once", co);
  s.start_profiling(L);
  const int table = push_key(L, s, co);
  auto* r = static_cast<record*>(lua_newuserdatauv(L, sizeof(record), 0));
  *r = record{thread_cpu_ns(), 0, active(L, co)};
  lua_rawset(L, table);
  lua_pop(L, 1);
  return 0;
}

int l_stop(lua_State* L) {
  const scheduler& s = host(L);
  lua_State* co = target(L);
  const record* r = find(L, s, co);
  if (r == nullptr) return luaL_error(L, "Call profile.stop without profile.start");
  const std::uint64_t ns = r->total + (r->running ? thread_cpu_ns() - r->start : 0);
  erase(L, s, co);
  lua_pushnumber(L, static_cast<lua_Number>(ns) / 1e9);
  return 1;
}

// The coroutine library's own resume, taken once from its open function (a plain C
// function of the Lua library, the same in every state).
lua_CFunction library_resume(lua_State* L) {
  static const lua_CFunction resume = [L] {
    luaopen_coroutine(L);
    lua_getfield(L, -1, "resume");
    const lua_CFunction f = lua_tocfunction(L, -1);
    lua_pop(L, 2);
    return f;
  }();
  return resume;
}

// coroutine.resume(co, ...) that times a profiled co; otherwise the library's.
int timed_resume(lua_State* L) {
  scheduler* s = scheduler::of(L);
  lua_State* co = lua_tothread(L, 1);
  const bool profiling = s != nullptr && s->profiling();
  const bool timed = profiling && co != nullptr && resumable(co);
  if (timed) profile_enter(L, co);
  const int results = library_resume(L)(L);
  // profile.start may have run inside co for the first time in this service.
  if (timed || (!profiling && s != nullptr && s->profiling())) profile_leave(L, co);
  return results;
}

// The function coroutine.wrap returns; upvalue 1 is its coroutine. Raises as the library's
// does: the coroutine is closed after an error and a string error gets the caller's position.
int wrapped(lua_State* L) {
  lua_State* co = lua_tothread(L, lua_upvalueindex(1));
  lua_pushvalue(L, lua_upvalueindex(1));
  lua_insert(L, 1);
  const int results = timed_resume(L);  // ok, values... on the top
  if (lua_toboolean(L, -results) != 0) return results - 1;
  int status = lua_status(co);
  if (status != LUA_OK && status != LUA_YIELD) {
#if LUA_VERSION_RELEASE_NUM >= 50406
    status = lua_closethread(co, L);
#else
    status = lua_resetthread(co);
#endif
    lua_xmove(co, L, 1);
  }
  if (status != LUA_ERRMEM && lua_type(L, -1) == LUA_TSTRING) {
    luaL_where(L, 1);
    lua_insert(L, -2);
    lua_concat(L, 2);
  }
  return lua_error(L);
}

int timed_wrap(lua_State* L) {
  luaL_checktype(L, 1, LUA_TFUNCTION);
  lua_State* co = lua_newthread(L);
  lua_pushvalue(L, 1);
  lua_xmove(L, co, 1);
  lua_pushcclosure(L, wrapped, 1);
  return 1;
}

// The stretches are closed by the resumer, so yielding needs nothing more.
int plain_yield(lua_State* L) {
  return lua_yield(L, lua_gettop(L));
}

}  // namespace

int open_profile(lua_State* L) {
  const luaL_Reg functions[] = {
      {"start", l_start},   {"stop", l_stop},       {"resume", timed_resume},
      {"wrap", timed_wrap}, {"yield", plain_yield}, {nullptr, nullptr},
  };
  luaL_newlib(L, functions);
  return 1;
}

void install_timing_coroutines(lua_State* L) {
  (void)library_resume(L);
  lua_getglobal(L, LUA_COLIBNAME);
  lua_pushcfunction(L, timed_resume);
  lua_setfield(L, -2, "resume");
  lua_pushcfunction(L, timed_wrap);
  lua_setfield(L, -2, "wrap");
  lua_pop(L, 1);
}

void profile_enter(lua_State* L, lua_State* co) {
  scheduler& s = *scheduler::of(L);
  if (record* r = find(L, s, co)) {
    r->start = thread_cpu_ns();
    r->running = true;
  }
}

void profile_leave(lua_State* L, lua_State* co) {
  scheduler& s = *scheduler::of(L);
  if (record* r = find(L, s, co); r != nullptr && r->running) {
    r->total += thread_cpu_ns() - r->start;
    r->running = false;
  }
}

void profile_forget(lua_State* L, lua_State* co) {
  scheduler& s = *scheduler::of(L);
  if (find(L, s, co) != nullptr) erase(L, s, co);
}

}  // namespace starling::lua
