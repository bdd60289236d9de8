#pragma once
// What the scheduler asks of the node (or of a test's fake) for each message.

#include <cstdint>

#include "core/context.hpp"
#include "core/message.hpp"

namespace starling {

class dispatcher {
 public:
  virtual ~dispatcher() = default;
  /// Runs one message of `target` on the calling worker's thread. The scheduler brackets it
  /// with the worker's probe: stealing and the stall monitor read it.
  virtual void dispatch(context& target, message& msg) = 0;
  /// Called by busy and spinning workers every few batches or polls: fires due timers unless
  /// another thread is firing them.
  virtual void between_batches() = 0;
  /// Called by a worker that woke from a wait (timer delivery without a thread switch): fires
  /// due timers as between_batches does, but waits for a thread that is firing them already. Only
  /// trying would send the worker straight back to a wait for the deadline that is still due, a
  /// loop that keeps the firing thread off its core when the two share one.
  virtual void after_wait() = 0;
  /// When the next timer is due (monotonic ns; UINT64_MAX: none), for a waiting worker that
  /// wakes itself to fire it: one wake-up instead of the timer thread's plus a worker's.
  [[nodiscard]] virtual std::uint64_t next_timer_deadline() const = 0;
};

}  // namespace starling
