#include "lua/scheduler.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <set>

#include "base/prefetch.hpp"
#include "core/node.hpp"
#include "core/socket_message.hpp"
#include "lua/lua_seri.hpp"
#include "lua/profile.hpp"
#include "lua/protected.hpp"
#include "lua/skynet_api.hpp"

namespace starling::lua {

namespace {

coroutine_info*& extra_space(lua_State* L) noexcept {
  return *static_cast<coroutine_info**>(lua_getextraspace(L));
}

// Closes a suspended or failed coroutine: its to-be-closed variables run now.
void close_thread(lua_State* co, lua_State* from) {
#if LUA_VERSION_RELEASE_NUM >= 50406
  lua_closethread(co, from);
#else
  (void)from;
  lua_resetthread(co);
#endif
  lua_settop(co, 0);
}

std::string payload_text(const void* data, std::size_t size) {
  if (data == nullptr) return {};
  return {static_cast<const char*>(data), size};
}

}  // namespace

scheduler::scheduler(context& self, lua_State* main)
    : self_(self), main_(main), running_(&main_info_) {
  main_info_.owner = this;
  main_info_.thread = main;
  break_marker_.owner = this;
  extra_space(main) = &main_info_;
  lua_createtable(main, 0, 0);
  wakeups_ = luaL_ref(main, LUA_REGISTRYINDEX);
  lua_createtable(main, 0, 0);
  sleeping_ = luaL_ref(main, LUA_REGISTRYINDEX);
  lua_createtable(main, 0, 0);
  unanswered_ = luaL_ref(main, LUA_REGISTRYINDEX);
}

scheduler::~scheduler() = default;

// ---- the message callback, the start, hooks, profiling ------------------------------------

void scheduler::set_callback(lua_State* L, int index, bool forward) {
  index = lua_absindex(L, index);
  const bool native = lua_tocfunction(L, index) == dispatch_message;
  lua_pushvalue(L, index);
  const int ref = luaL_ref(L, LUA_REGISTRYINDEX);  // may raise: the old callback stays
  if (callback_ != LUA_NOREF) luaL_unref(L, LUA_REGISTRYINDEX, callback_);
  callback_ = ref;
  forward_ = forward;
  native_callback_ = native;
}

void scheduler::queue_init(lua_State* L, int index) {
  index = lua_absindex(L, index);
  if (init_queue_ == LUA_NOREF) {
    lua_newtable(L);
    init_queue_ = luaL_ref(L, LUA_REGISTRYINDEX);
  }
  lua_rawgeti(L, LUA_REGISTRYINDEX, init_queue_);
  lua_pushvalue(L, index);
  lua_rawseti(L, -2, static_cast<lua_Integer>(lua_rawlen(L, -2)) + 1);
  lua_pop(L, 1);
}

bool scheduler::push_init(lua_State* L, lua_Integer i) {
  if (init_queue_ == LUA_NOREF) return false;
  lua_rawgeti(L, LUA_REGISTRYINDEX, init_queue_);
  if (lua_rawgeti(L, -1, i) != LUA_TFUNCTION) {
    lua_pop(L, 2);
    return false;
  }
  lua_remove(L, -2);
  return true;
}

void scheduler::inits_done(lua_State* L) {
  if (init_queue_ != LUA_NOREF) {
    luaL_unref(L, LUA_REGISTRYINDEX, init_queue_);
    init_queue_ = LUA_NOREF;
  }
  started_ = true;
}

int& scheduler::hook_ref(hook which) noexcept {
  switch (which) {
    case hook::unknown_request:
      return unknown_request_;
    case hook::unknown_response:
      return unknown_response_;
    case hook::info:
      break;
  }
  return info_;
}

int scheduler::swap_hook(lua_State* L, hook which) {
  int& ref = hook_ref(which);
  if (lua_isnone(L, 1)) {
    if (ref == LUA_NOREF) return 0;
    lua_rawgeti(L, LUA_REGISTRYINDEX, ref);
    return 1;
  }
  if (ref == LUA_NOREF) {
    lua_pushnil(L);
  } else {
    lua_rawgeti(L, LUA_REGISTRYINDEX, ref);
  }
  int next = LUA_NOREF;
  if (!lua_isnil(L, 1)) {
    lua_pushvalue(L, 1);
    next = luaL_ref(L, LUA_REGISTRYINDEX);  // may raise: the old hook stays
  }
  if (ref != LUA_NOREF) luaL_unref(L, LUA_REGISTRYINDEX, ref);
  ref = next;
  return 1;
}

void scheduler::start_profiling(lua_State* L) {
  if (profile_records_ == LUA_NOREF) {
    lua_createtable(L, 0, 4);
    lua_createtable(L, 0, 1);
    lua_pushliteral(L, "k");  // a coroutine that is collected needs no stop
    lua_setfield(L, -2, "__mode");
    lua_setmetatable(L, -2);
    profile_records_ = luaL_ref(L, LUA_REGISTRYINDEX);
  }
  profiling_ = true;
}

scheduler* scheduler::of(lua_State* L) noexcept {
  coroutine_info* info = extra_space(L);
  return info == nullptr ? nullptr : info->owner;
}

coroutine_info& scheduler::current(lua_State* L) noexcept {
  return *extra_space(L);
}

payload raw_message(lua_State* L, int index) {
  switch (lua_type(L, index)) {
    case LUA_TSTRING: {
      std::size_t size = 0;
      const char* bytes = lua_tolstring(L, index, &size);
      return payload::copy_of(std::string_view(bytes, size));
    }
    case LUA_TLIGHTUSERDATA: {
      void* block = lua_touserdata(L, index);
      const lua_Integer size = luaL_checkinteger(L, index + 1);
      return payload::adopt_malloced(block, static_cast<std::size_t>(size));
    }
    case LUA_TNONE:
    case LUA_TNIL:
      return {};
    default:
      luaL_error(L, "invalid param %s", luaL_typename(L, index));
      return {};
  }
}

// ---- sessions and coroutines ----------------------------------------------------------------

std::int32_t scheduler::new_session() {
  for (;;) {
    const std::int32_t s = self_.new_session();
    if (waiting_.find(s) == nullptr && (deadlines_.empty() || !deadlines_.contains(s))) return s;
  }
}

coroutine_info& scheduler::take_coroutine(lua_State* L) {
  if (!pool_.empty()) {
    coroutine_info* co = pool_.back();
    pool_.pop_back();
    co->state = co_state::fresh;
    return *co;
  }
  // The Lua side first, raising on L (the caller's protection, not the main state's, which
  // may have none): the record exists only once nothing can raise any more.
  lua_State* thread = lua_newthread(L);
  const int ref = luaL_ref(L, LUA_REGISTRYINDEX);
  coroutine_info* info = nullptr;
  cxx_failure failure;
  failure.run([&] {
    coroutines_.push_back(std::make_unique<coroutine_info>());
    info = coroutines_.back().get();
  });
  if (failure.failed()) {
    luaL_unref(L, LUA_REGISTRYINDEX, ref);
    failure.raise(L);
  }
  info->owner = this;
  info->thread = thread;
  info->ref = ref;
  extra_space(thread) = info;
  return *info;
}

void scheduler::release(coroutine_info& co) {
  co.self_sleep = 0;
  co.request = request_state::none;
  co.session = 0;
  co.source = 0;
  co.protocol = -1;
  co.waiting = 0;
  co.watch_handle = 0;
  co.watch_name.clear();
  co.calling = false;
  clear_deadline(co);
  co.trace = trace_mode::unset;
  co.trace_tag.clear();
  if (co.timer_origin != LUA_NOREF) {
    luaL_unref(main_, LUA_REGISTRYINDEX, co.timer_origin);
    co.timer_origin = LUA_NOREF;
  }
  if (profiling_) profile_forget(main_, co.thread);  // the thread serves someone else next
  if (lua_gethook(co.thread) != nullptr) lua_sethook(co.thread, nullptr, 0, 0);  // a debugger's
  if (lua_gettop(co.thread) != 0) lua_settop(co.thread, 0);
  co.state = co_state::pooled;
  pool_.push_back(&co);
}

void scheduler::fork(coroutine_info& co) {
  co.state = co_state::forked;
  forks_.push_back(&co);
}

coroutine_info& scheduler::wait_with_new_coroutine(lua_State* L, std::int32_t session, int nargs) {
  coroutine_info& co = take_coroutine(L);
  lua_checkstack(co.thread, nargs + 1);
  lua_xmove(L, co.thread, nargs + 1);
  co.waiting = session;
  waiting_.put(session, &co);
  return co;
}

void scheduler::note_call(std::int32_t session, handle_t handle, std::string_view name,
                          std::int64_t deadline) {
  pending_watch_session_ = session;
  pending_watch_handle_ = handle;
  pending_watch_name_.assign(name);
  pending_watch_deadline_ = deadline == 0 ? self_.owner().options().call_timeout : deadline;
}

coroutine_info* scheduler::managed(lua_State* thread) noexcept {
  coroutine_info* info = extra_space(thread);
  if (info == nullptr || info == &main_info_ || info->owner != this || info->thread != thread ||
      info->state == co_state::pooled) {
    return nullptr;
  }
  return info;
}

bool scheduler::wakeup(lua_State* L, int token) {
  token = lua_absindex(L, token);
  coroutine_info* own =
      lua_type(L, token) == LUA_TTHREAD ? managed(lua_tothread(L, token)) : nullptr;
  if (own == nullptr || own->self_sleep == 0) {
    if (!tokens_sleep()) return false;
    lua_rawgeti(L, LUA_REGISTRYINDEX, sleeping_);
    lua_pushvalue(L, token);
    const bool sleeps = lua_rawget(L, -2) != LUA_TNIL;
    lua_pop(L, 2);
    if (!sleeps) return false;
  }
  lua_rawgeti(L, LUA_REGISTRYINDEX, wakeups_);
  lua_pushvalue(L, token);
  lua_rawseti(L, -2, wakeup_tail_++);
  lua_pop(L, 1);
  return true;
}

void scheduler::end_woken_wait(std::int32_t session) {
  if (waiting_.find(session) == &break_marker_) (void)waiting_.take(session);
}

coroutine_info* scheduler::find_waiting(lua_State* L, int index) {
  if (lua_type(L, index) == LUA_TTHREAD) {
    coroutine_info* info = extra_space(lua_tothread(L, index));
    if (info == nullptr || info == &main_info_ || info->owner != this ||
        info->state == co_state::pooled) {
      return nullptr;
    }
    return info;
  }
  const char* needle = lua_tostring(L, index);
  if (needle == nullptr) return nullptr;
  coroutine_info* found = nullptr;
  waiting_.for_each([&](std::int32_t, coroutine_info* co) {
    if (found != nullptr || co == &break_marker_) return;
    lua_pushthread(co->thread);
    lua_xmove(co->thread, L, 1);
    const char* name = luaL_tolstring(L, -1, nullptr);
    if (std::strstr(name, needle) != nullptr) found = co;
    lua_pop(L, 2);
  });
  return found;
}

void scheduler::kill_coroutine(coroutine_info& co) {
  if (co.state == co_state::forked) {
    forks_.erase(std::find(forks_.begin(), forks_.end(), &co));
    release(co);
    return;
  }
  if (co.owes_reply() && co.session > 0) {
    (void)self_.send(co.source, ptype::error, co.session, {});
  }
  if (co.waiting != 0) {
    // A call's reply is expected: ignore it. A sleep's timer is simply forgotten, so it later
    // arrives as an unknown response, as it does in skynet.
    if (co.calling) {
      waiting_.put(co.waiting, &break_marker_);
    } else {
      (void)waiting_.take(co.waiting);
    }
    co.self_sleep = 0;
    lua_State* L = main_;
    lua_rawgeti(L, LUA_REGISTRYINDEX, sleeping_);
    lua_pushnil(L);
    while (lua_next(L, -2) != 0) {
      const bool match = lua_tointeger(L, -1) == co.waiting;
      lua_pop(L, 1);
      if (match) {
        lua_pushvalue(L, -1);
        lua_pushnil(L);
        lua_rawset(L, -4);
        token_wakes();
      }
    }
    lua_pop(L, 1);
  }
  close_thread(co.thread, main_);
  release(co);
}

// ---- running coroutines --------------------------------------------------------------------

// Runs `job(L)` on the main state under a protected call. It is for the rare steps after a
// resume that create Lua values (error texts, tracebacks): the message being dispatched may
// not be under a protected call of its own (needs_protection). False if `job` raised.
template <class Job>
bool scheduler::protect(Job& job) {
  cxx_failure failure;
  const int n = lua::protect(
      main_, 0,
      [&](lua_State* L) {
        job(L);
        return 0;
      },
      failure);
  if (n >= 0) return true;
  if (!failure.failed()) lua_pop(main_, 1);
  return false;
}

void scheduler::resume(coroutine_info& co, int nargs) {
  co.state = co_state::started;
  int results = 0;
  lua_State* previous = active();
  coroutine_info* outer = running_;
  running_ = &co;
  set_active(co.thread);
  if (profiling_) profile_enter(main_, co.thread);
  const int status = lua_resume(co.thread, nullptr, nargs, &results);
  if (profiling_) profile_leave(main_, co.thread);
  set_active(previous);
  running_ = outer;
  if (status == LUA_OK) {
    finished(co);
    return;
  }
  if (status != LUA_YIELD) {
    failed(co, status);
    return;
  }
  lua_State* t = co.thread;
  if (results == 0) {  // a debug hook's yield (skynet.coroutine); the debugger resumes it
    co.state = co_state::paused;
    return;
  }
  // A string only: lua_tostring would turn a number into a new string, unprotected.
  const char* command = lua_type(t, -results) == LUA_TSTRING ? lua_tostring(t, -results) : nullptr;
  if (command != nullptr && std::strcmp(command, "SUSPEND") == 0) {
    const std::int32_t session =
        results > 1 ? static_cast<std::int32_t>(lua_tointeger(t, -results + 1)) : 0;
    lua_pop(t, results);
    co.waiting = session;
    co.calling = session != 0 && session == pending_watch_session_;
    co.watch_handle = co.calling ? pending_watch_handle_ : 0;
    if (co.calling) {
      co.watch_name = pending_watch_name_;
      if (pending_watch_deadline_ > 0) arm_deadline(co, pending_watch_deadline_);
    } else {
      co.watch_name.clear();
    }
    pending_watch_session_ = 0;
    if (session != 0) waiting_.put(session, &co);
    return;
  }
  if (command != nullptr && std::strcmp(command, "QUIT") == 0) {
    // skynet.exit() from this coroutine: as skynet, its to-be-closed variables run now.
    lua_pop(t, results);
    close_thread(t, main_);
    return;
  }
  auto describe = [&](lua_State* L) {
    lua_pop(t, results - 1);  // the first value names the command
    lua_xmove(t, L, 1);
    const int first = lua_gettop(L);
    const char* what = "Call skynet.coroutine.yield out of skynet.coroutine.resume";
    if (command == nullptr || std::strcmp(command, "USER") != 0) {
      const int type = lua_type(L, first);
      what = lua_pushfstring(L, "Unknown command : %s",
                             type == LUA_TNUMBER ? lua_tostring(L, first) : lua_typename(L, type));
    }
    luaL_traceback(L, t, what, 0);
    failures_.emplace_back(lua_tostring(L, -1));
    lua_settop(L, first - 1);
  };
  if (!protect(describe)) failures_.emplace_back("not enough memory");
  close_thread(t, main_);
  release(co);
}

void scheduler::finished(coroutine_info& co) {
  if (co.owes_reply() && co.session != 0) forgot_response(co);
  if (co.trace == trace_mode::on) trace_log(co.trace_tag, "end");
  release(co);
}

void scheduler::failed(coroutine_info& co, int status) {
  (void)status;
  lua_State* t = co.thread;
  auto describe = [&](lua_State* L) {
    lua_xmove(t, L, 1);  // the error object: its text is made on the protected main state
    const char* message = lua_tostring(L, -1);
    if (message == nullptr) {
      message = lua_pushfstring(L, "(error object is a %s value)", luaL_typename(L, -1));
    }
    luaL_traceback(L, t, message, 0);
    failures_.emplace_back(lua_tostring(L, -1));
  };
  if (!protect(describe)) failures_.emplace_back("not enough memory");
  if (co.owes_reply() && co.session != 0) {
    if (co.trace == trace_mode::on) trace_log(co.trace_tag, "error");
    (void)self_.send(co.source, ptype::error, co.session, {});
  }
  close_thread(t, main_);
  release(co);
}

// ---- call deadlines (docs/LUA.md) -----------------------------------------------------------

namespace {

// How many expired calls keep their late reply silenced; an older one logs like skynet's
// unknown responses.
constexpr std::size_t expired_kept = 1024;

}  // namespace

void scheduler::arm_deadline(coroutine_info& co, std::int64_t ticks) {
  const std::int32_t timer = new_session();
  deadlines_[timer] = &co;
  co.deadline = timer;
  co.deadline_ticks = ticks;
  self_.timeout(ticks, timer);
}

void scheduler::clear_deadline(coroutine_info& co) {
  if (co.deadline == 0) return;
  deadlines_[co.deadline] = nullptr;  // erased when its timer fires
  co.deadline = 0;
}

bool scheduler::expire_call(std::int32_t session) {
  const auto it = deadlines_.find(session);
  if (it == deadlines_.end()) return false;
  coroutine_info* co = it->second;
  deadlines_.erase(it);
  if (co == nullptr) return true;
  co->deadline = 0;
  const std::int32_t call = co->waiting;
  if (call == 0 || waiting_.find(call) != co) return true;
  waiting_.put(call, &break_marker_);
  expired_.push_back(call);
  if (expired_.size() > expired_kept) {
    const std::int32_t oldest = expired_.front();
    expired_.pop_front();
    if (waiting_.find(oldest) == &break_marker_) (void)waiting_.take(oldest);
  }
  co->waiting = 0;
  lua_State* t = co->thread;
  lua_pushboolean(t, 0);
  bool explained = false;
  {
    const std::string callee =
        co->watch_name.empty() ? format_handle(co->watch_handle) : co->watch_name;
    const std::string text = fmt::format("call to {} timed out after {:.2f} s", callee,
                                         static_cast<double>(co->deadline_ticks) / 100.0);
    auto push_text = [&](lua_State* main) {
      lua_pushlstring(main, text.data(), text.size());
      lua_xmove(main, t, 1);
    };
    explained = protect(push_text);
  }
  resume(*co, explained ? 2 : 1);  // out of memory: the call raises "call failed"
  return true;
}

void scheduler::drain() {
  lua_State* L = main_;
  while (!exiting_) {
    if (wakeup_head_ < wakeup_tail_) {
      lua_rawgeti(L, LUA_REGISTRYINDEX, wakeups_);
      lua_rawgeti(L, -1, wakeup_head_);  // the token
      lua_pushnil(L);
      lua_rawseti(L, -3, wakeup_head_++);
      coroutine_info* own = lua_type(L, -1) == LUA_TTHREAD ? managed(lua_tothread(L, -1)) : nullptr;
      std::int32_t session = own != nullptr ? own->self_sleep : 0;
      bool sleeps = session != 0;
      if (!sleeps && tokens_sleep()) {
        lua_rawgeti(L, LUA_REGISTRYINDEX, sleeping_);
        lua_insert(L, -2);
        lua_rawget(L, -2);
        sleeps = lua_isinteger(L, -1) != 0;
        session = static_cast<std::int32_t>(lua_tointeger(L, -1));
        lua_pop(L, 1);
      }
      lua_pop(L, 2);
      if (!sleeps) continue;
      coroutine_info* co = waiting_.find(session);
      if (co == nullptr || co == &break_marker_) continue;
      waiting_.put(session, &break_marker_);  // its timer (if any) is ignored when it fires
      co->waiting = 0;
      if (co->trace == trace_mode::on) trace_log(co->trace_tag, "resume");
      lua_State* t = co->thread;
      lua_pushboolean(t, 0);
      auto push_break = [t](lua_State* main) {
        lua_pushliteral(main, "BREAK");
        lua_xmove(main, t, 1);
      };
      resume(*co, protect(push_break) ? 2 : 1);  // out of memory: sleep raises "sleep failed"
      continue;
    }
    wakeup_head_ = wakeup_tail_ = 1;
    if (errors_.empty()) return;
    const std::int32_t session = errors_.front();
    errors_.pop_front();
    coroutine_info* co = waiting_.find(session);
    if (co == nullptr || co == &break_marker_) continue;
    (void)waiting_.take(session);
    co->waiting = 0;
    clear_deadline(*co);
    lua_pushboolean(co->thread, 0);
    resume(*co, 1);
  }
}

void scheduler::run_forks() {
  while (!forks_.empty() && !exiting_) {
    coroutine_info* co = forks_.front();
    forks_.pop_front();
    resume(*co, lua_gettop(co->thread) - 1);
    drain();
  }
}

void scheduler::forgot_response(coroutine_info& co) {
  std::string where = "?";
  if (const protocol* p = find_protocol(co.protocol); p != nullptr && p->dispatch != LUA_NOREF) {
    lua_Debug ar;
    lua_rawgeti(main_, LUA_REGISTRYINDEX, p->dispatch);
    if (lua_getinfo(main_, ">S", &ar) != 0) {
      where = fmt::format("{}:{}", ar.source == nullptr ? "?" : ar.source, ar.linedefined);
    }
  }
  self_.log(fmt::format("Maybe forgot response session {} from {} : {}", co.session,
                        format_handle(co.source), where));
}

// ---- messages ------------------------------------------------------------------------------

bool scheduler::needs_protection(int type, std::int32_t session) noexcept {
  if (dispatch_hook_ != LUA_NOREF || profiling_) return true;
  if (type == static_cast<int>(ptype::response)) return waiting_.find(session) == nullptr;
  const protocol* p = find_protocol(type);
  return p == nullptr || p->dispatch == LUA_NOREF || p->trace != trace_mode::unset ||
         !trace_sources_.empty() || pool_.empty();
}

namespace {

// What start_request needs of the message; it lives on the dispatcher's stack, which outlasts
// the first resume of the request's coroutine, the only time it is read.
struct request_start {
  const protocol* proto;
  const void* data;
  std::size_t size;
  std::int32_t session;
  handle_t source;
};

int request_done(lua_State*, int, lua_KContext) {
  return 0;
}

}  // namespace

// The body of a request's coroutine: it unpacks the message onto its own stack and runs the
// protocol's dispatch. Unpacking here, under lua_resume's protection, lets the message go
// without a protected call of its own. A message that does not unpack is not owed a reply
// (as in skynet, where unpack runs before the coroutine): the request is recorded after it.
int scheduler::start_request(lua_State* L) {
  const auto& r = *static_cast<const request_start*>(lua_touserdata(L, 1));
  coroutine_info& co = current(L);
  // Slot 1 (r's address, read by now) becomes the decoder's scratch slot.
  lua_rawgeti(L, LUA_REGISTRYINDEX, r.proto->dispatch);
  lua_pushinteger(L, r.session);
  lua_pushinteger(L, r.source);
  const int n = co.owner->unpack_with(L, *r.proto, r.data, r.size, 1);
  co.session = r.session;
  co.source = r.source;
  co.request = request_state::owed;
  lua_callk(L, n + 2, 0, 0, request_done);
  return 0;
}

std::string scheduler::take_failures() {
  std::string joined;
  for (const std::string& f : failures_) {
    if (!joined.empty()) joined += '\n';
    joined += f;
  }
  failures_.clear();
  return joined;
}

void scheduler::expect(std::int32_t next, std::int32_t after_next) noexcept {
  // A pipeline over two messages: the record of the one after next is fetched now, so that
  // when it is next, the thread the record names can be read without a wait and fetched in
  // turn. The thread's header is its extra space and lua_State, under 256 bytes in Lua 5.4.
  constexpr std::size_t thread_header = 256;
  if (after_next != 0) {
    if (const coroutine_info* co = waiting_.find(after_next);
        co != nullptr && co != &break_marker_) {
      prefetch_for_write(co, sizeof(coroutine_info));
    }
  }
  if (next != 0) {
    if (const coroutine_info* co = waiting_.find(next); co != nullptr && co != &break_marker_) {
      prefetch_for_write(reinterpret_cast<const char*>(co->thread) - LUA_EXTRASPACE, thread_header);
    }
  }
}

void scheduler::dispatch(lua_State* L, int type, const void* data, std::size_t size,
                         std::int32_t session, handle_t source) {
  failures_.clear();
  if (dispatch_hook_ != LUA_NOREF) run_dispatch_hook(L);
  if (type == static_cast<int>(ptype::response)) {
    coroutine_info* co = waiting_.take(session);
    if (co == nullptr) {
      if (!deadlines_.empty() && expire_call(session)) {
        drain();
      } else {
        unknown(L, unknown_response_, "Response message", type, data, size, session, source);
      }
    } else if (co != &break_marker_) {
      co->waiting = 0;
      clear_deadline(*co);
      lua_State* t = co->thread;
      if (co->state == co_state::fresh || co->state == co_state::forked) {
        if (co->timer_origin != LUA_NOREF) {  // its timer fired: task shows the coroutine now
          luaL_unref(L, LUA_REGISTRYINDEX, co->timer_origin);
          co->timer_origin = LUA_NOREF;
        }
        resume(*co, lua_gettop(t) - 1);  // a timeout's function starts now
      } else {
        if (co->trace == trace_mode::on) trace_log(co->trace_tag, "resume");
        lua_pushboolean(t, 1);
        lua_pushlightuserdata(t, const_cast<void*>(data));
        lua_pushinteger(t, static_cast<lua_Integer>(size));
        lua_pushinteger(t, session);
        resume(*co, 4);
      }
      drain();
    }
  } else if (type == static_cast<int>(ptype::error)) {
    error_from(L, source, session);
    drain();
  } else {
    protocol* p = find_protocol(type);
    if (p == nullptr || p->dispatch == LUA_NOREF) {
      if (p == nullptr && type == static_cast<int>(ptype::trace)) {
        trace_sources_[source] = payload_text(data, size);  // for its next request
      } else {
        if (p != nullptr && !trace_sources_.empty()) trace_sources_.erase(source);
        if (session != 0) {
          (void)self_.send(source, ptype::error, session, {});
        } else {
          unknown(L, unknown_request_, "Unknown request", type, data, size, session, source);
        }
      }
    } else {
      coroutine_info& co = take_coroutine(L);
      co.protocol = type;
      if (p->trace != trace_mode::unset || !trace_sources_.empty()) request_trace(co, *p, source);
      const request_start start{p, data, size, session, source};
      lua_pushcfunction(co.thread, start_request);
      lua_pushlightuserdata(co.thread, const_cast<request_start*>(&start));
      resume(co, 1);
      drain();
    }
  }
  run_forks();
}

void scheduler::unknown(lua_State* L, int handler, const char* what, int type, const void* data,
                        std::size_t size, std::int32_t session, handle_t source) {
  if (handler != LUA_NOREF) {
    lua_rawgeti(L, LUA_REGISTRYINDEX, handler);
    lua_pushinteger(L, session);
    lua_pushinteger(L, source);
    lua_pushlightuserdata(L, const_cast<void*>(data));
    lua_pushinteger(L, static_cast<lua_Integer>(size));
    int nargs = 4;
    if (type != static_cast<int>(ptype::response)) {
      if (const protocol* p = find_protocol(type)) {
        lua_pushstring(L, p->name.c_str());
      } else {
        lua_pushinteger(L, type);
      }
      nargs = 5;
    }
    if (lua_pcall(L, nargs, 0, 0) != LUA_OK) {
      const char* message = lua_tostring(L, -1);
      failures_.emplace_back(message == nullptr ? "(error object is not a string)" : message);
      lua_pop(L, 1);
    }
    return;
  }
  if (type == static_cast<int>(ptype::response)) {
    self_.log(fmt::format("{} : {}", what, payload_text(data, size)));
  } else {
    const protocol* p = find_protocol(type);
    self_.log(fmt::format("{} ({}): {}", what, p == nullptr ? std::to_string(type) : p->name,
                          payload_text(data, size)));
    // Nobody will take the bytes a socket message carries (the handler is the owner).
    if (type == static_cast<int>(ptype::socket)) {
      // NOLINTNEXTLINE(*-no-malloc): message bodies are malloc'd (base/payload.hpp)
      if (const socket_message* head = read_socket_message(data, size)) std::free(head->buffer);
    }
  }
  failures_.push_back(fmt::format("Unknown session : {} from {:x}", session, source));
}

void scheduler::error_from(lua_State* L, handle_t source, std::int32_t session) {
  if (session != 0) {
    coroutine_info* co = waiting_.find(session);
    if (co == &break_marker_) {
      (void)waiting_.take(session);  // the call was given up: nothing else will come
    } else if (co != nullptr) {
      errors_.push_back(session);
    }
    return;
  }
  drop_responses_to(L, source);
  waiting_.for_each([&](std::int32_t s, coroutine_info* co) {
    if (co != &break_marker_ && co->calling && co->watch_name.empty() &&
        co->watch_handle == source) {
      errors_.push_back(s);
    }
  });
}

void scheduler::term(lua_State* L, int address) {
  address = lua_absindex(L, address);
  coroutine_info& caller = current(L);
  caller.consume_request();
  if (lua_type(L, address) == LUA_TNUMBER) {
    error_from(L, static_cast<handle_t>(lua_tointeger(L, address)), 0);
    return;
  }
  std::size_t length = 0;
  const char* text = lua_tolstring(L, address, &length);
  if (text == nullptr) return;
  const std::string_view name(text, length);
  waiting_.for_each([&](std::int32_t s, coroutine_info* co) {
    if (co != &break_marker_ && co->calling && co->watch_name == name) errors_.push_back(s);
  });
}

void scheduler::drop_responses_to(lua_State* L, handle_t requester) {
  lua_rawgeti(L, LUA_REGISTRYINDEX, unanswered_);
  const int table = lua_gettop(L);
  lua_pushnil(L);
  while (lua_next(L, table) != 0) {
    const bool match = static_cast<handle_t>(lua_tointeger(L, -1)) == requester;
    lua_pop(L, 1);
    if (!match) continue;
    // The closure's first upvalue records its state; "gone" makes it answer false.
    if (lua_getupvalue(L, -1, 1) != nullptr) {
      if (auto* record = static_cast<response_record*>(lua_touserdata(L, -1))) {
        record->gone = true;
      }
      lua_pop(L, 1);
    }
    lua_pushvalue(L, -1);
    lua_pushnil(L);
    lua_rawset(L, table);
  }
  lua_pop(L, 1);
}

bool scheduler::reply(const coroutine_info& co, ptype type, payload data) {
  return self_.send(co.source, type, co.session, std::move(data));
}

void scheduler::exit(lua_State* L) {
  exiting_ = true;
  // 1. Forks not started never run.
  for (coroutine_info* co : forks_)
    release(*co);
  forks_.clear();
  // 2. The launcher forgets us (a newservice waiting for us returns nil).
  {
    lua_pushliteral(L, "REMOVE");
    lua_pushinteger(L, self_.handle());
    lua_pushboolean(L, 0);
    payload body = pack_values(L, lua_gettop(L) - 2, lua_gettop(L));
    lua_pop(L, 3);
    (void)self_.owner().send(self_.handle(), ".launcher", ptype::lua, 0, std::move(body));
  }
  // 3. Every request being served fails.
  for (const auto& co : coroutines_) {
    if (co->state != co_state::pooled && co->owes_reply() && co->session != 0) {
      (void)self_.send(co->source, ptype::error, co->session, {});
      co->consume_request();
    }
  }
  // 4. and 6. Coroutines waiting for something are closed; callees learn we are gone.
  std::set<handle_t> callees;
  std::vector<coroutine_info*> waiting;
  waiting_.for_each([&](std::int32_t, coroutine_info* co) {
    if (co == &break_marker_) return;
    if (co->calling && co->watch_name.empty() && co->watch_handle != 0) {
      callees.insert(co->watch_handle);
    }
    if (co->thread != L) waiting.push_back(co);
  });
  for (coroutine_info* co : waiting)
    close_thread(co->thread, L);
  // 5. Replies still owed fail.
  lua_rawgeti(L, LUA_REGISTRYINDEX, unanswered_);
  const int table = lua_gettop(L);
  for (;;) {
    lua_pushnil(L);
    if (lua_next(L, table) == 0) break;
    lua_pop(L, 1);
    lua_pushvalue(L, -1);
    lua_pushnil(L);
    lua_rawset(L, table);
    lua_pushboolean(L, 0);
    (void)lua_pcall(L, 1, 0, 0);
  }
  lua_pop(L, 1);
  for (handle_t callee : callees)
    (void)self_.send(callee, ptype::error, 0, {});
  // 8. Retire (logs KILL self); the caller yields "QUIT" and nothing else runs.
  self_.exit();
}

}  // namespace starling::lua
