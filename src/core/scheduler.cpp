#include "core/scheduler.hpp"

#include <algorithm>
#include <utility>

#include "base/clock.hpp"
#include "core/dispatch_turn.hpp"

namespace starling {

namespace {

// How many empty polls an idle worker makes before sleeping: about 20-50 us, long enough
// to catch the reply of a call in flight, short enough to leave an idle node idle.
constexpr int spin_polls = 2000;
// How long idle workers keep spinning after work came from outside the workers' dispatches
// (a packet, a timer): a stream of packets keeps coming.
constexpr std::uint64_t arrival_spin_ns = 200'000;
// How often busy workers poll for I/O while no idle worker leads.
constexpr std::uint64_t poll_interval_ns = 50'000;
// Polls between two looks at the other workers' next slots (a few microseconds).
constexpr int steal_every = 16;
// How long a worker may stay in one dispatch before another takes the service waiting in its
// next slot: shorter dispatches (a Lua handler's few microseconds) keep their chain on one
// core, where a hop to the other core would cost more in cache misses than it gains.
constexpr std::uint64_t steal_after_ns = 100'000;
// How often a sleeping worker looks for a next slot held back by a long dispatch.
constexpr std::uint64_t rescue_interval_ns = 2'000'000;
// Every this many batches a worker serves the shared queue before its own next slot, so two
// services calling each other on one worker cannot starve the rest.
constexpr unsigned fairness_period = 8;

/// The scheduler and slot of the worker running on this thread, if any.
struct worker_identity {
  const void* owner = nullptr;
  void* slot = nullptr;
};
thread_local worker_identity this_worker;

}  // namespace

scheduler::scheduler(int workers, dispatcher& node)
    : node_(node),
      probes_(static_cast<std::size_t>(workers)),
      next_slots_(std::make_unique<next_slot[]>(static_cast<std::size_t>(workers))) {}

scheduler::~scheduler() {
  stop();
}

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
  { std::lock_guard lock(sleep_mutex_); }
  sleep_cv_.notify_all();
  interrupt_poller();
  for (std::thread& t : threads_)
    t.join();
  threads_.clear();
  for (std::size_t i = 0; i < probes_.size(); ++i)
    next_slots_[i].next.reset();
  std::lock_guard guard(queue_lock_);
  queue_ = block_queue<std::shared_ptr<context>>();
  queued_.store(0, std::memory_order_relaxed);
}

void scheduler::schedule(std::shared_ptr<context> target) {
  if (this_worker.owner == this) {
    auto& slot = *static_cast<next_slot*>(this_worker.slot);
    {
      std::lock_guard guard(slot.lock);
      target.swap(slot.next);
      slot.occupied.store(true, std::memory_order_relaxed);
    }
    if (!target) {
      // Paired with the sleeper's increment-then-recheck in take(): one of the two sees the
      // other. A sleeper woken here sleeps again with the rescue deadline.
      occupied_next_.fetch_add(1);
      if (unrescued_sleepers_.load() > 0) {
        {
          std::lock_guard lock(sleep_mutex_);
          sleep_cv_.notify_all();
        }
        if (leader_blocked_.load()) interrupt_poller();
      }
      return;
    }
    // The slot held another service: that one goes to the shared queue.
  } else {
    last_arrival_ns_.store(monotonic_ns(), std::memory_order_relaxed);
  }
  push_shared(std::move(target));
}

bool scheduler::try_lead() noexcept {
  return poller_.load(std::memory_order_relaxed) != nullptr &&
         !leading_.load(std::memory_order_relaxed) &&
         !leading_.exchange(true, std::memory_order_acquire);
}

void scheduler::end_lead() noexcept {
  leading_.store(false, std::memory_order_release);
}

void scheduler::acquire_lead() noexcept {
  while (leading_.exchange(true, std::memory_order_acquire)) {
    interrupt_poller();
    std::this_thread::yield();
  }
}

void scheduler::interrupt_poller() noexcept {
  // Counted so that set_poller knows when no thread can still be calling the old poller.
  interrupting_.fetch_add(1);
  if (io_poller* poller = poller_.load()) poller->interrupt();
  interrupting_.fetch_sub(1);
}

void scheduler::set_poller(io_poller* poller) {
  acquire_lead();
  poller_.store(poller);
  end_lead();
  while (interrupting_.load() != 0)
    std::this_thread::yield();
  // Sleepers look again: one of them leads the new poller.
  std::lock_guard lock(sleep_mutex_);
  sleep_cv_.notify_all();
}

