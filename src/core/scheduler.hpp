#pragma once
// Worker threads and the global run queue of services that have messages.
//
// A worker takes a service from the head of the run queue and dispatches a batch sized by its
// weight (skynet's table: workers 0-3 one message, 4-7 the whole queue, 8-15 half, ...). If
// another service is waiting, the current one goes back to the tail; otherwise the worker
// keeps it. An idle worker spins briefly while another worker is dispatching (the likely source
// of its next service), then sleeps; a push wakes a sleeper only when no worker is already
// spinning, so a busy node makes few futex calls and an idle one leaves the CPU to others.
//
// A service that a worker's own dispatch makes runnable goes to that worker's `next` slot
// rather than the shared queue, and runs there as soon as the current batch ends: a call and
// its reply then stay on one core instead of bouncing between two. So that a long dispatch
// cannot hold it back, another worker steals a `next` whose owner has stayed in one dispatch
// for longer than `steal_after_ns` (spinning workers look every few microseconds; sleeping
// ones every `rescue_interval_ns` while any `next` is occupied).
//
// With an io_poller (the socket server) there is no socket thread: one idle worker at a time
// leads, waiting in the poller instead of on the condition variable, and runs what a packet
// makes runnable itself (io_poller.hpp). Spinning workers poll without waiting, and busy ones
// do every `poll_interval_ns`, so packets are read while every worker is busy. A sleeper trusts
// a blocked leader to poll; when nobody is blocked in the poller it sleeps with the rescue
// deadline and takes the lead when it wakes, so I/O waits on a long dispatch for at most
// `rescue_interval_ns` while a worker is idle.

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <thread>
#include <vector>

#include "base/block_queue.hpp"
#include "base/spinlock.hpp"
#include "core/context.hpp"
#include "core/io_poller.hpp"
#include "core/stall_monitor.hpp"

namespace starling {

/// What the scheduler asks of the node (or of a test's fake) for each message.
class dispatcher {
 public:
  virtual ~dispatcher() = default;
  /// Runs one message of `target` on the calling worker's thread. The scheduler brackets it
  /// with the worker's probe: stealing and the stall monitor read it.
  virtual void dispatch(context& target, message& msg) = 0;
  /// Called by busy and spinning workers every few batches or polls (timer delivery without
  /// a thread switch).
  virtual void between_batches() = 0;
  /// When the next timer is due (monotonic ns; UINT64_MAX: none), for a sleeping worker that
  /// wakes itself to fire it: one wake-up instead of the timer thread's plus a worker's.
  [[nodiscard]] virtual std::uint64_t next_timer_deadline() const = 0;
};

class scheduler {
 public:
  scheduler(int workers, dispatcher& node);
  ~scheduler();
  scheduler(const scheduler&) = delete;
  scheduler& operator=(const scheduler&) = delete;

  void start();
  /// Stops and joins the workers after their current dispatch. Idempotent.
  void stop();

  /// Puts `target` at the tail of the run queue. Any thread.
  void schedule(std::shared_ptr<context> target);

  /// Lets idle workers wait in `poller` (null: none). Returns once no worker is inside the
  /// previous poller. Any thread but a poller's own.
  void set_poller(io_poller* poller);
  /// Runs `fn` while no worker polls (interrupting a waiting leader), for what needs the
  /// poller's state to itself. Any thread but a poller's own.
  void with_poller_lead(const std::function<void()>& fn);

  /// True when some worker will fire due timers soon: one is awake, or a sleeping one waits
  /// for the next deadline. Any thread.
  [[nodiscard]] bool timers_covered() const noexcept {
    return asleep_.load(std::memory_order_relaxed) < static_cast<int>(probes_.size()) ||
           timer_watcher_.load(std::memory_order_relaxed);
  }

  /// The probes the stall monitor watches, one per worker.
  [[nodiscard]] std::vector<worker_probe>& probes() noexcept { return probes_; }

  /// Batch weight of worker `index` (-1: one message; w >= 0: length >> w).
  [[nodiscard]] static int weight_of(int index) noexcept;

