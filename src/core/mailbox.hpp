#pragma once
// A service's FIFO of messages. Thread contract: push/close from any thread; pop from the worker
// that holds the service (one at a time, as the run queue guarantees).
//
// A mailbox is "in the run queue" from the push that found it idle until a pop finds it empty;
// while in, further pushes do not schedule it again, so it is queued at most once.

#include <cstddef>
#include <optional>

#include "base/block_queue.hpp"
#include "base/spinlock.hpp"
#include "core/message.hpp"

namespace starling {

class mailbox {
 public:
  enum class push_result {
    queued,    ///< stored; the service is already scheduled
    schedule,  ///< stored; the caller must put the service in the run queue
    closed,    ///< refused: the service has retired; the message is left with the caller
  };

  /// Starts unschedulable: pushes are stored but do not schedule until `activate`.
  mailbox() = default;

  push_result push(message& msg);

  /// Makes the mailbox schedulable after its service's init; true when it must be scheduled.
  bool activate();

  /// Pops the oldest message. False when empty, which takes the mailbox out of the run queue.
  /// `remaining` is the length after the pop; `overload` is set to it when it crossed the
  /// warning threshold (which then doubles; it resets when the mailbox is seen empty).
  bool pop(message& out, std::size_t& remaining, std::optional<std::size_t>& overload);

  /// Takes the mailbox out of the run queue if it is empty (as an empty pop would); true then.
  bool release_if_empty();

  /// Refuses every later push and hands back what was queued.
  block_queue<message> close();

  [[nodiscard]] std::size_t size();

 private:
  static constexpr std::size_t initial_overload_threshold = 1024;

  spinlock lock_;
  block_queue<message> queue_;
  bool scheduled_ = true;  // held until activate() so pushes during init do not schedule
  bool closed_ = false;
  std::size_t overload_threshold_ = initial_overload_threshold;
};

}  // namespace starling
