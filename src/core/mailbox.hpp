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
//
// Overload: a push that takes the senders' queue past the warning threshold (1024, then
// doubling until the mailbox is seen empty, as skynet) reports the length, so the warning comes
// when the queue grows, not when the worker next takes a batch. An opt-in limit refuses
// requests past a length (docs/DESIGN.md, "Mailboxes").

#include <atomic>
#include <cstddef>
#include <cstdint>

#include "base/block_queue.hpp"
#include "base/spinlock.hpp"
#include "base/thread_safety.hpp"
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
    full,      ///< refused: past the limit (set_limit); the message is left with the caller
  };

  /// 16 bytes, so that it comes back in two registers: push is the runtime's hottest call.
  struct push_outcome {
    /// Queued or schedule: the mailbox's length when this push crossed a warning threshold
    /// (which then doubles), else 0.
    std::size_t overload = 0;
    /// Full: the requests refused since the mailbox was last empty, this one included.
    std::uint32_t refused = 0;
    push_result result = push_result::queued;
  };

  /// Starts unschedulable: pushes are stored but do not schedule until `activate`.
  mailbox() = default;
  /// Frees the buffers of socket messages still queued (node shutdown): nobody will.
  ~mailbox();
  mailbox(const mailbox&) = delete;
  mailbox& operator=(const mailbox&) = delete;

  /// Stores `msg` (moved from) unless the mailbox is closed or full.
  push_outcome push(message& msg);

  /// Refuses requests while `length` messages or more are queued (0: no limit, the default).
  /// Replies, errors and socket messages are never refused: dropping them would leave the
  /// service's own calls or a socket's bytes lost. Any thread.
  void set_limit(std::size_t length);
  [[nodiscard]] std::size_t limit();

  /// Makes the mailbox schedulable after its service's init; true when it must be scheduled.
  bool activate();

  /// Pops the oldest message. False when empty, which takes the mailbox out of the run queue.
  /// `remaining` is the length of the worker's batch after the pop (what was queued when the
  /// batch was taken, less what has been popped since).
  bool pop(message& out, std::size_t& remaining);

  /// A message the worker's batch holds without popping it: `ahead` 0 is what the next pop
  /// returns. Null past the batch (the senders' queue is not looked at: that needs the lock).
  /// For a service that prepares what its next messages touch; from the worker holding it.
  [[nodiscard]] const message* upcoming(std::size_t ahead) const noexcept {
    return batch_.peek(ahead);
  }

  /// Takes the mailbox out of the run queue if it is empty (as an empty pop would); true then.
  bool release_if_empty();

  /// Refuses every later push and hands back what was queued; but while the worker is in the
  /// middle of a batch, it hands back nothing and the worker pops the rest of the batch and
  /// then the queue, so that whoever answers them answers in order.
  message_queue close();

  [[nodiscard]] std::size_t size();
  /// The length without the lock: exact when nothing moves, a moment old otherwise. For
  /// observers that poll it often (the socket thread's backpressure).
  [[nodiscard]] std::size_t length_hint() const noexcept {
    return queue_size_.load(std::memory_order_relaxed) +
           batch_size_.load(std::memory_order_relaxed);
  }

 private:
  static constexpr std::size_t initial_overload_threshold = 1024;

  /// Whether the limit applies to `msg`: requests, not replies, errors or socket events.
  static bool limited(const message& msg) noexcept;

  /// Leaves the run queue (both sides empty). Under lock_, from the worker.
  void go_idle() REQUIRES(lock_);

  // Shared with senders.
  spinlock lock_;
  message_queue queue_ GUARDED_BY(lock_);
  // Held until activate() so pushes during init do not schedule.
  bool scheduled_ GUARDED_BY(lock_) = true;
  bool closed_ GUARDED_BY(lock_) = false;
  // The worker took a batch and has not come back for more.
  bool batch_out_ GUARDED_BY(lock_) = false;
  std::size_t overload_threshold_ GUARDED_BY(lock_) = initial_overload_threshold;
  std::size_t limit_ GUARDED_BY(lock_) = 0;      // 0: none
  std::uint32_t refused_ GUARDED_BY(lock_) = 0;  // by the limit since the mailbox was last empty
  std::atomic<std::size_t> queue_size_{0};       // queue_.size(), for length_hint()

  // Keeps the worker's fields off the senders' cache lines. Padding rather than alignas: an
  // over-aligned context would need aligned allocation, slower and larger per service.
  [[maybe_unused]] std::byte padding_[64];

  // The worker's batch: senders never touch it.
  message_queue batch_;
  std::atomic<std::size_t> batch_size_{0};  // batch_.size(), for size() from other threads
  bool batch_has_block_ = false;            // batch_ kept a block from a swap
};

}  // namespace starling
