#include "core/next_slots.hpp"

#include <utility>

#include "base/clock.hpp"

namespace starling {

next_slots::next_slots(std::size_t workers)
    : slots_(std::make_unique<slot[]>(workers)), count_(workers) {}

bool next_slots::stash(slot& own, std::shared_ptr<context>& target) {
  own.owner_.claim();
  scoped_lock guard(own.lock_);
  if (own.next_) return false;
  own.next_ = std::move(target);
  own.occupied_.store(true, std::memory_order_relaxed);
  occupied_.fetch_add(1, std::memory_order_relaxed);
  return true;
}

std::shared_ptr<context> next_slots::take_filled(slot& own) {
  std::shared_ptr<context> next;
  {
    scoped_lock guard(own.lock_);
    next.swap(own.next_);
    own.occupied_.store(false, std::memory_order_relaxed);
  }
  if (next) occupied_.fetch_sub(1, std::memory_order_relaxed);
  return next;
}

std::shared_ptr<context> next_slots::steal_stale(int thief,
                                                 const std::vector<worker_probe>& probes) {
  if (occupied_.load(std::memory_order_relaxed) == 0) return nullptr;
  for (std::size_t i = 0; i < count_; ++i) {
    if (static_cast<int>(i) == thief) continue;
    slot& victim = slots_[i];
    const std::uint32_t version = probes[i].version();
    // Two thieves may look at once: seen_version is theirs, under the slot lock.
    scoped_lock guard(victim.lock_);
    if (version != victim.seen_version_) {
      victim.seen_version_ = version;  // the owner is making progress; look again later
      victim.seen_at_ns_ = monotonic_ns();
      continue;
    }
    if (!victim.next_ || monotonic_ns() - victim.seen_at_ns_ < steal_after_ns) continue;
    std::shared_ptr<context> stolen = std::move(victim.next_);
    victim.occupied_.store(false, std::memory_order_relaxed);
    occupied_.fetch_sub(1, std::memory_order_relaxed);
    return stolen;
  }
  return nullptr;
}

void next_slots::clear() {
  for (std::size_t i = 0; i < count_; ++i) {
    scoped_lock guard(slots_[i].lock_);
    slots_[i].next_.reset();
  }
}

}  // namespace starling
