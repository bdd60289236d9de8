#pragma once
// socket_table: the 65536 socket slots and the id counter (docs/NET.md, "Ids and slots").
//
// An id lives in slot `id mod 65536`. Ids come from a counter starting at 1 that skips ids
// whose slot is taken and wraps within the positive 31-bit range, so an old id names nothing
// until the counter comes round again. A slot is made on first use and kept until the table
// dies, so a pointer to it stays valid; whether it still holds a given id is checked on every
// use (`find`).
//
// Thread contract: `reserve`, `find` and `slot_of` from any thread. The slot's atomics and its
// lock-guarded members are shared; everything else in it belongs to the socket thread.

#include <sys/socket.h>

#include <array>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <list>
#include <memory>
#include <mutex>
#include <optional>
#include <string>

#include "base/payload.hpp"
#include "core/handle.hpp"
#include "net/address.hpp"
#include "net/fd.hpp"
#include "net/write_queue.hpp"

namespace starling::net {

/// The life of a socket slot, as skynet names its states.
enum class socket_state : std::uint8_t {
  invalid,           ///< free slot
  reserved,          ///< id handed out; the socket thread has not set the socket up yet
  plisten,           ///< listening fd registered, not accepting before `start`
  listen,            ///< accepting
  connecting,        ///< non-blocking connect in progress
  connected,         ///< normal (TCP and UDP)
  half_close_read,   ///< no more reading (peer EOF, or close with output pending)
  half_close_write,  ///< a write failed; the write side is shut down
  paccept,           ///< accepted, not read before `start`
  bind,              ///< wraps a caller's fd, never closed by us
};

enum class socket_protocol : std::uint8_t { tcp, udp };

/// A UDP datagram waiting for the socket to be writable.
struct datagram {
  payload data;
  std::optional<socket_address> to;  ///< none: the socket's default destination
};

struct socket_slot {
  socket_slot() = default;
  socket_slot(const socket_slot&) = delete;
  socket_slot& operator=(const socket_slot&) = delete;
  ~socket_slot() {
    if (!owns_fd) (void)fd.release();
  }

  // ---- shared with the calling threads ---------------------------------------------------

  // `reserve` stores id before state and `find` loads state before id, so a live state is
  // never paired with the id of an earlier occupant.
  std::atomic<std::int32_t> id{0};
  std::atomic<socket_state> state{socket_state::invalid};
  std::atomic<socket_protocol> protocol{socket_protocol::tcp};
  /// Closed by its owner with output pending: later sends are refused.
  std::atomic<bool> closing{false};
  /// Bytes of the `send` requests for this slot (any id) still in the request FIFO. A direct
  /// write waits for them, or it would overtake them; the write limit counts them as unsent.
  std::atomic<std::size_t> in_flight{0};
  /// The id whose writes passed the write limit: refused from then on, its close is on the way.
  std::atomic<std::int32_t> over_limit{0};
  std::atomic<std::uint64_t> bytes_written{0};
  std::atomic<std::int64_t> write_time{0};

  /// Guards `queue`, and every change of `fd` or of `state` to or from connected: a direct
  /// write holds it from its checks to its last byte.
  std::mutex lock;
  unique_fd fd;
  write_queue queue;

  // ---- the socket thread's ---------------------------------------------------------------

  handle_t owner = 0;
  int family = AF_INET;
  bool owns_fd = true;  ///< false for `bind`: the fd is the caller's
  bool reading = false;
  bool writing = false;
  bool close_sent = false;
  /// Not read, because the owner's or the sink's mailbox is long (backpressure); reading
  /// resumes when they drain, whatever `reading` says.
  bool throttled = false;
  /// The service this socket's data is handed on to (a gate's agent), watched like the owner.
  handle_t sink = 0;
  std::size_t read_size = 0;
  std::size_t warn_size = 0;     ///< the backlog that triggers the next WARNING
  std::uint64_t bytes_read = 0;  ///< listen: connections accepted
  std::int64_t read_time = 0;    ///< of the last read or accept
  std::string endpoint;          ///< "ip:port": bound (listen) or the peer's
  std::optional<socket_address> udp_peer;
  std::list<datagram> datagrams;  // rarely used: a std::deque would hold a block in every slot
  std::size_t datagram_bytes = 0;
};

class socket_table {
 public:
  static constexpr std::size_t size = 65536;

  socket_table() = default;
  socket_table(const socket_table&) = delete;
  socket_table& operator=(const socket_table&) = delete;

  /// Takes the next free id, whose slot is left in state reserved; -1 when all are taken.
  [[nodiscard]] std::int32_t reserve(socket_protocol protocol);
  /// The live socket named `id`, or null when the id is stale or unknown.
  [[nodiscard]] socket_slot* find(std::int32_t id) const noexcept;
  /// The slot `id` maps to, whatever it holds now (null if it was never used).
  [[nodiscard]] socket_slot* slot_of(std::int32_t id) const noexcept;
  /// Calls `fn(slot&)` for every slot ever used. The socket thread only.
  template <class F>
  void for_each(F&& fn) const {
    for (const auto& entry : index_) {
      if (socket_slot* s = entry.load(std::memory_order_acquire)) fn(*s);
    }
  }

 private:
  std::mutex reserve_mutex_;
  std::int32_t last_id_ = 0;                                // guarded by reserve_mutex_
  std::array<std::unique_ptr<socket_slot>, size> owned_{};  // guarded by reserve_mutex_
  std::array<std::atomic<socket_slot*>, size> index_{};     // published copies of owned_
};

}  // namespace starling::net
