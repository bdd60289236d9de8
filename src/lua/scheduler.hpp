#pragma once
// The coroutine scheduler inside one Lua service (docs/LUA.md), in C++.
//
// skynet keeps this machinery in skynet.lua; every Lua state then compiles and holds it. Here
// it lives in C++: the session table, the request each coroutine serves, the wakeup, error and
// fork queues and the protocol table, so a Lua service's state holds only its own code, and a
// call or a reply runs no interpreter work besides the handler itself.
//
// Lua values the scheduler must keep (coroutines, sleep tokens, response closures, protocol
// functions) are anchored in the state's registry; C++ keeps the references.
//
// Thread contract: one service's dispatch owns it; nothing here is thread-safe.

#include <atomic>
#include <cstdint>
#include <deque>
#include <lua.hpp>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "actor/session_map.hpp"
#include "base/payload.hpp"
#include "core/context.hpp"

namespace starling::lua {

class scheduler;

/// A tri-state trace flag (docs/LUA.md, "Tracing"): a coroutine's tag is nil, false (tracing
/// forced off) or a string; a protocol's `trace` field is nil, false or true.
enum class trace_mode : std::uint8_t { unset, off, on };

/// Where a managed coroutine is in its life.
enum class co_state : std::uint8_t {
  fresh,    // taken from the pool (or new): its function goes on its stack, not resumed yet
  forked,   // queued by skynet.fork, not resumed yet
  started,  // resumed at least once since its function was pushed
  paused,   // started, and a debug hook suspended it (it yielded nothing)
  pooled,   // back in the pool, serving nothing
};

/// The request a coroutine serves (skynet.context).
enum class request_state : std::uint8_t {
  none,      // none: a fork, a timeout, the start function, the main thread
  answered,  // its reply went (ret / response consumed it): the source is still known
  owed,      // the requester waits for a reply
};

/// A coroutine the scheduler runs (a handler, fork, timeout or the start function). Every
/// Lua thread's extra space points at one of these: managed threads at their own, the main
/// thread and user coroutines at the scheduler's `main` record (which serves no request).
struct coroutine_info {
  scheduler* owner = nullptr;
  lua_State* thread = nullptr;
  int ref = LUA_NOREF;  // anchors the thread in the registry

  // The request it serves (skynet.context).
  std::int32_t session = 0;
  handle_t source = 0;
  request_state request = request_state::none;
  co_state state = co_state::fresh;
  int protocol = -1;  // the protocol whose dispatch runs here (for "Maybe forgot response")

  // What it waits for: a session, and for a call the callee "as given to call".
  std::int32_t waiting = 0;
  handle_t watch_handle = 0;
  std::string watch_name;

  bool calling = false;  // `waiting` is a call (its reply is ignored if killed)
  // The session of a sleep or wait whose token is this coroutine itself (skynet.sleep(ti),
  // skynet.wait(), skynet.yield()): kept here instead of the sleeping table, where churning
  // thousands of distinct coroutine keys made Lua rehash the table over and over.
  std::int32_t self_sleep = 0;
  // A call's deadline: the session of the timer that fails it (0: none), and its length.
  std::int32_t deadline = 0;
  std::int64_t deadline_ticks = 0;

  trace_mode trace = trace_mode::unset;  // `on`: trace_tag is its tag
  std::string trace_tag;
  int timer_origin = LUA_NOREF;  // skynet.trace_timeout: where its timer was created

