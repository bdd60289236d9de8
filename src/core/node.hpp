#pragma once
// One process = one node: the handle table, the scheduler, the timer, the stall monitor, and
// the verbs services use to reach each other. Every public member is safe from any thread.

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "base/clock.hpp"
#include "base/mutex.hpp"
#include "core/context.hpp"
#include "core/environment.hpp"
#include "core/handle_table.hpp"
#include "core/io_poller.hpp"
#include "core/memory_trimmer.hpp"
#include "core/module_registry.hpp"
#include "core/remote_router.hpp"
#include "core/scheduler.hpp"
#include "core/shutdown_board.hpp"
#include "core/stall_monitor.hpp"
#include "core/timer.hpp"

namespace starling {

struct node_options {
  /// Worker threads (config `thread`).
  int threads = 8;
  /// Harbor id placed in the high 8 bits of every handle (config `harbor`).
  std::uint32_t harbor = 0;
  /// Per-service CPU accounting (config `profile`).
  bool profile = true;
  /// How often the stall monitor looks; skynet uses 5 s.
  std::chrono::milliseconds stall_interval{5000};
  /// Deadline of a call made without one, in ticks (config `call_timeout`); 0: none, calls
  /// wait as long as skynet's do.
  std::int64_t call_timeout = 0;
};

class node final : private dispatcher {
 public:
  /// `modules` and `env` must outlive the node.
  node(node_options options, const module_registry& modules, environment& env);
  ~node() override;
  node(const node&) = delete;
  node& operator=(const node&) = delete;

  // ---- lifecycle -----------------------------------------------------------------------

  /// Starts the workers, the timer and the stall monitor.
  void start();
  /// Blocks until every service has retired (after `abort`, in practice), then stops threads.
  void wait();
  /// Retires every service at once: no KILL lines, no exit-monitor notices.
  void abort();
  /// Keeps `part` alive until every service has been released, then drops the parts in the
  /// reverse order of attachment. For what services call into while they close (the socket
  /// thread: a Lua state closes its sockets as it is collected).
  void attach(std::shared_ptr<void> part);
  /// Lets idle workers wait in `poller` (the socket server) instead of a thread of its own;
  /// null detaches it, once no worker is inside (scheduler::set_poller).
  void set_io_poller(io_poller* poller) { scheduler_.set_poller(poller); }
  /// Runs `fn` while no worker polls (scheduler::with_poller_lead).
  void with_io_lead(const std::function<void()>& fn) { scheduler_.with_poller_lead(fn); }
  /// Graceful shutdown: who wants to be told, and a stop asked from inside the node.
  [[nodiscard]] shutdown_board& shutdown() noexcept { return shutdown_; }

  // ---- services ------------------------------------------------------------------------

  /// Creates a service of `module` and runs its init on this thread. Returns its handle, or 0
  /// if the module is unknown or init failed.
  handle_t launch(std::string_view module, std::string_view param);
  /// `<module> <param>` in one string (split_command_line).
  handle_t launch(std::string_view line);
  /// A strong reference to a live service, or null.
  [[nodiscard]] std::shared_ptr<context> grab(handle_t h) const;
  /// `killer` retires `target` (logs `KILL :<hex>` from the killer, tells the exit monitor).
  void kill(handle_t killer, handle_t target);
  /// `self` retires itself (logs `KILL self`, tells the exit monitor).
  void exit(handle_t self);
  /// How many messages `h` has queued, read without its mailbox lock (a moment old when
  /// they move); nullopt when `h` is not live. For the socket thread's backpressure.
  [[nodiscard]] std::optional<std::size_t> queue_length(handle_t h) const;
  /// Number of live services.
  [[nodiscard]] std::size_t live_services() const { return handles_.live(); }
  [[nodiscard]] std::vector<handle_t> services() const { return handles_.handles(); }
  /// The harbor service: it is the one that reports messages dropped for other harbors.
  void set_harbor_service(handle_t h) noexcept { harbor_service_.store(h); }
  /// Harbor mode: from now on messages for other harbors and for global names go to `router`
  /// (core/remote_router.hpp), which the node keeps until it is destroyed. Only the first
  /// router is taken; false for a later one.
  bool set_remote_router(std::shared_ptr<remote_router> router);
  /// Sets the service told of every exit and kill (0 clears it).
  void set_exit_monitor(handle_t h) noexcept { exit_monitor_.store(h); }
  [[nodiscard]] handle_t exit_monitor() const noexcept { return exit_monitor_.load(); }

  // ---- names ---------------------------------------------------------------------------

