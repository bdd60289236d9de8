#pragma once
// The timer thread: fires (handle, session) pairs at nanosecond deadlines.
//
// skynet advances a 10 ms wheel from a thread that polls every 2.5 ms, so a timeout is up to a
// tick late before any scheduling delay. Here the thread sleeps until the earliest deadline of
// a binary heap, so lateness is the wake-up latency of one condition variable.
// Thread contract: `add` from any thread; the callback runs on the timer thread.

#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

#include "core/handle.hpp"

namespace starling {

class timer {
 public:
  using fire_fn = std::function<void(handle_t, std::int32_t session)>;

  explicit timer(fire_fn fire);
  ~timer();
  timer(const timer&) = delete;
  timer& operator=(const timer&) = delete;

  /// Schedules `fire(target, session)` at `deadline_ns` (monotonic_ns clock). Entries with
  /// equal deadlines fire in the order they were added.
  void add(std::uint64_t deadline_ns, handle_t target, std::int32_t session);

  /// Number of entries not fired yet.
  [[nodiscard]] std::size_t pending();

  /// Stops the thread; entries not yet due are dropped. Idempotent.
  void stop();

 private:
  struct entry {
    std::uint64_t deadline;
    std::uint64_t sequence;
    handle_t target;
    std::int32_t session;
    // Min-heap order through std::push_heap's max-heap: "greater" sorts first.
    bool operator<(const entry& other) const noexcept {
      return deadline != other.deadline ? deadline > other.deadline : sequence > other.sequence;
    }
  };

  void run();

  fire_fn fire_;
  std::mutex mutex_;
  std::condition_variable wake_;
  std::vector<entry> heap_;  // guarded by mutex_
  std::uint64_t sequence_ = 0;
  bool stopping_ = false;
  std::thread thread_;
};

}  // namespace starling
