#include "core/run_queue.hpp"

#include <utility>

namespace starling {

run_queue::wake run_queue::push(std::shared_ptr<context> target) {
  scoped_lock guard(lock_);
  queue_.push(std::move(target));
  queued_.store(queue_.size(), std::memory_order_relaxed);
  // Read under the lock (see the header): a spinner stopped spinning before it registered.
  if (spinning_.load(std::memory_order_relaxed) != 0) return wake::none;
  if (sleeping_ > 0) return wake::sleeper;
  // A sleeper is woken rather than the leader, which goes on waiting for I/O.
  return leader_blocked_.load(std::memory_order_relaxed) ? wake::leader : wake::none;
}

std::shared_ptr<context> run_queue::pop() {
  std::shared_ptr<context> next;
  scoped_lock guard(lock_);
  queue_.pop(next);
  queued_.store(queue_.size(), std::memory_order_relaxed);
  return next;
}

bool run_queue::pop_or_wait(std::shared_ptr<context>& out, waiter who) {
  scoped_lock guard(lock_);
  if (queue_.pop(out)) {
    queued_.store(queue_.size(), std::memory_order_relaxed);
    return true;
  }
  if (who == waiter::sleeper) {
    ++sleeping_;
  } else {
    leader_blocked_.store(true);
  }
  publish_waiting();
  return false;
}

void run_queue::end_wait(waiter who) {
  scoped_lock guard(lock_);
  if (who == waiter::sleeper) {
    --sleeping_;
  } else {
    leader_blocked_.store(false);
  }
  publish_waiting();
}

void run_queue::clear() {
  scoped_lock guard(lock_);
  queue_ = block_queue<std::shared_ptr<context>>();
  queued_.store(0, std::memory_order_relaxed);
}

void run_queue::publish_waiting() noexcept {
  waiting_.store(sleeping_ + (leader_blocked_.load() ? 1 : 0), std::memory_order_relaxed);
}

}  // namespace starling
