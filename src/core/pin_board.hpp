#pragma once
// Hazard slots that let readers use a shared object without a lock or a reference count.
//
// A reader pins the object it found, checks that the object is still reachable, uses it and
// unpins it. A writer first makes the object unreachable, then waits until no slot shows it;
// after that no reader can be using it, and the writer may release it. Pinning is one
// compare-exchange on a cache line that, as a rule, only the pinning thread writes, so readers
// on different cores do not contend.
//
// Thread contract: every member is safe from any thread. A thread may hold several pins at
// once, but must not wait for an object it has pinned itself.

#include <array>
#include <atomic>
#include <cstddef>
#include <span>

namespace starling {

class pin_board {
 public:
  /// Slots, not threads: more threads than this only share slots (pinning probes on).
  static constexpr std::size_t slot_count = 64;

  /// Publishes `object` (not null) and returns the slot to pass to `unpin`. Sequentially
  /// consistent, so a writer that unlinks the object and then looks at the slots either sees
  /// this pin or is seen by the reader's check that follows it.
  std::size_t pin(const void* object) noexcept;
  void unpin(std::size_t slot) noexcept {
    cells_[slot].object.store(nullptr, std::memory_order_release);
  }

  /// Returns once every pin of `object` that existed when it was called is gone.
  void wait_unpinned(const void* object) const noexcept;
  /// As above for each of `sorted_objects` (ascending by std::less), looking at the slots once.
  void wait_unpinned(std::span<const void* const> sorted_objects) const noexcept;

 private:
  struct alignas(64) cell {
    std::atomic<const void*> object{nullptr};
  };
  template <class Pinned>
  void wait_while(Pinned pinned) const noexcept;

  std::array<cell, slot_count> cells_{};
};

}  // namespace starling