 private:
  /// A worker's private slot for the service its dispatch just made runnable.
  struct alignas(64) next_slot {
    spinlock lock;
    std::shared_ptr<context> next;   // guarded by lock
    std::uint32_t seen_version = 0;  // what a stealer last saw of this worker's probe
    std::uint64_t seen_at_ns = 0;    // when it first saw that version
    // Whether `next` is set; written under lock. Only the owner fills its slot, so the owner
    // can trust an empty reading without taking the lock.
    std::atomic<bool> occupied{false};
  };

  void work(int index);
  std::shared_ptr<context> take(int index);
  std::shared_ptr<context> try_pop();
  void push_shared(std::shared_ptr<context> target);
  std::shared_ptr<context> take_next(next_slot& slot);
  /// Puts `target` in `slot` if it is free, else in the shared queue.
  void stash(next_slot& slot, std::shared_ptr<context> target);
  /// Steals `next` from workers stuck in one dispatch since the previous look.
  std::shared_ptr<context> steal_stale(int thief);
  /// Whether a worker other than `index` is inside a dispatch now.
  [[nodiscard]] bool others_dispatching(int index) const noexcept;

  [[nodiscard]] bool try_lead() noexcept;
  void end_lead() noexcept;
  /// Takes the lead, waiting for (and interrupting) the current leader.
  void acquire_lead() noexcept;
  void interrupt_poller() noexcept;
  /// Polls without waiting if no one else leads; true when a socket had an event.
  bool poll_now();
  /// The lead is held: waits in the poller until I/O, work or a deadline, gives the lead up,
  /// then looks for work.
  std::shared_ptr<context> lead(int index, bool& notified);
  /// After a poll: records when it happened (returned) and, if it read something, that work
  /// arrived then.
  std::uint64_t note_poll(bool got) noexcept;
  /// asleep_ from sleeping_ and a blocked leader. Under queue_lock_.
  void publish_asleep() noexcept;

  /// How a worker about to wait (on the condition variable, or in the poller as the leader)
  /// registered: as the timer watcher or not, with the rescue deadline or not.
  struct wait_plan {
    bool watching = false;
    bool rescuing = false;
    std::uint64_t wake_at = UINT64_MAX;
  };
  /// The rescue deadline applies after a notice, while a next slot is occupied, and, for a
  /// sleeper that `trusts_leader`, while nobody waits in the poller.
  wait_plan plan_wait(bool notified, bool trusts_leader);
  void end_wait(const wait_plan& plan) noexcept;

  dispatcher& node_;
  std::vector<worker_probe> probes_;
  std::unique_ptr<next_slot[]> next_slots_;
  std::vector<std::thread> threads_;

  spinlock queue_lock_;
  block_queue<std::shared_ptr<context>> queue_;  // guarded by queue_lock_
  int sleeping_ = 0;                             // guarded by queue_lock_
  std::atomic<std::size_t> queued_{0};           // queue_.size(), readable without the lock
  std::atomic<int> occupied_next_{0};            // how many next slots hold a service
  // Workers asleep without the rescue deadline: they must be told when a next slot fills, or
  // a service parked behind a long dispatch would wait for it to end.
  std::atomic<int> unrescued_sleepers_{0};

  // When work last came from outside the workers' dispatches: schedule() from another thread,
  // or a poll that read something.
  std::atomic<std::uint64_t> last_arrival_ns_{0};
  std::atomic<io_poller*> poller_{nullptr};  // changed only with the lead held
  std::atomic<bool> leading_{false};         // a thread holds the lead
  // The leader waits in the poller; set under queue_lock_.
  std::atomic<bool> leader_blocked_{false};
  std::atomic<std::uint64_t> last_poll_ns_{0};
  std::atomic<int> interrupting_{0};  // threads inside interrupt_poller
  std::atomic<int> spinning_{0};
  std::atomic<int> asleep_{0};  // sleeping_ plus a blocked leader, readable without the lock
  std::atomic<bool> timer_watcher_{false};  // one sleeping worker waits for the next timer
  std::atomic<bool> stopping_{false};
  std::mutex sleep_mutex_;
  std::condition_variable sleep_cv_;
};

}  // namespace starling
