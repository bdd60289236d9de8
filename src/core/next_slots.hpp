#pragma once
// Each worker's next slot: the service that the worker's own dispatch just made runnable.
//
// It runs on the same worker as soon as the current batch ends, so a call and its reply stay on
// one core instead of bouncing between two. So that a long dispatch cannot hold it back, another
// worker steals from a slot whose owner's probe has not moved for `steal_after_ns` since the
// thief first saw it: an owner stuck in one dispatch, or (rarely, and harmlessly) one that has
// just filled its slot after a long wait in the poller.
//
// Thread contract: only a slot's owner fills it (fill, stash); anyone takes from it (the owner
// with take, others with steal_stale).

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <vector>

#include "base/spinlock.hpp"
#include "base/thread_safety.hpp"
#include "core/context.hpp"
#include "core/stall_monitor.hpp"

namespace starling {

class next_slots {
 public:
  /// How long a worker may stay in one dispatch before another takes the service waiting in
  /// its slot: shorter dispatches (a Lua handler's few microseconds) keep their chain on one
  /// core, where a hop to the other core would cost more in cache misses than it gains.
  static constexpr std::uint64_t steal_after_ns = 100'000;

  class alignas(64) slot {
   public:
    /// Whether the slot holds a service (a moment old). The owner can trust an empty
    /// reading: only it fills the slot.
    [[nodiscard]] const std::atomic<bool>& occupied() const noexcept { return occupied_; }

   private:
    friend class next_slots;
    spinlock lock_;
    std::shared_ptr<context> next_ GUARDED_BY(lock_);
    std::uint32_t seen_version_ GUARDED_BY(lock_) = 0;  // what a thief last saw of the probe
    std::uint64_t seen_at_ns_ GUARDED_BY(lock_) = 0;    // when it first saw that version
    std::atomic<bool> occupied_{false};                 // written under lock_
    [[no_unique_address]] thread_owner owner_;          // fills and takes
  };

  explicit next_slots(std::size_t workers);

  [[nodiscard]] slot& of(int worker) noexcept { return slots_[static_cast<std::size_t>(worker)]; }

  /// The owner puts `target` in its slot and gets back what was there (null: the slot was
  /// empty, and the count of occupied slots went up with a full fence; see occupied()).
  [[nodiscard]] std::shared_ptr<context> fill(slot& own, std::shared_ptr<context> target) {
    own.owner_.claim();
    {
      scoped_lock guard(own.lock_);
      target.swap(own.next_);
      own.occupied_.store(true, std::memory_order_relaxed);
    }
    if (!target) occupied_.fetch_add(1);
    return target;
  }
  /// The owner puts `target` in its slot if it is empty; else leaves it with the caller (false).
  [[nodiscard]] bool stash(slot& own, std::shared_ptr<context>& target);
  /// The owner empties its slot.
  [[nodiscard]] std::shared_ptr<context> take(slot& own) {
    own.owner_.claim();
    // Only the owner fills the slot: an empty reading is the truth.
    if (!own.occupied_.load(std::memory_order_relaxed)) return nullptr;
    return take_filled(own);
  }
  /// Takes a service from the slot of a worker other than `thief` that has been in one
  /// dispatch since the previous look (its probe's version unchanged) for steal_after_ns.
  [[nodiscard]] std::shared_ptr<context> steal_stale(int thief,
                                                     const std::vector<worker_probe>& probes);
  /// Empties every slot (the workers have stopped).
  void clear();

  /// How many slots hold a service. A sequentially consistent load: paired with fill's
  /// increment, so that a worker about to sleep and an owner filling its slot see each other.
  [[nodiscard]] int occupied() const noexcept { return occupied_.load(); }

 private:
  std::shared_ptr<context> take_filled(slot& own);

  std::unique_ptr<slot[]> slots_;
  std::size_t count_;
  std::atomic<int> occupied_{0};
};

}  // namespace starling