  [[nodiscard]] bool owes_reply() const noexcept { return request == request_state::owed; }
  /// ret / response / ignoreret / term: the request is no longer owed a reply.
  void consume_request() noexcept {
    if (request == request_state::owed) request = request_state::answered;
  }
};

/// One registered protocol (skynet.register_protocol).
struct protocol {
  int id = 0;
  std::string name;
  int pack = LUA_NOREF;  // Lua functions; NOREF when absent
  int unpack = LUA_NOREF;
  int dispatch = LUA_NOREF;
  bool seri_pack = false;                // pack is skynet.pack: packed straight from the stack
  bool seri_unpack = false;              // likewise for unpack
  bool identity = false;                 // pack and unpack are the identity (the error protocol)
  trace_mode trace = trace_mode::unset;  // skynet.traceproto
};

/// The state behind one skynet.response closure (its first upvalue, a userdata).
struct response_record {
  bool used = false;
  bool gone = false;  // the requester said it exited (PTYPE_ERROR, session 0)
  std::int32_t session = 0;
  handle_t source = 0;
};

/// One message handed to the scheduler without going through Lua values.
struct incoming {
  int type;
  const void* data;
  std::size_t size;
  std::int32_t session;
  handle_t source;
};

/// A message argument at `index`: a string (copied; "" is no data) or a light userdata and a
/// size at index + 1 (taken over). Raises "invalid param <type>" for anything else.
payload raw_message(lua_State* L, int index);

class scheduler {
  // What every message reads comes first, on as few cache lines as possible: a message to a
  // service whose state has left the caches misses once per line it touches (the ring of
  // 10,000 services in docs/PERFORMANCE.md).
 private:
  // The message callback: skynet.dispatch_message (skynet.start) or skynet.core.callback's.
  int callback_ = LUA_NOREF;
  bool forward_ = false;          // the callback keeps the message buffers
  bool native_callback_ = false;  // the callback is skynet.dispatch_message (skynet.start)
  // skynet.profile was started once: every resume then times the coroutines it profiles.
  bool profiling_ = false;
  bool exiting_ = false;
  int dispatch_hook_ = LUA_NOREF;
  context& self_;
  lua_State* main_;
  coroutine_info* running_;
  std::atomic<lua_State*> active_{nullptr};
  std::vector<protocol> protocols_;
  std::vector<coroutine_info*> pool_;
  detail::session_map<coroutine_info, detail::sequential_keys> waiting_;
  std::vector<std::string> failures_;  // error texts of the message being handled
  lua_Integer wakeup_head_ = 1, wakeup_tail_ = 1;
  std::unordered_map<handle_t, std::string> trace_sources_;  // PTYPE_TRACE tags by sender
  std::deque<coroutine_info*> forks_;
  std::deque<std::int32_t> errors_;  // sessions whose call failed, resumed one per drain

 public:
  scheduler(context& self, lua_State* main);
  ~scheduler();
  scheduler(const scheduler&) = delete;
  scheduler& operator=(const scheduler&) = delete;

  /// The scheduler of the state `L` belongs to (null outside a Starling Lua service).
  static scheduler* of(lua_State* L) noexcept;
  /// The coroutine record of the running thread `L`.
  static coroutine_info& current(lua_State* L) noexcept;

  [[nodiscard]] context& self() const noexcept { return self_; }
  [[nodiscard]] lua_State* main_state() const noexcept { return main_; }

  // ---- the message callback ----------------------------------------------------------------

  /// Makes the function at `index` the callback of every message (skynet.start installs
  /// skynet.dispatch_message; skynet.core.callback any function). With `forward`, the callback
  /// keeps the message buffers.
  void set_callback(lua_State* L, int index, bool forward);
  /// The callback's registry reference, or LUA_NOREF before one is set.
  [[nodiscard]] int callback() const noexcept { return callback_; }
  [[nodiscard]] bool forwards() const noexcept { return forward_; }
  /// The callback is skynet.dispatch_message: the host passes a message as one pointer.
  [[nodiscard]] bool native_callback() const noexcept { return native_callback_; }

  // ---- the start (skynet.init, skynet.start) ----------------------------------------------

  /// Queues the function at `index` to run before the start function.
  void queue_init(lua_State* L, int index);
  /// Pushes the `i`-th queued init function (from 1); false, with nothing pushed, past the last.
  bool push_init(lua_State* L, lua_Integer i);
  /// The init functions ran: later ones run at once (started()).
  void inits_done(lua_State* L);
  [[nodiscard]] bool started() const noexcept { return started_; }
  /// The start coroutine until its start function ends (skynet.task "init"), or null.
  [[nodiscard]] coroutine_info* starting() const noexcept { return starting_; }
  void set_starting(coroutine_info* co) noexcept { starting_ = co; }

  // ---- the `skynet` table -----------------------------------------------------------------

