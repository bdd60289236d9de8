#pragma once
// std::mutex as a clang thread-safety capability (base/thread_safety.hpp), and a scoped hold
// of it that can be let go, taken again, and waited with on a condition variable.
//
// Condition waits take no predicate: a lambda is checked as a function of its own, which holds
// no lock, so callers loop on the condition themselves (where the check sees the lock held).

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <shared_mutex>

#include "base/thread_safety.hpp"

namespace starling {

class CAPABILITY("mutex") mutex {
 public:
  void lock() ACQUIRE() { native_.lock(); }
  void unlock() RELEASE() { native_.unlock(); }
  bool try_lock() TRY_ACQUIRE(true) { return native_.try_lock(); }

 private:
  friend class mutex_lock;
  std::mutex native_;
};

/// Many readers or one writer; the writer holds it with scoped_lock, a reader with
/// shared_lock.
class CAPABILITY("shared_mutex") shared_mutex {
 public:
  void lock() ACQUIRE() { native_.lock(); }
  void unlock() RELEASE() { native_.unlock(); }
  void lock_shared() ACQUIRE_SHARED() { native_.lock_shared(); }
  void unlock_shared() RELEASE_SHARED() { native_.unlock_shared(); }

 private:
  std::shared_mutex native_;
};

class SCOPED_CAPABILITY shared_lock {
 public:
  explicit shared_lock(shared_mutex& m) ACQUIRE_SHARED(m) : mutex_(m) { mutex_.lock_shared(); }
  ~shared_lock() RELEASE() { mutex_.unlock_shared(); }
  shared_lock(const shared_lock&) = delete;
  shared_lock& operator=(const shared_lock&) = delete;

 private:
  shared_mutex& mutex_;
};

class SCOPED_CAPABILITY mutex_lock {
 public:
  explicit mutex_lock(mutex& m) ACQUIRE(m) : lock_(m.native_) {}
  ~mutex_lock() RELEASE() = default;
  mutex_lock(const mutex_lock&) = delete;
  mutex_lock& operator=(const mutex_lock&) = delete;

  void lock() ACQUIRE() { lock_.lock(); }
  void unlock() RELEASE() { lock_.unlock(); }

  /// Waits on `cv` (the lock let go meanwhile, held again on return) until notified; wakes
  /// spuriously too.
  void wait(std::condition_variable& cv) { cv.wait(lock_); }
  /// Likewise until `deadline`; false when it passed.
  bool wait_until(std::condition_variable& cv, std::chrono::steady_clock::time_point deadline) {
    return cv.wait_until(lock_, deadline) == std::cv_status::no_timeout;
  }
  /// Likewise until `deadline_ns` (monotonic ns; UINT64_MAX: none).
  bool wait_until(std::condition_variable& cv, std::uint64_t deadline_ns) {
    if (deadline_ns == UINT64_MAX) {
      cv.wait(lock_);
      return true;
    }
    // steady_clock is CLOCK_MONOTONIC on Linux, the clock of monotonic_ns.
    return wait_until(cv,
                      std::chrono::steady_clock::time_point(std::chrono::nanoseconds(deadline_ns)));
  }

 private:
  std::unique_lock<std::mutex> lock_;
};

}  // namespace starling
