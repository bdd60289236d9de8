#include "core/timer.hpp"

#include <chrono>
#include <mutex>
#include <utility>

#include "base/clock.hpp"

namespace starling {

timer::timer(fire_fn fire, std::function<bool(std::uint64_t)> workers_cover)
    : fire_(std::move(fire)),
      workers_cover_(std::move(workers_cover)),
      thread_([this] { run(); }) {}

timer::~timer() {
  stop();
}

void timer::add(std::uint64_t deadline_ns, handle_t target, std::int32_t session) {
  const std::uint64_t step = (deadline_ns + resolution_ns - 1) / resolution_ns;
  bool earliest = false;
  {
    scoped_lock lock(mutex_);
    if (last_added_ == slots_.end() || last_added_->first != step) {
      auto [it, inserted] = slots_.try_emplace(step);
      if (inserted && !spare_.empty()) {
        it->second = std::move(spare_.back());
        spare_.pop_back();
      }
      last_added_ = it;
      earliest = it == slots_.begin() && inserted;
    }
    last_added_->second.push_back(entry{target, session});
    ++pending_;
    if (earliest) publish_earliest();
  }
  // Only a new earliest deadline changes how long the thread must sleep.
  if (earliest) wake_.notify_one();
}

std::size_t timer::pending() {
  scoped_lock lock(mutex_);
  return pending_;
}

void timer::stop() {
  {
    scoped_lock lock(mutex_);
    if (stopping_) return;
    stopping_ = true;
    earliest_.store(UINT64_MAX, std::memory_order_relaxed);
  }
  wake_.notify_one();
  thread_.join();
}

void timer::publish_earliest() {
  earliest_.store(slots_.empty() || stopping_ ? UINT64_MAX : slots_.begin()->first * resolution_ns,
                  std::memory_order_relaxed);
}

void timer::fire_due(firer other) {
  if (other == firer::wait) {
    firing_mutex_.lock();
  } else if (!firing_mutex_.try_lock()) {
    return;
  }
  scoped_lock firing(firing_mutex_, std::adopt_lock);
  fire_locked();
}

void timer::fire_locked() {
  {
    scoped_lock lock(mutex_);
    if (stopping_) return;
    const std::uint64_t now = monotonic_ns();
    while (!slots_.empty() && slots_.begin()->first * resolution_ns <= now) {
      auto first = slots_.begin();
      std::vector<entry>& entries = first->second;
      pending_ -= entries.size();
      if (due_.empty()) {
        due_.swap(entries);
      } else {
        due_.insert(due_.end(), entries.begin(), entries.end());
        entries.clear();
      }
      if (entries.capacity() != 0 && spare_.size() < max_spare_slots)
        spare_.push_back(std::move(entries));
      if (last_added_ == first) last_added_ = slots_.end();
      slots_.erase(first);
    }
    publish_earliest();
  }
  for (const entry& e : due_)
    fire_(e.target, e.session);
  due_.clear();
}

void timer::run() {
  use_precise_timers();
  mutex_lock lock(mutex_);
  while (!stopping_) {
    if (slots_.empty()) {
      lock.wait(wake_);
      continue;
    }
    // While workers are awake they fire between batches; the thread steps in only for what
    // they leave overdue, so it does not have to win a core from them (and cannot be
    // preempted while holding the firing lock they need).
    const std::uint64_t deadline = slots_.begin()->first * resolution_ns;
    const std::uint64_t wake_at =
        deadline + (workers_cover_ && workers_cover_(deadline) ? grace_ns : 0);
    if (wake_at > monotonic_ns()) {
      lock.wait_until(wake_, wake_at);
      continue;
    }
    lock.unlock();
    {
      scoped_lock firing(firing_mutex_);
      fire_locked();
    }
    lock.lock();
  }
}

}  // namespace starling