  void set_module(int ref) noexcept { module_ = ref; }
  void push_module(lua_State* L) const { lua_rawgeti(L, LUA_REGISTRYINDEX, module_); }
  /// lualib/skynet/extra.lua ran (it is loaded once, on first use).
  [[nodiscard]] bool extra_loaded() const noexcept { return extra_loaded_; }
  void mark_extra_loaded() noexcept { extra_loaded_ = true; }
  /// skynet.memlimit: the limit the host applies after the main chunk (0: none). The function
  /// removes itself once called.
  void take_memlimit(std::size_t bytes) noexcept {
    memlimit_ = bytes;
    memlimit_taken_ = true;
  }
  [[nodiscard]] std::size_t memlimit() const noexcept { return memlimit_; }
  [[nodiscard]] bool memlimit_taken() const noexcept { return memlimit_taken_; }

  // ---- protocols -------------------------------------------------------------------------

  /// Registers `class` at stack index `index` (skynet.register_protocol); raises on misuse.
  void register_protocol(lua_State* L, int index);
  /// How a built-in protocol's messages are packed.
  enum class packing { none, seri, identity };
  /// Registers a built-in protocol with an optional C dispatcher.
  void register_builtin(lua_State* L, const char* name, int id, packing how,
                        lua_CFunction dispatcher);
  [[nodiscard]] protocol* find_protocol(int id) noexcept;
  [[nodiscard]] protocol* find_protocol(std::string_view name) noexcept;
  /// The protocol named by the string at `index`, raising an index error if unknown.
  protocol& checked_protocol(lua_State* L, int index);
  /// Packs stack values [first, last] with `p`'s pack function.
  payload pack_with(lua_State* L, const protocol& p, int first, int last);
  /// Pushes the values of (data, size) unpacked with `p`'s unpack; returns how many.
  /// `scratch`: a stack slot below them that the decoder may overwrite.
  int unpack_with(lua_State* L, const protocol& p, const void* data, std::size_t size, int scratch);

  // ---- sessions and coroutines -------------------------------------------------------------

  /// A fresh session that no pending call, sleep or wait uses (safe after wrap-around).
  std::int32_t new_session();
  /// A pooled coroutine; its function and arguments go on its stack next. Raises on `L` (out
  /// of memory) when it must make one.
  coroutine_info& take_coroutine(lua_State* L);
  /// Queues `co` (function and arguments already on its stack) to run after this message.
  void fork(coroutine_info& co);
  /// Waits for `session` with a fresh coroutine running the function (and its `nargs`
  /// arguments) on L's stack top.
  coroutine_info& wait_with_new_coroutine(lua_State* L, std::int32_t session, int nargs);
  /// Called by a blocking function just before it yields on `session` for a call to
  /// `handle` / `name`, so the scheduler can record what the caller watches. A call with
  /// `deadline` ticks (0: the node's `call_timeout`; negative: none) fails when they pass.
  void note_call(std::int32_t session, handle_t handle, std::string_view name,
                 std::int64_t deadline = 0);
  /// Puts `token` (stack index) on the wakeup queue if it sleeps; returns whether it does.
  bool wakeup(lua_State* L, int token);
  /// A wait woken by `wakeup` is over: no timer will ever answer its session, so the marker
  /// the wakeup left there goes now (a woken sleep's marker goes when its timer fires).
  void end_woken_wait(std::int32_t session);
  /// Removes a coroutine (fork or waiting one); see skynet.killthread.
  coroutine_info* find_waiting(lua_State* L, int index);
  /// The record of `thread` when it is one of this service's coroutines (not pooled), else null.
  [[nodiscard]] coroutine_info* managed(lua_State* thread) noexcept;
  void kill_coroutine(coroutine_info& co);
  /// Number of sessions waited for (BREAK markers excluded).
  [[nodiscard]] std::size_t pending_sessions() const;
  /// Fills the table on L's top with "<thread> session: <n>" -> traceback (skynet.task).
  void describe_tasks(lua_State* L);
  /// Pushes the traceback of the coroutine waiting for `session`, or "No session".
  void describe_session(lua_State* L, std::int32_t session);
  /// Pushes the session the coroutine at `index` waits for, or nil.
  void push_waiting_session(lua_State* L, int index);

  // ---- messages ------------------------------------------------------------------------------

