#pragma once
// Worker threads and the global run queue of services that have messages.
//
// A worker takes a service from the head of the run queue and dispatches a batch sized by its
// weight (skynet's table: workers 0-3 one message, 4-7 the whole queue, 8-15 half, ...). If
// another service is waiting, the current one goes back to the tail; otherwise the worker
// keeps it. An idle worker spins briefly, then sleeps; a push wakes a sleeper only when no
// worker is already spinning, so a busy node makes few futex calls.

#include <atomic>
#include <condition_variable>
#include <cstddef>
#include <memory>
#include <mutex>
#include <optional>
#include <thread>
#include <vector>

#include "base/ring.hpp"
#include "base/spinlock.hpp"
#include "core/context.hpp"
#include "core/stall_monitor.hpp"

namespace starling {

/// What the scheduler asks of the node for each message.
class dispatcher {
 public:
  virtual ~dispatcher() = default;
  /// Runs one message of `target` on worker `probe`'s thread.
  virtual void dispatch(worker_probe& probe, context& target, message& msg) = 0;
  /// `target`'s mailbox crossed its warning threshold with `length` messages queued.
  virtual void overloaded(context& target, std::size_t length) = 0;
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

  /// The probes the stall monitor watches, one per worker.
  [[nodiscard]] std::vector<worker_probe>& probes() noexcept { return probes_; }

  /// Batch weight of worker `index` (-1: one message; w >= 0: length >> w).
  [[nodiscard]] static int weight_of(int index) noexcept;

 private:
  void work(int index);
  std::shared_ptr<context> take();
  std::shared_ptr<context> try_pop();

  dispatcher& node_;
  std::vector<worker_probe> probes_;
  std::vector<std::thread> threads_;

  spinlock queue_lock_;
  ring<std::shared_ptr<context>> queue_;  // guarded by queue_lock_
  int sleeping_ = 0;                      // guarded by queue_lock_

  std::atomic<int> spinning_{0};
  std::atomic<bool> stopping_{false};
  std::mutex sleep_mutex_;
  std::condition_variable sleep_cv_;
};

}  // namespace starling
