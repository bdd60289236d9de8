#include "core/timer.hpp"

#include <algorithm>
#include <chrono>
#include <utility>

#include "base/clock.hpp"

namespace starling {

timer::timer(fire_fn fire) : fire_(std::move(fire)), thread_([this] { run(); }) {}

timer::~timer() { stop(); }

void timer::add(std::uint64_t deadline_ns, handle_t target, std::int32_t session) {
  bool earliest = false;
  {
    std::lock_guard lock(mutex_);
    heap_.push_back(entry{deadline_ns, sequence_++, target, session});
    std::push_heap(heap_.begin(), heap_.end());
    earliest = heap_.front().sequence == sequence_ - 1;
  }
  // Only a new earliest deadline changes how long the thread must sleep.
  if (earliest) wake_.notify_one();
}

std::size_t timer::pending() {
  std::lock_guard lock(mutex_);
  return heap_.size();
}

void timer::stop() {
  {
    std::lock_guard lock(mutex_);
    if (stopping_) return;
    stopping_ = true;
  }
  wake_.notify_one();
  thread_.join();
}

void timer::run() {
  std::vector<entry> due;
  std::unique_lock lock(mutex_);
  while (!stopping_) {
    if (heap_.empty()) {
      wake_.wait(lock);
      continue;
    }
    const std::uint64_t now = monotonic_ns();
    if (heap_.front().deadline > now) {
      // steady_clock is CLOCK_MONOTONIC on Linux, the clock of monotonic_ns.
      auto until = std::chrono::steady_clock::time_point(std::chrono::nanoseconds(heap_.front().deadline));
      wake_.wait_until(lock, until);
      continue;
    }
    while (!heap_.empty() && heap_.front().deadline <= now) {
      std::pop_heap(heap_.begin(), heap_.end());
      due.push_back(heap_.back());
      heap_.pop_back();
    }
    lock.unlock();
    for (const entry& e : due) fire_(e.target, e.session);
    due.clear();
    lock.lock();
  }
}

}  // namespace starling
