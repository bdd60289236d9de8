#pragma once
// control_queue: the FIFO of requests from every thread to the socket thread (docs/NET.md),
// with an eventfd the socket thread polls to learn that requests are waiting.
//
// One FIFO for all senders keeps the requests of each sender in the order it made them.
// Thread contract: `push` and `signal` from any thread; `take` and `clear_signal` from the
// socket thread, which clears the signal before it takes, so no push goes unnoticed.

#include <sys/eventfd.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <mutex>
#include <system_error>
#include <utility>
#include <vector>

#include "net/fd.hpp"

namespace starling::net {

template <class T>
class control_queue {
 public:
  /// Throws std::system_error when no eventfd can be made.
  control_queue() : event_(::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC)) {
    if (!event_) throw std::system_error(errno, std::generic_category(), "eventfd");
  }

  /// The fd that turns readable when requests wait.
  [[nodiscard]] int wakeup_fd() const noexcept { return event_.get(); }

  void push(T item) {
    bool first = false;
    {
      std::lock_guard lock(mutex_);
      first = items_.empty();
      items_.push_back(std::move(item));
    }
    // Only the push that found the queue empty signals: the others are taken with it.
    if (first) signal();
  }

  /// Makes the wakeup fd readable.
  void signal() noexcept {
    const std::uint64_t one = 1;
    [[maybe_unused]] const ssize_t n = ::write(event_.get(), &one, sizeof one);
  }

  /// Makes the wakeup fd unreadable again.
  void clear_signal() noexcept {
    std::uint64_t count = 0;
    [[maybe_unused]] const ssize_t n = ::read(event_.get(), &count, sizeof count);
  }

  /// Moves every waiting request into `out`, which must be empty (its capacity is reused).
  void take(std::vector<T>& out) {
    std::lock_guard lock(mutex_);
    out.swap(items_);
  }

 private:
  unique_fd event_;
  std::mutex mutex_;
  std::vector<T> items_;  // guarded by mutex_
};

}  // namespace starling::net
