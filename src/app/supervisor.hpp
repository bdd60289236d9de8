#pragma once
// The process side of a node's life (docs/DESIGN.md, "Stopping"), on one thread of its own:
//
// * SIGHUP becomes a PTYPE_SYSTEM message to the logger (log rotation).
// * SIGTERM and SIGINT start a graceful shutdown, and so does a stop asked from inside the node
//   (shutdown_board::request_stop) or a node left with nothing running but its logger: the
//   listeners are closed, the services that asked are told (a `debug` message "SHUTDOWN"
//   with the reason), the supervisor waits until each is done or gone, at most
//   `shutdown_timeout`, then flushes the log and aborts the node.
// * A second SIGTERM or SIGINT during a shutdown ends the process at once (the pid file is
//   removed first).
//
// Signals are taken with sigtimedwait, never by a handler, so the runtime is only touched from
// an ordinary thread. `block_signals` must run before any other thread exists.

#include <atomic>
#include <chrono>
#include <cstdint>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "core/node.hpp"
#include "core/shutdown_board.hpp"

namespace starling::app {

/// Blocks SIGHUP, SIGTERM and SIGINT in the calling thread, so every thread created after
/// (and a process forked by daemon(3)) inherits the mask; one that arrives early waits, pending.
void block_signals();

/// Waits (bounded) until the logger has taken every queued line: abort() drops the rest.
void drain_log(const node& runtime);

class supervisor {
 public:
  struct options {
    std::int64_t shutdown_timeout = 500;  ///< ticks (1/100 s)
    std::string pid_path;                 ///< removed before a second signal ends the process
  };

  /// Declared after the node it watches, so it is joined before the node goes.
  supervisor(node& runtime, options settings);
  ~supervisor();
  supervisor(const supervisor&) = delete;
  supervisor& operator=(const supervisor&) = delete;

  /// The bootstrap is launched: from now on a node with only its logger left is stopped.
  void booted() noexcept { booted_.store(true); }
  /// The stop the supervisor carried out (its status and reason), if it did.
  [[nodiscard]] std::optional<shutdown_board::request> outcome() const;

 private:
  enum class phase { running, stopping, stopped };

  void run();
  void on_signal(int number);
  void begin(shutdown_board::request request);
  [[nodiscard]] bool settled() const;
  void finish();
  /// Stops accepting: closes every listening socket; returns how many.
  [[nodiscard]] std::size_t close_listeners() const;

  node& runtime_;
  options options_;
  std::atomic<bool> booted_{false};
  std::atomic<bool> leaving_{false};
  phase phase_ = phase::running;  // the supervisor thread's own
  std::vector<handle_t> told_;    // likewise
  std::chrono::steady_clock::time_point deadline_;
  mutable std::mutex outcome_mutex_;
  std::optional<shutdown_board::request> outcome_;  // guarded
  std::thread thread_;
};

}  // namespace starling::app
