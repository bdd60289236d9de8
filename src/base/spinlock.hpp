#pragma once
// A test-and-test-and-set spinlock for critical sections of a few dozen instructions
// (mailbox and run-queue pushes), where a futex-based mutex costs more than it saves.

#include <atomic>

#include "base/thread_safety.hpp"

namespace starling {

/// Tells the CPU we are spinning (frees the sibling hyper-thread, saves power).
inline void cpu_relax() noexcept {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause();
#elif defined(__aarch64__)
  asm volatile("yield");
#endif
}

class CAPABILITY("spinlock") spinlock {
 public:
  void lock() noexcept ACQUIRE() {
    for (;;) {
      if (!locked_.exchange(true, std::memory_order_acquire)) return;
      while (locked_.load(std::memory_order_relaxed))
        cpu_relax();
    }
  }
  bool try_lock() noexcept TRY_ACQUIRE(true) {
    return !locked_.load(std::memory_order_relaxed) &&
           !locked_.exchange(true, std::memory_order_acquire);
  }
  void unlock() noexcept RELEASE() { locked_.store(false, std::memory_order_release); }

 private:
  std::atomic<bool> locked_{false};
};

}  // namespace starling
