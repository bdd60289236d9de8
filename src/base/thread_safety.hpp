#pragma once
// Clang's thread-safety annotations, so that `clang++ -Wthread-safety` checks which lock
// guards which field (make thread-safety). They expand to nothing under other compilers.
// Plus `thread_owner`: a debug-build check that a function runs on the one thread it must.

#include <cassert>
#include <mutex>
#include <thread>

#if defined(__clang__)
#define STARLING_TSA(x) __attribute__((x))
#else
#define STARLING_TSA(x)
#endif

#define CAPABILITY(name) STARLING_TSA(capability(name))
#define SCOPED_CAPABILITY STARLING_TSA(scoped_lockable)
#define GUARDED_BY(lock) STARLING_TSA(guarded_by(lock))
#define PT_GUARDED_BY(lock) STARLING_TSA(pt_guarded_by(lock))
#define REQUIRES(...) STARLING_TSA(requires_capability(__VA_ARGS__))
#define EXCLUDES(...) STARLING_TSA(locks_excluded(__VA_ARGS__))
#define ACQUIRE(...) STARLING_TSA(acquire_capability(__VA_ARGS__))
#define ACQUIRE_SHARED(...) STARLING_TSA(acquire_shared_capability(__VA_ARGS__))
#define RELEASE(...) STARLING_TSA(release_capability(__VA_ARGS__))
#define RELEASE_SHARED(...) STARLING_TSA(release_shared_capability(__VA_ARGS__))
#define TRY_ACQUIRE(...) STARLING_TSA(try_acquire_capability(__VA_ARGS__))
#define RETURN_CAPABILITY(lock) STARLING_TSA(lock_returned(lock))
#define NO_THREAD_SAFETY_ANALYSIS STARLING_TSA(no_thread_safety_analysis)

namespace starling {

/// Holds an annotated lock for a scope (std::lock_guard is not annotated, so clang would not
/// know the lock is held inside).
template <class Lock>
class SCOPED_CAPABILITY scoped_lock {
 public:
  explicit scoped_lock(Lock& lock) ACQUIRE(lock) : lock_(lock) { lock_.lock(); }
  /// Takes over a lock the caller already holds (after a successful try_lock).
  scoped_lock(Lock& lock, std::adopt_lock_t) REQUIRES(lock) : lock_(lock) {}
  ~scoped_lock() RELEASE() { lock_.unlock(); }
  scoped_lock(const scoped_lock&) = delete;
  scoped_lock& operator=(const scoped_lock&) = delete;

 private:
  Lock& lock_;
};

/// Records the thread that first claims it and, in debug builds, asserts that every later
/// claim comes from that thread; costs nothing in release builds.
class thread_owner {
 public:
  void claim() noexcept {
#ifndef NDEBUG
    if (owner_ == std::thread::id()) owner_ = std::this_thread::get_id();
    assert(owner_ == std::this_thread::get_id() && "called from a thread that does not own it");
#endif
  }
  /// Forgets the owner (the next claim records a new one), e.g. when a worker thread ends.
  void release() noexcept {
#ifndef NDEBUG
    owner_ = std::thread::id();
#endif
  }

 private:
#ifndef NDEBUG
  std::thread::id owner_;
#endif
};

}  // namespace starling
