#pragma once
// The timer thread: fires (handle, session) pairs at nanosecond deadlines.
//
// skynet advances a 10 ms wheel from a thread that polls every 2.5 ms, so a timeout is up to a
// tick late before any scheduling delay. Here the thread sleeps until the earliest deadline.
// Deadlines are rounded up to a 0.1 ms grid: a timer never fires early, and however many
// timers are pending the thread wakes at most once per grid step. Entries are kept by grid
// slot, in an ordered map of slots each holding its entries in registration order: timers
// set together share a slot, so adding one is an append to the slot used last and firing
// takes a whole slot at once (a heap of entries cost a sift per timer, with cache misses,
// when 10,000 sleeps came due together).
// Busy workers also call `fire_due` between batches: on a loaded machine the timer thread
// would otherwise have to win a core from them, which costs milliseconds.
// Thread contract: `add` from any thread; the callback runs on the timer thread.

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <thread>
#include <vector>

#include "base/mutex.hpp"
#include "core/handle.hpp"

namespace starling {

class timer {
 public:
  using fire_fn = std::function<void(handle_t, std::int32_t session)>;

  /// The grid deadlines are rounded up to.
  static constexpr std::uint64_t resolution_ns = 100'000;
  /// How long the thread leaves a due entry to awake workers.
  static constexpr std::uint64_t grace_ns = 500'000;

  /// `workers_cover(deadline)` tells whether some worker will call `fire_due` soon after
  /// `deadline`; the thread then leaves due entries to the workers for `grace_ns` before firing
  /// them itself.
  timer(fire_fn fire, std::function<bool(std::uint64_t deadline)> workers_cover);
  ~timer();
  timer(const timer&) = delete;
  timer& operator=(const timer&) = delete;

  /// Schedules `fire(target, session)` at `deadline_ns` (monotonic_ns clock). Entries with
  /// equal deadlines fire in the order they were added.
  void add(std::uint64_t deadline_ns, handle_t target, std::int32_t session);

  /// Number of entries not fired yet.
  [[nodiscard]] std::size_t pending();

  /// True when an entry is due at `now_ns`. Cheap: one relaxed atomic load.
  [[nodiscard]] bool due(std::uint64_t now_ns) const noexcept {
    return now_ns >= earliest_.load(std::memory_order_relaxed);
  }
  /// The earliest deadline (monotonic ns), or UINT64_MAX when nothing is pending.
  [[nodiscard]] std::uint64_t earliest() const noexcept {
    return earliest_.load(std::memory_order_relaxed);
  }
  /// What fire_due does when another thread is firing already.
  enum class firer {
    skip,  ///< returns at once: a busy worker goes back to its services
    wait,  ///< waits for it, then fires what is still due: an idle worker has nothing better
  };
  /// Fires every due entry. Any thread.
  void fire_due(firer other);

  /// Stops the thread; entries not yet due are dropped. Idempotent.
  void stop();

 private:
  struct entry {
    handle_t target;
    std::int32_t session;
  };
  using slot_map = std::map<std::uint64_t, std::vector<entry>>;  // grid step -> entries
  static constexpr std::size_t max_spare_slots = 64;

  void run();
  /// Pops and fires what is due; the caller holds firing_mutex_.
  void fire_locked() REQUIRES(firing_mutex_);
  void publish_earliest() REQUIRES(mutex_);

  fire_fn fire_;
  std::function<bool(std::uint64_t)> workers_cover_;
  mutex mutex_;
  std::condition_variable wake_;
  slot_map slots_ GUARDED_BY(mutex_);
  slot_map::iterator last_added_ GUARDED_BY(mutex_) = slots_.end();
  std::size_t pending_ GUARDED_BY(mutex_) = 0;
  // Emptied slot vectors, kept with their capacity for the next slots.
  std::vector<std::vector<entry>> spare_ GUARDED_BY(mutex_);
  bool stopping_ GUARDED_BY(mutex_) = false;
  std::atomic<std::uint64_t> earliest_{UINT64_MAX};
  // One firer at a time, so entries due together are delivered in registration order.
  mutex firing_mutex_;
  std::vector<entry> due_ GUARDED_BY(firing_mutex_);
  std::thread thread_;
};

}  // namespace starling
