#pragma once
// std::mutex as a clang thread-safety capability (base/thread_safety.hpp), with the
// condition-variable wait that the annotations cannot see through.

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <mutex>

#include "base/thread_safety.hpp"

namespace starling {

class CAPABILITY("mutex") mutex {
 public:
  void lock() ACQUIRE() { native_.lock(); }
  void unlock() RELEASE() { native_.unlock(); }

 private:
  friend bool wait_until(std::condition_variable& cv, mutex& held, std::uint64_t deadline_ns);
  std::mutex native_;
};

/// Waits on `cv` with `held` locked (released while waiting, as std::condition_variable does)
/// until notified or `deadline_ns` (monotonic ns; UINT64_MAX: none). True when notified.
inline bool wait_until(std::condition_variable& cv, mutex& held, std::uint64_t deadline_ns)
    REQUIRES(held) {
  std::unique_lock lock(held.native_, std::adopt_lock);
  bool notified = true;
  if (deadline_ns == UINT64_MAX) {
    cv.wait(lock);
  } else {
    // steady_clock is CLOCK_MONOTONIC on Linux, the clock of monotonic_ns.
    notified = cv.wait_until(lock, std::chrono::steady_clock::time_point(
                                       std::chrono::nanoseconds(deadline_ns))) ==
               std::cv_status::no_timeout;
  }
  lock.release();  // still held: the caller's scope unlocks it
  return notified;
}

}  // namespace starling
