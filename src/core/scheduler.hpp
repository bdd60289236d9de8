#pragma once
// Worker threads, and where each finds its next service.
//
// A worker takes a service and dispatches a batch sized by its weight (skynet's table: workers
// 0-3 one message, 4-7 the whole queue, 8-15 half, ...). If another service is waiting, the
// current one goes back (to the worker's next slot if free, else the shared queue); otherwise
// the worker keeps it. The policy is in three parts:
//   run_queue     the shared FIFO, and the registry of the workers waiting for it;
//   next_slots    each worker's slot for what its own dispatch made runnable, and stealing;
//   idle_workers  how a worker without work waits: sleeping, the polling role, timer
//                 watching (spinning, the short first part, is the scheduler's own).
// An idle worker spins briefly while another worker is dispatching (the likely source of its
// next service), then sleeps; a push wakes a sleeper only when no worker is already spinning,
// so a busy node makes few futex calls and an idle one leaves the CPU to others.

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <thread>
#include <vector>

#include "core/context.hpp"
#include "core/dispatcher.hpp"
#include "core/idle_workers.hpp"
#include "core/io_poller.hpp"
#include "core/next_slots.hpp"
#include "core/run_queue.hpp"
#include "core/stall_monitor.hpp"

namespace starling {

class scheduler {
 public:
  scheduler(int workers, dispatcher& node);
  ~scheduler();
  scheduler(const scheduler&) = delete;
  scheduler& operator=(const scheduler&) = delete;

  void start();
  /// Stops and joins the workers after their current dispatch. Idempotent.
  void stop();

  /// Makes `target` runnable: into the calling worker's next slot when a worker's dispatch
  /// calls it, else at the tail of the shared queue. Any thread.
  void schedule(std::shared_ptr<context> target);

  /// Lets idle workers wait in `poller` (null: none). Returns once no worker is inside the
  /// previous poller. Any thread but a poller's own.
  void set_poller(io_poller* poller) { idle_.set_poller(poller); }
  /// Runs `fn` while no worker polls (interrupting a waiting leader), for what needs the
  /// poller's state to itself. Any thread but a poller's own.
  void with_poller_lead(const std::function<void()>& fn) { idle_.with_poller_lead(fn); }

  /// True when some worker will fire a timer due at `deadline` soon: one is awake, or a
  /// sleeping one waits until that deadline at the latest. Any thread.
  [[nodiscard]] bool timers_covered(std::uint64_t deadline) const noexcept {
    return idle_.timers_covered(static_cast<int>(probes_.size()), deadline);
  }

  /// Workers waiting for work: asleep, or blocked in the poller (a moment old). Any thread.
  [[nodiscard]] int waiting() const noexcept { return queue_.waiting(); }

  /// The probes the stall monitor watches, one per worker.
  [[nodiscard]] std::vector<worker_probe>& probes() noexcept { return probes_; }

  /// Batch weight of worker `index` (-1: one message; w >= 0: length >> w).
  [[nodiscard]] static int weight_of(int index) noexcept;

 private:
  /// Worker `index`'s thread.
  void work(int index);
  /// Where a worker is in its alternation between its next slot and the shared queue.
  struct turns {
    unsigned batches = 0;      // batches outside the shared queue's turns, for the period
    unsigned shared_left = 0;  // batches left in the shared queue's turn
  };
  // On every message's path, so inline (defined in scheduler.cpp, the only user): as calls
  // they cost a round trip about 2% more instructions.
  /// The next service for a worker between batches: its next slot, or the shared queue (first,
  /// for fairness_period batches every fairness_period batches). Null when neither has one,
  /// and during the shared queue's turn when `current_has_work` and that queue is empty: the
  /// service the turn took goes on.
  inline std::shared_ptr<context> pick_ready(next_slots::slot& own, turns& turn,
                                             bool current_has_work);
  /// Dispatches up to a batch of `target`'s messages; false when its mailbox ran empty (it
  /// left the run queue).
  inline bool dispatch_batch(worker_probe& probe, context& target, int weight, message& msg);
  /// For a worker out of work: spins, then waits, until it has a service (null: stopping).
  std::shared_ptr<context> take(int index);
  /// Spins a few tens of microseconds while work is likely to come soon.
  std::shared_ptr<context> spin(int index);
  /// What a worker that woke from a wait (or a poll, `after_poll`) finds.
  std::shared_ptr<context> look_after_wait(int index, bool after_poll);
  /// Whether a worker other than `index` is inside a dispatch now.
  [[nodiscard]] bool others_dispatching(int index) const noexcept;
  void push_shared(std::shared_ptr<context> target);

  dispatcher& node_;
  std::vector<worker_probe> probes_;
  run_queue queue_;
  next_slots slots_;
  idle_workers idle_;
  std::vector<std::thread> threads_;  // start and stop only
};

}  // namespace starling
