#include "core/idle_workers.hpp"

#include <algorithm>
#include <thread>

#include "base/clock.hpp"
#include "core/dispatcher.hpp"

namespace starling {

namespace {

// How long idle workers keep spinning after work came from outside the workers' dispatches
// (a packet, a timer): a stream of packets keeps coming.
constexpr std::uint64_t arrival_spin_ns = 200'000;
// How often busy workers poll for I/O while no idle worker leads.
constexpr std::uint64_t poll_interval_ns = 50'000;
// How often a sleeping worker looks for a next slot held back by a long dispatch, and how long
// a dispatch may keep everyone from polling before a sleeper takes the lead.
constexpr std::uint64_t rescue_interval_ns = 2'000'000;

}  // namespace

idle_workers::idle_workers(run_queue& queue, const next_slots& slots, dispatcher& node)
    : queue_(queue), slots_(slots), node_(node) {}

bool idle_workers::stop() {
  if (stopping_.exchange(true)) return false;
  { scoped_lock lock(sleep_mutex_); }
  sleep_cv_.notify_all();
  interrupt_poller();
  return true;
}

// ---- waking ---------------------------------------------------------------------------

void idle_workers::wake(run_queue::wake who) {
  if (who == run_queue::wake::sleeper) {
    scoped_lock lock(sleep_mutex_);
    sleep_cv_.notify_one();
  } else if (who == run_queue::wake::leader) {
    interrupt_poller();
  }
}

void idle_workers::wake_unrescued() {
  {
    scoped_lock lock(sleep_mutex_);
    sleep_cv_.notify_all();
  }
  if (queue_.leader_blocked()) interrupt_poller();
}

void idle_workers::note_arrival() noexcept {
  last_arrival_ns_.store(monotonic_ns(), std::memory_order_relaxed);
}

bool idle_workers::arrivals_recent() const noexcept {
  return monotonic_ns() - last_arrival_ns_.load(std::memory_order_relaxed) <= arrival_spin_ns;
}

void idle_workers::notify_unrescued() {
  if (unrescued_sleepers_.load() == 0) return;
  scoped_lock lock(sleep_mutex_);
  sleep_cv_.notify_all();
}

// ---- waiting --------------------------------------------------------------------------

bool idle_workers::sleep(std::shared_ptr<context>& next, last_wait& last) {
  // Holding sleep_mutex_ from the last look at the queue until inside the wait means a
  // pusher's notify (taken under the same mutex) cannot fall between the two.
  mutex_lock lock(sleep_mutex_);
  if (stopping() || queue_.pop_or_wait(next, run_queue::waiter::sleeper)) return false;
  const wait_plan plan = plan_wait(last.notified, true);
  last.notified = lock.wait_until(sleep_cv_, plan.wake_at);
  last.rescue_wake = plan.rescuing && !last.notified;
  end_wait(plan);
  queue_.end_wait(run_queue::waiter::sleeper);
  return true;
}

bool idle_workers::take_lead(const last_wait& last) noexcept {
  // A worker that has just run out of work leads, unless another spins (it polls, and leads
  // when its spin ends). Right after a notice the lead is left alone: a notice about a leader
  // that stopped waiting only asks us to sleep with the rescue deadline. A rescue wake takes
  // the lead only from a dispatch that has kept everyone from polling for a rescue interval:
  // a worker that dispatches briefly and polls again keeps it, and packets keep waking the
  // thread that is already running.
  if (last.notified || queue_.anyone_spinning()) return false;
  if (last.rescue_wake &&
      monotonic_ns() - last_poll_ns_.load(std::memory_order_relaxed) <= rescue_interval_ns) {
    return false;
  }
  return try_lead();
}

bool idle_workers::lead(std::shared_ptr<context>& next, last_wait& last) {
  // Stable while we lead; null if the poller went between try_lead's look and the exchange.
  io_poller* poller = poller_.load();
  // Registered under the queue lock, as sleepers are: a push after the look interrupts us.
  if (poller == nullptr || stopping() || queue_.pop_or_wait(next, run_queue::waiter::leader)) {
    end_lead();
    return false;
  }
  const wait_plan plan = plan_wait(last.notified, false);
  // The poller's own deadline (a throttled socket's next look) ends the wait as a timer's
  // does, not as a notice.
  const std::uint64_t wake_at = std::min(plan.wake_at, poller->deadline());
  const bool got = poller->poll(wake_at);
  end_wait(plan);
  last.notified = note_poll(got) < wake_at && !got;
  queue_.end_wait(run_queue::waiter::leader);
  end_lead();
  // Sleepers that trusted us to poll now sleep with the rescue deadline: if what we found
  // keeps us long, one of them takes the lead.
  notify_unrescued();
  return true;
}

idle_workers::wait_plan idle_workers::plan_wait(bool notified, bool trusts_leader) {
  wait_plan plan;
  // One waiting worker always waits for the next timer deadline itself, so the timer thread
  // need not be told that the workers wait: that would cost it a wake-up, and a context
  // switch, every time the node goes idle. The watch goes to whoever waits with the
  // earliest deadline.
  const std::uint64_t next = node_.next_timer_deadline();
  std::uint64_t watched = watch_until_.load(std::memory_order_relaxed);
  while (next < watched) {
    if (watch_until_.compare_exchange_weak(watched, next, std::memory_order_relaxed)) {
      plan.watching = true;
      plan.watched = plan.wake_at = next;
      break;
    }
  }
  // Registered before the looks at the slots and the leader (paired with slot_filled and
  // lead's notice): a slot filled, or a leader gone, after the look notifies us. After such a
  // notice the next wait keeps the rescue deadline, so a conversation that fills and empties
  // a slot all the time wakes us once per interval, not once per message.
  unrescued_sleepers_.fetch_add(1);
  plan.rescuing = notified || slots_.occupied() > 0 ||
                  (trusts_leader && poller_.load() != nullptr && !queue_.leader_blocked());
  if (plan.rescuing) {
    unrescued_sleepers_.fetch_sub(1);
    plan.wake_at = std::min(plan.wake_at, monotonic_ns() + rescue_interval_ns);
  }
  return plan;
}

void idle_workers::end_wait(const wait_plan& plan) noexcept {
  if (!plan.rescuing) unrescued_sleepers_.fetch_sub(1);
  // Unless a worker with an earlier deadline took the watch over meanwhile.
  if (plan.watching) {
    std::uint64_t mine = plan.watched;
    (void)watch_until_.compare_exchange_strong(mine, UINT64_MAX, std::memory_order_relaxed);
  }
}

// ---- the poller -----------------------------------------------------------------------

bool idle_workers::try_lead() noexcept {
  return poller_.load(std::memory_order_relaxed) != nullptr &&
         !leading_.load(std::memory_order_relaxed) &&
         !leading_.exchange(true, std::memory_order_acquire);
}

void idle_workers::end_lead() noexcept {
  leading_.store(false, std::memory_order_release);
}

void idle_workers::acquire_lead() noexcept {
  while (leading_.exchange(true, std::memory_order_acquire)) {
    interrupt_poller();
    std::this_thread::yield();
  }
}

void idle_workers::interrupt_poller() noexcept {
  // Counted so that set_poller knows when no thread can still be calling the old poller.
  interrupting_.fetch_add(1);
  if (io_poller* poller = poller_.load()) poller->interrupt();
  interrupting_.fetch_sub(1);
}

void idle_workers::set_poller(io_poller* poller) {
  acquire_lead();
  poller_.store(poller);
  end_lead();
  while (interrupting_.load() != 0)
    std::this_thread::yield();
  // Sleepers look again: one of them leads the new poller.
  scoped_lock lock(sleep_mutex_);
  sleep_cv_.notify_all();
}

void idle_workers::with_poller_lead(const std::function<void()>& fn) {
  acquire_lead();
  try {
    fn();
  } catch (...) {
    end_lead();
    throw;
  }
  end_lead();
}

bool idle_workers::poll_now() {
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

void idle_workers::poll_if_due() {
  if (poller_.load(std::memory_order_relaxed) != nullptr &&
      monotonic_ns() - last_poll_ns_.load(std::memory_order_relaxed) > poll_interval_ns) {
    poll_now();
  }
}

std::uint64_t idle_workers::note_poll(bool got) noexcept {
  const std::uint64_t now = monotonic_ns();
  last_poll_ns_.store(now, std::memory_order_relaxed);
  if (got) last_arrival_ns_.store(now, std::memory_order_relaxed);
  return now;
}

}  // namespace starling
