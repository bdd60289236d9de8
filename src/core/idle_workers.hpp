#pragma once
// How workers without work wait: asleep on a condition variable, or, one at a time, as the
// leader blocked in the io_poller; one waiting worker also watches the next timer deadline.
//
// A sleeper trusts a blocked leader to poll; when nobody is blocked in the poller it sleeps
// with the rescue deadline and takes the lead when it wakes, so I/O waits on a long dispatch
// for at most `rescue_interval_ns` while a worker is idle. Sleepers also keep the rescue
// deadline while a next slot is occupied, to steal it if its owner is stuck; the ones without
// it are told when a slot fills. With an io_poller there is no socket thread: the leader runs
// what a packet makes runnable itself (io_poller.hpp), and busy and spinning workers poll
// without waiting (poll_now), so packets are read while every worker is busy.
//
// Thread contract: every member from any worker; set_poller, with_poller_lead and stop from any
// thread but a poller's own.

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>

#include "base/mutex.hpp"
#include "base/thread_safety.hpp"
#include "core/context.hpp"
#include "core/dispatcher.hpp"
#include "core/io_poller.hpp"
#include "core/next_slots.hpp"
#include "core/run_queue.hpp"

namespace starling {

class idle_workers {
 public:
  /// How a sleeper's last wait ended.
  struct last_wait {
    bool notified = false;     // by a notice, not by its deadline
    bool rescue_wake = false;  // by its rescue deadline
  };

  idle_workers(run_queue& queue, const next_slots& slots, dispatcher& node);

  /// Wakes every waiting worker for good; false if already stopping.
  bool stop();
  [[nodiscard]] bool stopping() const noexcept { return stopping_.load(std::memory_order_relaxed); }

  // ---- waking -------------------------------------------------------------------------

  /// Wakes whom a push asked for (run_queue::push).
  void wake(run_queue::wake who);
  /// A next slot was filled: sleepers without the rescue deadline must know, or a service
  /// parked behind a long dispatch would wait for it to end.
  void slot_filled() {
    // Paired with plan_wait's increment-then-look: one of the two sees the other. A sleeper
    // woken here sleeps again with the rescue deadline.
    if (unrescued_sleepers_.load() != 0) wake_unrescued();
  }
  /// Work came from outside the workers' dispatches (a schedule from another thread).
  void note_arrival() noexcept;
  /// Whether spinning may still find work soon: work came from outside within the last
  /// arrival_spin_ns (a stream of packets keeps coming).
  [[nodiscard]] bool arrivals_recent() const noexcept;

  // ---- waiting ------------------------------------------------------------------------

  /// Sleeps unless the queue has work (then moved to `next`, false). True after a wait:
  /// the caller looks for work (timers, slots). Returns false with no work when stopping.
  bool sleep(std::shared_ptr<context>& next, last_wait& last) EXCLUDES(sleep_mutex_);
  /// Whether the caller, out of work, should take the lead now (and has taken it if so).
  [[nodiscard]] bool take_lead(const last_wait& last) noexcept;
  /// With the lead: waits in the poller unless the queue has work (then moved to `next`,
  /// false), then gives the lead up. True after a wait: the caller looks for work.
  bool lead(std::shared_ptr<context>& next, last_wait& last) EXCLUDES(sleep_mutex_);
  /// True when some worker will fire a timer due at `deadline` soon: one is awake, or a
  /// sleeping one waits until that deadline at the latest.
  [[nodiscard]] bool timers_covered(int workers, std::uint64_t deadline) const noexcept {
    return queue_.waiting() < workers || watch_until_.load(std::memory_order_relaxed) <= deadline;
  }

  // ---- the poller ---------------------------------------------------------------------

  void set_poller(io_poller* poller) EXCLUDES(sleep_mutex_);
  void with_poller_lead(const std::function<void()>& fn);
  /// Polls without waiting if no one else leads; true when a socket had an event.
  bool poll_now();
  /// A busy worker polls if nobody has for poll_interval_ns.
  void poll_if_due();

 private:
  /// How a worker about to wait registered: as the timer watcher or not, with the rescue
  /// deadline or not.
  struct wait_plan {
    bool watching = false;
    bool rescuing = false;
    std::uint64_t watched = UINT64_MAX;  // the timer deadline it watches
    std::uint64_t wake_at = UINT64_MAX;
  };
  /// The rescue deadline applies after a notice, while a next slot is occupied, and, for a
  /// sleeper that `trusts_leader`, while nobody waits in the poller.
  wait_plan plan_wait(bool notified, bool trusts_leader);
  void end_wait(const wait_plan& plan) noexcept;

  [[nodiscard]] bool try_lead() noexcept;
  void end_lead() noexcept;
  /// Takes the lead, waiting for (and interrupting) the current leader.
  void acquire_lead() noexcept;
  void interrupt_poller() noexcept;
  /// Wakes every sleeper that has no rescue deadline.
  void notify_unrescued() EXCLUDES(sleep_mutex_);
  /// Wakes them, and the leader, after a slot filled.
  void wake_unrescued() EXCLUDES(sleep_mutex_);
  /// After a poll: records when it happened (returned) and, if it read something, that work
  /// arrived then.
  std::uint64_t note_poll(bool got) noexcept;

  run_queue& queue_;
  const next_slots& slots_;
  dispatcher& node_;

  mutex sleep_mutex_;
  std::condition_variable sleep_cv_;  // waited on with sleep_mutex_
  std::atomic<bool> stopping_{false};
  // Sleepers without the rescue deadline: they must be told when a next slot fills.
  std::atomic<int> unrescued_sleepers_{0};
  // When the waiting worker that watches the timers wakes (UINT64_MAX: none watches). A worker
  // about to wait takes the watch over when the next deadline comes before it: the watcher
  // planned its wait before that timer was added, and nobody would fire it on time.
  std::atomic<std::uint64_t> watch_until_{UINT64_MAX};
  // When work last came from outside the workers' dispatches: schedule() from another thread,
  // or a poll that read something.
  std::atomic<std::uint64_t> last_arrival_ns_{0};

  std::atomic<io_poller*> poller_{nullptr};  // changed only with the lead held
  std::atomic<bool> leading_{false};         // a thread holds the lead
  std::atomic<std::uint64_t> last_poll_ns_{0};
  std::atomic<int> interrupting_{0};  // threads inside interrupt_poller
};

}  // namespace starling
