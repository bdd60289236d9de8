#pragma once
// A service's FIFO of messages. Thread contract: push/close/size from any thread; pop and
// release_if_empty from the worker that holds the service (one at a time, as the run queue
// guarantees).
//
// A mailbox is "in the run queue" from the push that found it idle until a pop finds it empty;
// while in, further pushes do not schedule it again, so it is queued at most once.
//
// Senders append to a locked queue; when its own batch runs out, the worker takes that whole
// queue in one swap (a lone message it just pops) and pops from the batch without the lock.
// So a sender and a worker on two cores meet on the lock once per batch rather than once per
// message.

#include <atomic>
#include <cstddef>
#include <optional>

#include "base/block_queue.hpp"
#include "base/spinlock.hpp"
#include "core/message.hpp"

namespace starling {

/// A mailbox's FIFO. An idle service keeps one block for good, so blocks are small: with
/// 10,000 services each slot is a few hundred KiB, and a burst costs one allocation per
/// 8 messages.
using message_queue = block_queue<message, 8>;

class mailbox {
 public:
  enum class push_result {
    queued,    ///< stored; the service is already scheduled
    schedule,  ///< stored; the caller must put the service in the run queue
    closed,    ///< refused: the service has retired; the message is left with the caller
  };

  /// Starts unschedulable: pushes are stored but do not schedule until `activate`.
  mailbox() = default;
  /// Frees the buffers of socket messages still queued (node shutdown): nobody will.
  ~mailbox();
  mailbox(const mailbox&) = delete;
  mailbox& operator=(const mailbox&) = delete;

  push_result push(message& msg);

  /// Makes the mailbox schedulable after its service's init; true when it must be scheduled.
  bool activate();

  /// Pops the oldest message. False when empty, which takes the mailbox out of the run queue.
  /// `remaining` is the length of the worker's batch after the pop (what was queued when the
  /// batch was taken, less what has been popped since). `overload` is set to it when a new
  /// batch crossed the warning threshold (which then doubles; it resets when the mailbox is
  /// seen empty).
  bool pop(message& out, std::size_t& remaining, std::optional<std::size_t>& overload);

  /// Takes the mailbox out of the run queue if it is empty (as an empty pop would); true then.
  bool release_if_empty();

  /// Refuses every later push and hands back what was queued; but while the worker is in the
  /// middle of a batch, it hands back nothing and the worker pops the rest of the batch and
  /// then the queue, so that whoever answers them answers in order.
  message_queue close();

  [[nodiscard]] std::size_t size();

 private:
  static constexpr std::size_t initial_overload_threshold = 1024;

  /// Leaves the run queue (both sides empty). Under lock_, from the worker.
  void go_idle();

  // Shared with senders, guarded by lock_.
  spinlock lock_;
  message_queue queue_;
  bool scheduled_ = true;  // held until activate() so pushes during init do not schedule
  bool closed_ = false;
  bool batch_out_ = false;  // the worker took a batch and has not come back for more

  // Keeps the worker's fields off the senders' cache lines. Padding rather than alignas: an
  // over-aligned context would need aligned allocation, slower and larger per service.
  [[maybe_unused]] std::byte padding_[64];

  // The worker's batch: senders never touch it.
  message_queue batch_;
  std::atomic<std::size_t> batch_size_{0};  // batch_.size(), for size() from other threads
  bool batch_has_block_ = false;            // batch_ kept a block from a swap
  std::size_t overload_threshold_ = initial_overload_threshold;
};

}  // namespace starling
