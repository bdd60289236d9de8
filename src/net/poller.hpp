#pragma once
// poller: the socket thread's epoll set, level-triggered (docs/NET.md). Each registered fd
// carries a 64-bit key that comes back with its events.
// Thread contract: whichever thread polls for the node (one at a time), apart from
// construction.

#include <cstdint>
#include <span>

#include "net/fd.hpp"

namespace starling::net {

struct poll_event {
  std::uint64_t key = 0;
  bool readable = false;
  bool writable = false;
  bool error = false;   ///< EPOLLERR
  bool hangup = false;  ///< EPOLLHUP
};

class poller {
 public:
  /// Throws std::system_error when the kernel refuses an epoll instance.
  poller();

  /// Registers `fd`; false with errno set on failure.
  bool add(int fd, std::uint64_t key, bool read, bool write);
  /// Changes the events wanted for a registered fd; false with errno set on failure.
  bool modify(int fd, std::uint64_t key, bool read, bool write);
  void remove(int fd);
  /// Waits until `deadline_ns` (monotonic ns; 0: not at all; UINT64_MAX: no limit) for
  /// something to happen; fills `events` and returns how many (0 on timeout or when
  /// interrupted by a signal). The deadline is kept to the microsecond where the kernel has
  /// epoll_pwait2 (Linux 5.11), else rounded up to the millisecond.
  int wait(std::span<poll_event> events, std::uint64_t deadline_ns);

 private:
  unique_fd epoll_;
};

}  // namespace starling::net
