#include "core/pin_board.hpp"

#include <algorithm>
#include <functional>
#include <thread>

#include "base/spinlock.hpp"

namespace starling {

namespace {

// Each thread starts probing at its own slot, so concurrent readers write different lines.
std::atomic<std::size_t> threads_seen{0};
thread_local const std::size_t home_slot =
    threads_seen.fetch_add(1, std::memory_order_relaxed) % pin_board::slot_count;

}  // namespace

std::size_t pin_board::pin(const void* object) noexcept {
  for (std::size_t i = home_slot;; i = (i + 1) % slot_count) {
    const void* expected = nullptr;
    if (cells_[i].object.compare_exchange_strong(expected, object, std::memory_order_seq_cst,
                                                 std::memory_order_relaxed)) {
      return i;
    }
    cpu_relax();
  }
}

template <class Pinned>
void pin_board::wait_while(Pinned pinned) const noexcept {
  for (const cell& c : cells_) {
    const void* seen = c.object.load(std::memory_order_seq_cst);
    if (seen == nullptr || !pinned(seen)) continue;
    // Pins last a few hundred nanoseconds unless the reader lost its core: then let it run.
    // A later pin of the same object fails the reader's check, so a change is enough.
    while (c.object.load(std::memory_order_seq_cst) == seen)
      std::this_thread::yield();
  }
}

void pin_board::wait_unpinned(const void* object) const noexcept {
  wait_while([object](const void* seen) { return seen == object; });
}

void pin_board::wait_unpinned(std::span<const void* const> sorted_objects) const noexcept {
  wait_while([sorted_objects](const void* seen) {
    return std::binary_search(sorted_objects.begin(), sorted_objects.end(), seen, std::less<>());
  });
}

}  // namespace starling