void scheduler::with_poller_lead(const std::function<void()>& fn) {
  acquire_lead();
  try {
    fn();
  } catch (...) {
    end_lead();
    throw;
  }
  end_lead();
}

bool scheduler::poll_now() {
  if (!try_lead()) return false;
  // Stable while we lead; null if the poller went between try_lead's look and the exchange.
  io_poller* poller = poller_.load();
  if (poller == nullptr) {
    end_lead();
    return false;
  }
  const bool got = poller->poll(0);
  note_poll(got);
  end_lead();
  return got;
}

std::uint64_t scheduler::note_poll(bool got) noexcept {
  const std::uint64_t now = monotonic_ns();
  last_poll_ns_.store(now, std::memory_order_relaxed);
  if (got) last_arrival_ns_.store(now, std::memory_order_relaxed);
  return now;
}

void scheduler::publish_asleep() noexcept {
  asleep_.store(sleeping_ + (leader_blocked_.load() ? 1 : 0), std::memory_order_relaxed);
}

scheduler::wait_plan scheduler::plan_wait(bool notified, bool trusts_leader) {
  wait_plan plan;
  // One waiting worker always waits for the next timer deadline itself, so the timer thread
  // need not be told that the workers wait: that would cost it a wake-up, and a context
  // switch, every time the node goes idle.
  plan.watching = !timer_watcher_.exchange(true, std::memory_order_relaxed);
  plan.wake_at = plan.watching ? node_.next_timer_deadline() : UINT64_MAX;
  // Registered before the looks at the slots and the leader (paired with schedule() and
  // lead()): a slot filled, or a leader gone, after the look notifies us. After such a
  // notice the next wait keeps the rescue deadline, so a conversation that fills and empties
  // a slot all the time wakes us once per interval, not once per message.
  unrescued_sleepers_.fetch_add(1);
  plan.rescuing = notified || occupied_next_.load() > 0 ||
                  (trusts_leader && poller_.load() != nullptr && !leader_blocked_.load());
  if (plan.rescuing) {
    unrescued_sleepers_.fetch_sub(1);
    plan.wake_at = std::min(plan.wake_at, monotonic_ns() + rescue_interval_ns);
  }
  return plan;
}

void scheduler::end_wait(const wait_plan& plan) noexcept {
  if (!plan.rescuing) unrescued_sleepers_.fetch_sub(1);
  if (plan.watching) timer_watcher_.store(false, std::memory_order_relaxed);
}

void scheduler::push_shared(std::shared_ptr<context> target) {
  bool wake = false;
  bool interrupt = false;
  {
    std::lock_guard guard(queue_lock_);
    queue_.push(std::move(target));
    queued_.store(queue_.size(), std::memory_order_relaxed);
    // Read under the queue lock: a worker that found the queue empty registered as a sleeper
    // under this same lock, so either it sees our push or we see it asleep.
    wake = spinning_.load(std::memory_order_relaxed) == 0;
    // A sleeper is woken rather than the leader, which goes on waiting for I/O.
    interrupt = wake && sleeping_ == 0 && leader_blocked_.load(std::memory_order_relaxed);
    wake = wake && sleeping_ > 0;
  }
  if (wake) {
    std::lock_guard lock(sleep_mutex_);
    sleep_cv_.notify_one();
  } else if (interrupt) {
    interrupt_poller();
  }
}

std::shared_ptr<context> scheduler::try_pop() {
  std::shared_ptr<context> next;
  // Idle workers poll often: look at the length before touching the lock.
  if (queued_.load(std::memory_order_relaxed) == 0) return next;
  std::lock_guard guard(queue_lock_);
  queue_.pop(next);
  queued_.store(queue_.size(), std::memory_order_relaxed);
  return next;
}

void scheduler::stash(next_slot& slot, std::shared_ptr<context> target) {
  {
    std::lock_guard guard(slot.lock);
    if (!slot.next) {
      slot.next = std::move(target);
      slot.occupied.store(true, std::memory_order_relaxed);
      occupied_next_.fetch_add(1, std::memory_order_relaxed);
      return;
    }
  }
  push_shared(std::move(target));
}

std::shared_ptr<context> scheduler::take_next(next_slot& slot) {
  std::shared_ptr<context> next;
  if (!slot.occupied.load(std::memory_order_relaxed)) return next;
  {
    std::lock_guard guard(slot.lock);
    next.swap(slot.next);
    slot.occupied.store(false, std::memory_order_relaxed);
  }
  if (next) occupied_next_.fetch_sub(1, std::memory_order_relaxed);
  return next;
}

