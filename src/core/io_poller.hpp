#pragma once
// io_poller: I/O that idle workers wait on instead of sleeping (leader/follower).
//
// A node with a socket server lets one idle worker at a time, the leader, wait in the
// server's poll. When a packet arrives the leader reads it, which makes its owner runnable in
// the leader's own next slot, and dispatches it right away: one thread wakes per packet
// instead of a socket thread and then a worker.
//
// Thread contract: the scheduler calls `poll` from one thread at a time (the lead is
// exclusive and handed over with acquire/release), `interrupt` from any thread.

#include <cstdint>

namespace starling {

class io_poller {
 public:
  virtual ~io_poller() = default;
  /// Waits for I/O until `deadline_ns` (monotonic; 0: do not wait; UINT64_MAX: no limit) and
  /// handles what came, requests included. True when some socket had an event.
  virtual bool poll(std::uint64_t deadline_ns) = 0;
  /// Makes a `poll` in progress return soon, or the next one return at once.
  virtual void interrupt() noexcept = 0;
  /// When the poller wants to be polled again even if no I/O comes (monotonic ns; UINT64_MAX:
  /// only for I/O). Asked by the thread about to wait in `poll`, as `poll` is.
  [[nodiscard]] virtual std::uint64_t deadline() const noexcept { return UINT64_MAX; }
};

}  // namespace starling
