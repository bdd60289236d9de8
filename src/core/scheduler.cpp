#include "core/scheduler.hpp"

#include <utility>

namespace starling {

namespace {

// How many empty polls an idle worker makes before sleeping: about 20-50 us, long enough
// to catch the reply of a call in flight, short enough to leave an idle node idle.
constexpr int spin_polls = 2000;

}  // namespace

scheduler::scheduler(int workers, dispatcher& node)
    : node_(node), probes_(static_cast<std::size_t>(workers)) {}

scheduler::~scheduler() { stop(); }

int scheduler::weight_of(int index) noexcept {
  if (index < 4) return -1;
  if (index < 8) return 0;
  if (index < 16) return 1;
  if (index < 24) return 2;
  if (index < 32) return 3;
  return 0;
}

void scheduler::start() {
  for (std::size_t i = 0; i < probes_.size(); ++i) {
    threads_.emplace_back([this, i] { work(static_cast<int>(i)); });
  }
}

void scheduler::stop() {
  if (stopping_.exchange(true)) return;
  {
    std::lock_guard lock(sleep_mutex_);
  }
  sleep_cv_.notify_all();
  for (std::thread& t : threads_) t.join();
  threads_.clear();
  std::lock_guard guard(queue_lock_);
  queue_ = ring<std::shared_ptr<context>>();
}

void scheduler::schedule(std::shared_ptr<context> target) {
  bool wake = false;
  {
    std::lock_guard guard(queue_lock_);
    queue_.push(std::move(target));
    // Read under the queue lock: a worker that found the queue empty registered as a sleeper
    // under this same lock, so either it sees our push or we see it asleep.
    wake = sleeping_ > 0 && spinning_.load(std::memory_order_relaxed) == 0;
  }
  if (wake) {
    std::lock_guard lock(sleep_mutex_);
    sleep_cv_.notify_one();
  }
}

std::shared_ptr<context> scheduler::try_pop() {
  std::shared_ptr<context> next;
  std::lock_guard guard(queue_lock_);
  queue_.pop(next);
  return next;
}

std::shared_ptr<context> scheduler::take() {
  spinning_.fetch_add(1, std::memory_order_relaxed);
  for (int i = 0; i < spin_polls && !stopping_.load(std::memory_order_relaxed); ++i) {
    if (auto next = try_pop()) {
      spinning_.fetch_sub(1, std::memory_order_relaxed);
      return next;
    }
    cpu_relax();
  }
  spinning_.fetch_sub(1, std::memory_order_relaxed);

  // Holding sleep_mutex_ from the last look at the queue until inside wait() means a
  // pusher's notify (taken under the same mutex) cannot fall between the two.
  std::unique_lock lock(sleep_mutex_);
  std::shared_ptr<context> next;
  for (;;) {
    {
      std::lock_guard guard(queue_lock_);
      if (queue_.pop(next) || stopping_.load(std::memory_order_relaxed)) return next;
      ++sleeping_;
    }
    sleep_cv_.wait(lock);
    std::lock_guard guard(queue_lock_);
    --sleeping_;
  }
}

void scheduler::work(int index) {
  worker_probe& probe = probes_[static_cast<std::size_t>(index)];
  const int weight = weight_of(index);
  std::shared_ptr<context> current;
  message msg;
  while (!stopping_.load(std::memory_order_relaxed)) {
    if (!current) {
      current = take();
      if (!current) continue;
    }
    std::size_t remaining = 0;
    std::optional<std::size_t> overload;
    if (!current->inbox().pop(msg, remaining, overload)) {
      current.reset();  // empty: it left the run queue inside pop()
      continue;
    }
    std::size_t batch = weight < 0 ? 1 : std::max<std::size_t>(1, remaining >> weight);
    for (;;) {
      if (overload) node_.overloaded(*current, *overload);
      node_.dispatch(probe, *current, msg);
      msg.data.reset();
      if (--batch == 0) break;
      overload.reset();
      if (!current->inbox().pop(msg, remaining, overload)) {
        current.reset();
        break;
      }
    }
    if (!current) continue;
    if (auto next = try_pop()) {
      schedule(std::move(current));
      current = std::move(next);
    }
  }
}

}  // namespace starling