std::shared_ptr<context> scheduler::steal_stale(int thief) {
  if (occupied_next_.load(std::memory_order_relaxed) == 0) return nullptr;
  for (std::size_t i = 0; i < probes_.size(); ++i) {
    if (static_cast<int>(i) == thief) continue;
    next_slot& slot = next_slots_[i];
    const std::uint32_t version = probes_[i].version();
    // Only the thief of the moment touches seen_version: it is read and written under the
    // slot lock so that two thieves do not race on it.
    std::lock_guard guard(slot.lock);
    if (version != slot.seen_version) {
      slot.seen_version = version;  // the owner is making progress; look again later
      slot.seen_at_ns = monotonic_ns();
      continue;
    }
    if (!slot.next || monotonic_ns() - slot.seen_at_ns < steal_after_ns) continue;
    std::shared_ptr<context> stolen = std::move(slot.next);
    slot.occupied.store(false, std::memory_order_relaxed);
    occupied_next_.fetch_sub(1, std::memory_order_relaxed);
    return stolen;
  }
  return nullptr;
}

bool scheduler::others_dispatching(int index) const noexcept {
  for (std::size_t i = 0; i < probes_.size(); ++i) {
    if (static_cast<int>(i) != index && probes_[i].dispatching()) return true;
  }
  return false;
}

std::shared_ptr<context> scheduler::take(int index) {
  next_slot& own = next_slots_[static_cast<std::size_t>(index)];
  // One spinner per node: a second one would find nothing the first does not, and on a
  // machine shared with other nodes it takes a core from whoever produces the next message.
  const int polls = spinning_.load(std::memory_order_relaxed) == 0 ? spin_polls : 0;
  spinning_.fetch_add(1, std::memory_order_relaxed);
  for (int i = 0; i < polls && !stopping_.load(std::memory_order_relaxed); ++i) {
    std::shared_ptr<context> next = try_pop();
    if (!next && i % steal_every == steal_every - 1) {
      // Work that comes soon comes from a worker of this node that is dispatching, or from
      // outside the dispatches (a packet, a timer) just after some came: a stream of packets
      // keeps coming. Otherwise spinning would only take the CPU from whoever produces the
      // next message, another node on the same machine included.
      if (!others_dispatching(index) &&
          monotonic_ns() - last_arrival_ns_.load(std::memory_order_relaxed) > arrival_spin_ns) {
        break;
      }
      node_.between_batches();
      poll_now();
      // What a timer or a packet just made runnable waits in our own slot.
      next = take_next(own);
      if (!next) next = steal_stale(index);
    }
    if (next) {
      spinning_.fetch_sub(1, std::memory_order_relaxed);
      return next;
    }
    cpu_relax();
  }
  spinning_.fetch_sub(1, std::memory_order_relaxed);

  std::shared_ptr<context> next;
  bool notified = false;     // the last wait ended by a notice, not by its deadline
  bool rescue_wake = false;  // the last wait ended by its rescue deadline
  for (;;) {
    if (stopping_.load(std::memory_order_relaxed)) return nullptr;
    // Who leads: a worker that has just run out of work, unless another spins (it polls, and
    // leads when its spin ends). Right after a notice the lead is left alone: a notice about
    // a leader that stopped waiting only asks us to sleep with the rescue deadline. A rescue
    // wake takes the lead only from a dispatch that has kept everyone from polling for a
    // rescue interval: a worker that dispatches briefly and polls again keeps it, and
    // packets keep waking the thread that is already running.
    const bool poll_stale =
        !rescue_wake ||
        monotonic_ns() - last_poll_ns_.load(std::memory_order_relaxed) > rescue_interval_ns;
    if (!notified && poll_stale && spinning_.load(std::memory_order_relaxed) == 0 && try_lead()) {
      if ((next = lead(index, notified))) return next;
      continue;
    }
    // Holding sleep_mutex_ from the last look at the queue until inside wait() means a
    // pusher's notify (taken under the same mutex) cannot fall between the two.
    std::unique_lock lock(sleep_mutex_);
    {
      std::lock_guard guard(queue_lock_);
      if (queue_.pop(next) || stopping_.load(std::memory_order_relaxed)) {
        queued_.store(queue_.size(), std::memory_order_relaxed);
        return next;
      }
      ++sleeping_;
      publish_asleep();
    }
    const wait_plan plan = plan_wait(notified, true);
    if (plan.wake_at == UINT64_MAX) {
      sleep_cv_.wait(lock);
      notified = true;
    } else {
      // steady_clock is CLOCK_MONOTONIC on Linux, the clock of monotonic_ns.
      notified = sleep_cv_.wait_until(lock, std::chrono::steady_clock::time_point(
                                                std::chrono::nanoseconds(plan.wake_at))) ==
                 std::cv_status::no_timeout;
    }
    rescue_wake = plan.rescuing && !notified;
    end_wait(plan);
    {
      std::lock_guard guard(queue_lock_);
      --sleeping_;
      publish_asleep();
    }
    // Fire what is due without the sleep lock: delivering may wake another worker.
    lock.unlock();
    node_.between_batches();
    if ((next = take_next(own))) return next;
    if ((next = steal_stale(index))) return next;
  }
}