  /// Binds the local name (written without its dot) to `h`; first registration wins.
  bool bind_name(std::string_view name, handle_t h);
  [[nodiscard]] std::optional<handle_t> find_name(std::string_view name) const;
  /// Registers a global name. False (and a log line) if it exists. Messages that waited for
  /// the name are delivered now.
  bool register_global(std::string_view name, handle_t h);
  /// Resolves `.local`, `:hex` or a registered global name.
  [[nodiscard]] std::optional<handle_t> resolve(std::string_view address) const;

  // ---- messages ------------------------------------------------------------------------

  /// Queues a message for `dest`. False if `dest` does not exist (nothing is delivered).
  /// A destination on another harbor gets the message dropped with a log line and an error
  /// reply. Never blocks.
  bool send(handle_t source, handle_t dest, ptype type, std::int32_t session, payload data);
  /// As `send`, by address text: `.local` and `:hex` fail when unknown; a global name that
  /// is not registered yet keeps the message until it is.
  bool send(handle_t source, std::string_view address, ptype type, std::int32_t session,
            payload data);

  // ---- time (ticks of 1/100 s) ---------------------------------------------------------

  /// Delivers `response`/`session` (source 0, no data) to `h` after `delay` ticks; `delay <= 0`
  /// queues it behind the messages already there.
  void timeout(handle_t h, std::int64_t delay, std::int32_t session);
  /// Ticks since start plus the centisecond part of the wall clock at start (skynet.now).
  [[nodiscard]] std::int64_t now() const noexcept;
  /// Wall-clock seconds at start (skynet.starttime).
  [[nodiscard]] std::int64_t start_time() const noexcept { return start_seconds_; }
  /// Monotonic nanoseconds, for profiling (skynet.hpc).
  [[nodiscard]] static std::uint64_t hpc() noexcept { return monotonic_ns(); }

  // ---- logging -------------------------------------------------------------------------

  /// Sends `text` to the service named `logger` with `source`; dropped if there is none.
  void log(handle_t source, std::string_view text);

  // ---- memory --------------------------------------------------------------------------

  /// A lot of memory was just freed (a long write queue drained): it goes back to the system
  /// soon (memory_trimmer). Overloaded mailboxes are watched without being asked.
  void release_memory_soon() { trimmer_.request(); }

  [[nodiscard]] const node_options& options() const noexcept { return options_; }
  /// The config keys and what services set (skynet.getenv / setenv).
  [[nodiscard]] environment& env() const noexcept { return env_; }

 private:
  void dispatch(context& target, message& msg) override;
  void between_batches() override;
  void after_wait() override;
  [[nodiscard]] std::uint64_t next_timer_deadline() const override { return timer_.earliest(); }

  /// Pushes `msg` to a local `dest` and schedules it if it was idle; false if `dest` is not
  /// live. A closed mailbox bounces the message.
  bool deliver(handle_t dest, message& msg);
  /// Answers a message that will never be handled: PTYPE_ERROR with its session, from `dead`.
  void bounce(handle_t dead, message& msg);
  /// Drops a request that `full`'s mailbox limit refused: a call gets PTYPE_ERROR.
  void refuse(handle_t full, message& msg, std::size_t refused);
  void retire(handle_t h);
  void notify_exit_monitor(handle_t retired);
  void drop_remote(handle_t source, handle_t dest, std::int32_t session, std::size_t size);

  const node_options options_;
  const module_registry& modules_;
  environment& env_;
  handle_table<context> handles_;
  std::atomic<bool> started_{false};  // before timer_: its thread reads it
  scheduler scheduler_;
  timer timer_;
  std::unique_ptr<stall_monitor> stall_monitor_;
  memory_trimmer trimmer_;  // after handles_: it looks services up until it stops

  std::uint64_t start_mono_ns_;
  std::int64_t start_seconds_;
  std::int64_t start_centis_;

  std::atomic<handle_t> exit_monitor_{0};
  std::atomic<handle_t> harbor_service_{0};
  // Set once, never cleared: a sender may be inside the router at any time.
  std::atomic<remote_router*> router_{nullptr};
  std::shared_ptr<remote_router> router_owner_ GUARDED_BY(globals_mutex_);
  std::atomic<handle_t> logger_{0};

  struct parked_message {
    handle_t source;
    ptype type;
    std::int32_t session;
    payload data;
  };
  mutable mutex globals_mutex_;
  std::unordered_map<std::string, handle_t> globals_ GUARDED_BY(globals_mutex_);
  std::unordered_map<std::string, std::vector<parked_message>> parked_ GUARDED_BY(globals_mutex_);

  std::vector<std::shared_ptr<void>> parts_;  // written before start, dropped in ~node
  shutdown_board shutdown_;

  mutex shutdown_mutex_;
  std::condition_variable shutdown_cv_;  // waited on with shutdown_mutex_
};

}  // namespace starling
