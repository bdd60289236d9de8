#pragma once
// Endless-loop detection: each worker publishes what it is dispatching; a thread checks every
// `interval` and reports a worker that is still inside the same dispatch as at the last check.
// So a message running longer than 2 x interval is always reported, one shorter than one
// interval never (skynet's fixed interval is 5 s; ours is configurable so tests run fast).

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <thread>
#include <vector>

#include "base/mutex.hpp"
#include "base/thread_safety.hpp"
#include "core/handle.hpp"

namespace starling {

/// Written by one worker around each dispatch; read by the monitor thread. On a cache line of
/// its own, so that workers do not write each other's line at every dispatch.
class alignas(64) worker_probe {
 public:
  void begin(handle_t source, handle_t dest) noexcept {
    writer_.claim();
    source_.store(source, std::memory_order_relaxed);
    dest_.store(dest, std::memory_order_relaxed);
    bump();
  }
  void end() noexcept {
    dest_.store(0, std::memory_order_relaxed);
    bump();
  }
  /// Changes at every dispatch start and end: equal twice means "still in one dispatch".
  [[nodiscard]] std::uint32_t version() const noexcept {
    return version_.load(std::memory_order_acquire);
  }
  /// Inside a dispatch now (begin bumps the version to odd, end back to even).
  [[nodiscard]] bool dispatching() const noexcept {
    return (version_.load(std::memory_order_relaxed) & 1U) != 0;
  }

 private:
  friend class stall_monitor;
  // One writer: a load and a store, not a locked read-modify-write.
  void bump() noexcept {
    version_.store(version_.load(std::memory_order_relaxed) + 1, std::memory_order_release);
  }

  std::atomic<std::uint32_t> version_{0};
  std::atomic<handle_t> source_{0};
  std::atomic<handle_t> dest_{0};
  std::uint32_t checked_version_ = 0;          // monitor thread only
  [[no_unique_address]] thread_owner writer_;  // the worker's thread
};

class stall_monitor {
 public:
  /// `report(source, dest, version)` runs on the monitor thread for each stalled dispatch.
  using report_fn = std::function<void(handle_t source, handle_t dest, std::uint32_t version)>;

  stall_monitor(std::vector<worker_probe>& probes, std::chrono::milliseconds interval,
                report_fn report);
  ~stall_monitor();
  stall_monitor(const stall_monitor&) = delete;
  stall_monitor& operator=(const stall_monitor&) = delete;

  /// One pass over the probes. Monitor thread only.
  void check();
  void stop();

 private:
  void run();

  std::vector<worker_probe>& probes_;
  [[no_unique_address]] thread_owner checker_;  // check()
  std::chrono::milliseconds interval_;
  report_fn report_;
  mutex mutex_;
  std::condition_variable wake_;
  bool stopping_ GUARDED_BY(mutex_) = false;
  std::thread thread_;
};

}  // namespace starling
