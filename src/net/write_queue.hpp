#pragma once
// write_queue: the bytes a TCP socket still has to send (docs/NET.md, "Write queues").
//
// Two FIFOs of owned buffers, high and low. A buffer goes to high unless it is low priority
// and something is already queued. `flush` gathers buffers with writev, high before low; a low
// buffer that is only partly written moves to the (then empty) high queue, so a buffer once
// started is finished before any other and buffers never interleave.
//
// Not thread-safe: the socket's lock guards it, except `bytes`, which any thread may read.

#include <atomic>
#include <cstddef>
#include <deque>
#include <optional>

#include "base/payload.hpp"

namespace starling::net {

class write_queue {
 public:
  enum class priority { high, low };

  struct flush_result {
    std::size_t written = 0;  ///< bytes the kernel took
    int error = 0;            ///< errno of a failed write; never EAGAIN or EINTR
  };

  write_queue() = default;
  write_queue(const write_queue&) = delete;
  write_queue& operator=(const write_queue&) = delete;

  /// Queues `data` (an empty buffer is dropped: there is nothing to send).
  void push(payload data, priority level);
  /// Queues the rest of `data`, of which the first `sent` bytes were written already. Only
  /// into an empty queue (after a direct write that the kernel took in part).
  void push_partial(payload data, std::size_t sent);
  /// Writes until the queue is empty, the kernel takes no more, or a write fails.
  flush_result flush(int fd);
  /// Drops everything queued.
  void clear() noexcept;

  [[nodiscard]] bool empty() const noexcept { return bytes() == 0; }
  /// Bytes queued and not yet written. Any thread: without the lock, a moment old when the
  /// queue moves.
  [[nodiscard]] std::size_t bytes() const noexcept {
    return bytes_.load(std::memory_order_relaxed);
  }

 private:
  /// Removes the first `n` bytes, promoting a partly written low buffer.
  void consume(std::size_t n);

  using fifo = std::deque<payload>;
  // Made on first use and dropped by clear(): even an empty std::deque holds a block, and the
  // socket table keeps a queue for every slot it has used (65536 of them, at most).
  std::optional<fifo> high_;
  std::optional<fifo> low_;
  static fifo& made(std::optional<fifo>& queue) { return queue ? *queue : queue.emplace(); }
  static bool none(const std::optional<fifo>& queue) noexcept { return !queue || queue->empty(); }
  std::size_t offset_ = 0;  // bytes of high_.front() already written
  // Written under the socket's lock only; atomic so that `bytes` may be read without it.
  std::atomic<std::size_t> bytes_{0};

  void add_bytes(std::size_t n) noexcept { bytes_.store(bytes() + n, std::memory_order_relaxed); }
};

}  // namespace starling::net