  /// Whether dispatching this message may raise outside a coroutine, so that it needs a
  /// protected call: an unknown session or protocol (their hooks), a PTYPE_ERROR, tracing,
  /// profiling, the debugger's hook, or a coroutine still to create. Any other message raises
  /// only inside the coroutines it resumes, which lua_resume protects, and goes without one.
  [[nodiscard]] bool needs_protection(int type, std::int32_t session) noexcept;
  /// The responses dispatched after the current message (sessions; 0: not a response): what
  /// resuming their coroutines touches starts loading now. Thousands of timeouts due together
  /// each wake a coroutine last touched when it was armed, long gone from the caches.
  void expect(std::int32_t next, std::int32_t after_next) noexcept;
  /// skynet.dispatch_message: one message through section 6.2, on the main state L. What
  /// failed (handlers, forks, unknown messages) is kept for take_failures.
  void dispatch(lua_State* L, int type, const void* data, std::size_t size, std::int32_t session,
                handle_t source);
  /// Whether something failed in the last dispatch; take_failures joins the error texts by
  /// newlines and forgets them.
  [[nodiscard]] bool has_failures() const noexcept { return !failures_.empty(); }
  std::string take_failures();
  /// A PTYPE_ERROR with session 0 from `address` handled locally (skynet.term).
  void term(lua_State* L, int address);
  /// skynet.exit from the running coroutine `L`; the caller yields "QUIT" afterwards.
  void exit(lua_State* L);
  [[nodiscard]] bool exiting() const noexcept { return exiting_; }

  // ---- the remote debugger (skynet.debugchannel) ------------------------------------------

  /// Sets the function at `index` to run before every message, or clears it (nil).
  void set_dispatch_hook(lua_State* L, int index);
  /// Resumes `thread` if it is one of this scheduler's coroutines that a debug hook paused.
  bool resume_paused(lua_State* thread);

  /// The thread running Lua code for this service now (any thread may ask: SIGNAL).
  [[nodiscard]] lua_State* active() const noexcept {
    return active_.load(std::memory_order_acquire);
  }
  void set_active(lua_State* L) noexcept { active_.store(L, std::memory_order_release); }
  /// SIGNAL from any thread: the number the active thread then raises as `signal <n>`.
  void raise_signal(int number) noexcept { pending_signal_.store(number); }
  [[nodiscard]] int pending_signal() const noexcept { return pending_signal_.load(); }

  /// Sends `data` as a reply of type `type` to the request recorded in `co`.
  bool reply(const coroutine_info& co, ptype type, payload data);

  // ---- tracing (docs/LUA.md) --------------------------------------------------------------

  /// The coroutine the scheduler resumed last and that still runs (its main record outside
  /// any): user coroutines it resumes share its tag, as in skynet.
  [[nodiscard]] coroutine_info& running() const noexcept { return *running_; }
  /// Logs `<TRACE tag> <hpc ns> text`; with `co`, followed by up to three "source:line"
  /// positions of co's stack from `level` up.
  void trace_log(std::string_view tag, std::string_view text, lua_State* co = nullptr,
                 int level = 0);
  /// Logs `event` for the running coroutine if it carries a tag (the untraced path is one
  /// comparison); positions as in trace_log when `co` is given.
  void trace_event(const char* event, lua_State* co = nullptr, int level = 0) {
    if (running_->trace == trace_mode::on) trace_log(running_->trace_tag, event, co, level);
  }
  /// skynet.trace(info) for `co`: the `TRACE` line, then a new tag unless forced off.
  void start_trace(coroutine_info& co, const char* info);
  /// skynet.trace_timeout: timers remember where they were created.
  void set_trace_timeouts(bool on) noexcept { trace_timeouts_ = on; }
  [[nodiscard]] bool traces_timeouts() const noexcept { return trace_timeouts_; }

  // ---- skynet.profile ------------------------------------------------------------------------

  /// The registry table thread -> profile record (weak keys), or LUA_NOREF before the first
  /// skynet.profile.start.
  [[nodiscard]] int profile_records() const noexcept { return profile_records_; }
  /// Makes the table of profile records if needed; from then on every resume times the
  /// coroutines it profiles.
  void start_profiling(lua_State* L);
  [[nodiscard]] bool profiling() const noexcept { return profiling_; }