std::shared_ptr<context> scheduler::lead(int index, bool& notified) {
  next_slot& own = next_slots_[static_cast<std::size_t>(index)];
  // Stable while we lead; null if the poller went between try_lead's look and the exchange.
  io_poller* poller = poller_.load();
  std::shared_ptr<context> next;
  if (poller == nullptr) {
    end_lead();
    return next;
  }
  {
    // Registered under the queue lock, as sleepers are: a push after the look interrupts us.
    std::lock_guard guard(queue_lock_);
    if (queue_.pop(next) || stopping_.load(std::memory_order_relaxed)) {
      queued_.store(queue_.size(), std::memory_order_relaxed);
      end_lead();
      return next;
    }
    leader_blocked_.store(true);
    publish_asleep();
  }
  const wait_plan plan = plan_wait(notified, false);
  // The poller's own deadline (a throttled socket's next look) ends the wait as a timer's
  // does, not as a notice.
  const std::uint64_t wake_at = std::min(plan.wake_at, poller->deadline());
  const bool got = poller->poll(wake_at);
  end_wait(plan);
  notified = note_poll(got) < wake_at && !got;
  {
    std::lock_guard guard(queue_lock_);
    leader_blocked_.store(false);
    publish_asleep();
  }
  end_lead();
  // Sleepers that trusted us to poll now sleep with the rescue deadline: if what we found
  // keeps us long, one of them takes the lead.
  if (unrescued_sleepers_.load() > 0) {
    std::lock_guard lock(sleep_mutex_);
    sleep_cv_.notify_all();
  }
  node_.between_batches();
  if (!(next = take_next(own)) && !(next = try_pop())) next = steal_stale(index);
  return next;
}

void scheduler::work(int index) {
  next_slot& own = next_slots_[static_cast<std::size_t>(index)];
  this_worker = worker_identity{this, &own};
  dispatch_turn::set_worker(&own.occupied);
  worker_probe& probe = probes_[static_cast<std::size_t>(index)];
  const int weight = weight_of(index);
  std::shared_ptr<context> current;
  message msg;
  unsigned batches = 0;
  auto pick_ready = [&] {
    std::shared_ptr<context> next;
    if (++batches % fairness_period == 0) {
      node_.between_batches();
      if (poller_.load(std::memory_order_relaxed) != nullptr &&
          monotonic_ns() - last_poll_ns_.load(std::memory_order_relaxed) > poll_interval_ns) {
        poll_now();
      }
      next = try_pop();
    }
    if (!next) next = take_next(own);
    if (!next) next = try_pop();
    return next;
  };
  while (!stopping_.load(std::memory_order_relaxed)) {
    if (!current) {
      current = pick_ready();
      if (!current) {
        dispatch_turn::end();  // no more work: what the turn held goes before the worker waits
        current = take(index);
      }
      if (!current) continue;
    }
    std::size_t remaining = 0;
    if (!current->inbox().pop(msg, remaining)) {
      current.reset();  // empty: it left the run queue inside pop()
      continue;
    }
    std::size_t batch = weight < 0 ? 1 : std::max<std::size_t>(1, remaining >> weight);
    for (;;) {
      probe.begin(msg.source, current->handle());
      node_.dispatch(*current, msg);
      probe.end();
      msg.data.reset();
      if (--batch == 0) break;
      if (!current->inbox().pop(msg, remaining)) {
        current.reset();
        break;
      }
    }
    if (!current) continue;
    if (std::shared_ptr<context> next = pick_ready()) {
      // Requeue the current service only if it has work left: an empty one would just send
      // another worker to find nothing. It waits in this worker's own slot when that is free,
      // so two services in conversation alternate on one core; another worker takes it from
      // there if this one gets stuck in a long dispatch.
      if (!current->inbox().release_if_empty()) stash(own, std::move(current));
      current = std::move(next);
    }
  }
  dispatch_turn::end();
  this_worker = worker_identity{};
}

}  // namespace starling
