#pragma once
// skynet.profile (docs/LUA.md): CPU time of a coroutine between
// profile.start and profile.stop, without the time it spent suspended.
//
// A profiled coroutine's record holds the CPU time of its finished running stretches and,
// while it runs, when the current stretch began. Every resume (the scheduler's, and the
// coroutine.resume / coroutine.wrap the host installs) opens and closes the stretches, so
// the accounting is on the resumer's side and any kind of yield ends a stretch. Until a
// service first calls profile.start, resumes skip all of it (one flag).
//
// Thread contract: as the scheduler's (one service's dispatch owns it).

#include <lua.hpp>

namespace starling::lua {

/// require "skynet.profile": start([co]), stop([co]) -> seconds, resume, wrap, yield.
int open_profile(lua_State* L);

/// Makes coroutine.resume and coroutine.wrap the timing versions (snlua's boot).
void install_timing_coroutines(lua_State* L);

/// Around a resume of `co` by the scheduler, while profiling is in use: opens / closes
/// its running stretch if it is profiled. `L` is any thread of the state, not `co`.
void profile_enter(lua_State* L, lua_State* co);
void profile_leave(lua_State* L, lua_State* co);
/// Drops the record of `co` (a pooled coroutine about to serve something else).
void profile_forget(lua_State* L, lua_State* co);

}  // namespace starling::lua