  // ---- response closures --------------------------------------------------------------------

  /// The registry table of response closures still owed: closure -> requester handle.
  [[nodiscard]] int unanswered_ref() const noexcept { return unanswered_; }
  /// The registry table of sleeping tokens: token -> session. A coroutine sleeping on itself
  /// is kept in its own record instead (coroutine_info::self_sleep).
  [[nodiscard]] int sleeping_ref() const noexcept { return sleeping_; }
  /// Counts the entries of the sleeping table, so the common case (no token but the sleeper
  /// itself) skips looking it up.
  void token_sleeps() noexcept { ++sleeping_tokens_; }
  void token_wakes() noexcept { --sleeping_tokens_; }
  [[nodiscard]] bool tokens_sleep() const noexcept { return sleeping_tokens_ != 0; }

  // ---- hooks kept as Lua values --------------------------------------------------------------

  enum class hook { unknown_request, unknown_response, info };
  /// Sets the hook to the value at index 1 (nil clears it) and pushes the previous one; with
  /// no argument only pushes the current one. Returns the number of values pushed.
  int swap_hook(lua_State* L, hook which);

 private:
  int& hook_ref(hook which) noexcept;

  int unknown_request_ = LUA_NOREF;
  int unknown_response_ = LUA_NOREF;
  int info_ = LUA_NOREF;                // skynet.info_func
  int init_queue_ = LUA_NOREF;          // skynet.init functions waiting for the start
  bool started_ = false;                // the init functions ran: later ones run at once
  bool memlimit_taken_ = false;         // skynet.memlimit removes itself once called
  bool extra_loaded_ = false;           // lualib/skynet/extra.lua ran
  bool trace_timeouts_ = false;         // skynet.trace_timeout
  coroutine_info* starting_ = nullptr;  // the start coroutine until its start function ends
  int module_ = LUA_NOREF;              // the `skynet` table
  std::size_t memlimit_ = 0;            // skynet.memlimit from the main chunk
  int profile_records_ = LUA_NOREF;     // registry: thread -> its profile record (weak keys)
  std::atomic<int> pending_signal_{0};

  void resume(coroutine_info& co, int nargs);
  static int start_request(lua_State* L);
  template <class Job>
  bool protect(Job& job);
  void finished(coroutine_info& co);
  void failed(coroutine_info& co, int status);
  void drain();
  void run_forks();
  void release(coroutine_info& co);
  void run_dispatch_hook(lua_State* L);
  void request_trace(coroutine_info& co, const protocol& p, handle_t source);
  void error_from(lua_State* L, handle_t source, std::int32_t session);
  void unknown(lua_State* L, int handler, const char* what, int type, const void* data,
               std::size_t size, std::int32_t session, handle_t source);
  void forgot_response(coroutine_info& co);
  void drop_responses_to(lua_State* L, handle_t requester);
  void arm_deadline(coroutine_info& co, std::int64_t ticks);
  /// The call of `co` ended: its deadline's timer is ignored when it fires.
  void clear_deadline(coroutine_info& co);
  /// A deadline's timer fired: fails the call it guards. False if `session` is no deadline.
  bool expire_call(std::int32_t session);

  coroutine_info main_info_;
  coroutine_info break_marker_;  // waiting[session] == &break_marker_: ignore its reply

  std::vector<std::unique_ptr<coroutine_info>> coroutines_;
  int wakeups_ = LUA_NOREF;  // registry: array of tokens
  int sleeping_ = LUA_NOREF;
  std::size_t sleeping_tokens_ = 0;
  int unanswered_ = LUA_NOREF;
  std::int32_t pending_watch_session_ = 0;
  handle_t pending_watch_handle_ = 0;
  std::string pending_watch_name_;
  std::int64_t pending_watch_deadline_ = 0;
  // Deadline timers by session: the caller, or null once its call ended another way.
  std::unordered_map<std::int32_t, coroutine_info*> deadlines_;
  // Calls that ran out of time, oldest first: a late reply to one is dropped without a word.
  // Bounded, so calls that are never answered do not pile up.
  std::deque<std::int32_t> expired_;
  std::uint64_t traces_ = 0;  // tags created so far
};

}  // namespace starling::lua
