#pragma once
// Per-service CPU time (config `profile`) without a system call per message.
//
// Reading the thread's CPU clock is a system call (a few hundred ns), which skynet makes twice
// per message. Here each worker times its messages with tick_now() (a few ns) and reads its CPU
// clock once per window: after `window_messages` messages, before it waits, and when a service
// asks for its own figure. The window's CPU time is then shared among the services it ran in
// proportion to their ticks, so time the thread was preempted is charged to no one, and what
// the worker spent between messages (scheduling, polling, spinning) stays uncharged as well.
// A window never spans a worker's spin or wait: it ends before and a new one starts after.
// Thread contract: local() is the calling thread's meter; every member on that thread only.

#include <array>
#include <cstddef>
#include <cstdint>
#include <memory>

#include "base/tick_clock.hpp"

namespace starling {

class context;

class cpu_meter {
 public:
  /// Messages per window: one CPU clock read per this many messages.
  static constexpr unsigned window_messages = 64;

  /// The calling thread's meter.
  static cpu_meter& local() noexcept;

  /// A message starts: its first tick.
  [[nodiscard]] std::uint64_t begin() {
    if (!open_) open_window();  // the thread's first message
    return tick_now();
  }
  /// The message of `target` that began at `start` ends.
  void charge(context& target, std::uint64_t start);
  /// Shares the window's CPU time out now and opens the next window.
  void settle();
  /// The thread is out of work (it spins, then waits): what it ran so far is settled, and
  /// the spin and the wait are left out.
  void pause() { settle(); }
  /// The thread runs again after a wait: a new window (what waking cost is no one's either).
  void resume() {
    if (open_) open_window();
  }
  /// Time since `start` (a begin() of this thread) in ns, converted at the tick clock's own
  /// rate: the CPU time of a message that was not preempted.
  [[nodiscard]] std::uint64_t elapsed_ns(std::uint64_t start) const;

 private:
  struct entry {
    std::shared_ptr<context> target;  // alive until the window is settled
    std::uint64_t ticks = 0;
  };
  /// The entry of `target`, or null when every entry is taken.
  entry* find(context& target);
  void open_window();

  std::array<entry, 8> entries_;
  std::size_t used_ = 0;
  unsigned messages_ = 0;
  bool open_ = false;
  std::uint64_t window_start_ = 0;      // ticks
  std::uint64_t window_cpu_start_ = 0;  // thread CPU ns
  // The first window's start in ticks and monotonic ns: the tick clock's rate since then.
  std::uint64_t first_tick_ = 0;
  std::uint64_t first_ns_ = 0;
};

}  // namespace starling
