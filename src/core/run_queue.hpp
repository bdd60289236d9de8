#pragma once
// The shared FIFO of runnable services, and the registry of the workers that wait for it.
//
// Both sit under one lock, which is what makes wake-ups safe: a worker that finds the queue
// empty registers as waiting (asleep, or blocked in the poller as the leader) under the lock,
// and a push decides whom to wake under the same lock, so either the worker sees the push or
// the push sees the worker waiting. Spinning workers look at the queue on their own: a push
// wakes nobody while one spins.
//
// Thread contract: every member from any thread.

#include <atomic>
#include <cstddef>
#include <memory>

#include "base/block_queue.hpp"
#include "base/spinlock.hpp"
#include "base/thread_safety.hpp"
#include "core/context.hpp"

namespace starling {

class run_queue {
 public:
  /// Whom a push must wake.
  enum class wake {
    none,     ///< a worker spins, or nobody waits
    sleeper,  ///< a worker sleeps on the condition variable
    leader,   ///< only the leader waits, in the poller
  };
  /// How a worker waits once the queue is empty.
  enum class waiter { sleeper, leader };

  /// Appends `target`.
  [[nodiscard]] wake push(std::shared_ptr<context> target) EXCLUDES(lock_);
  /// The head, or null; cheap when empty (no lock), for workers that look often.
  [[nodiscard]] std::shared_ptr<context> try_pop() EXCLUDES(lock_) {
    if (queued_.load(std::memory_order_relaxed) == 0) return nullptr;
    return pop();
  }
  /// Pops the head into `out` (true), or registers the caller as waiting (false): from then
  /// on a push wakes it, until `end_wait`.
  [[nodiscard]] bool pop_or_wait(std::shared_ptr<context>& out, waiter who) EXCLUDES(lock_);
  void end_wait(waiter who) EXCLUDES(lock_);
  /// Drops every queued service (the workers have stopped).
  void clear() EXCLUDES(lock_);

  /// Registers a spinning worker; true when no other spins.
  bool begin_spin() noexcept {
    const bool alone = spinning_.load(std::memory_order_relaxed) == 0;
    spinning_.fetch_add(1, std::memory_order_relaxed);
    return alone;
  }
  void end_spin() noexcept { spinning_.fetch_sub(1, std::memory_order_relaxed); }
  [[nodiscard]] bool anyone_spinning() const noexcept {
    return spinning_.load(std::memory_order_relaxed) != 0;
  }
  /// The leader waits in the poller now (a moment old).
  [[nodiscard]] bool leader_blocked() const noexcept { return leader_blocked_.load(); }
  /// Sleepers plus a blocked leader (a moment old).
  [[nodiscard]] int waiting() const noexcept { return waiting_.load(std::memory_order_relaxed); }

 private:
  std::shared_ptr<context> pop() EXCLUDES(lock_);
  /// waiting_ from sleeping_ and the leader.
  void publish_waiting() noexcept REQUIRES(lock_);

  spinlock lock_;
  block_queue<std::shared_ptr<context>> queue_ GUARDED_BY(lock_);
  int sleeping_ GUARDED_BY(lock_) = 0;
  std::atomic<std::size_t> queued_{0};       // queue_.size(), readable without the lock
  std::atomic<bool> leader_blocked_{false};  // written under lock_
  std::atomic<int> spinning_{0};
  std::atomic<int> waiting_{0};  // written under lock_
};

}  // namespace starling
