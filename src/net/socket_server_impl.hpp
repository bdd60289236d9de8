#pragma once
// The inside of net::socket_server, shared by its two halves: socket_server.cpp (the calls any
// thread makes, and the writes they make directly) and socket_poll.cpp (what the poll's
// leader does: requests, events, UDP, backpressure). Not for use outside src/net.

#include <fcntl.h>
#include <fmt/format.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <system_error>
#include <unordered_map>
#include <variant>

#include "base/clock.hpp"
#include "core/dispatch_turn.hpp"
#include "core/environment.hpp"
#include "core/node.hpp"
#include "core/socket_message.hpp"
#include "net/address.hpp"
#include "net/control_queue.hpp"
#include "net/fd.hpp"
#include "net/poller.hpp"
#include "net/socket_server.hpp"
#include "net/socket_table.hpp"
#include "net/write_queue.hpp"

namespace starling::net {

/// The first read of a socket asks for this many bytes (then adapts to what reads return).
inline constexpr std::size_t min_read_size = 64;
/// The backlog of the first WARNING; the next ones double it.
inline constexpr std::size_t warn_threshold = std::size_t{1024} * 1024;
/// skynet's request record holds at most this much host name; longer ones are refused.
inline constexpr std::size_t max_host_length = 231;
inline constexpr std::size_t max_datagram = 65535;
/// The poller key of the request queue's wakeup fd; socket ids start at 1.
inline constexpr std::uint64_t wakeup_key = 0;
inline constexpr std::size_t events_per_wait = 64;
/// Defaults of the limits (docs/CONFIG.md says why these).
inline constexpr std::size_t default_write_limit = 64 << 20;
inline constexpr std::size_t default_pause_mqlen = 256;
/// Backpressure counts each message queued for a socket's owner or sink as one per this many
/// bytes of the socket's read size: a socket read in big chunks pauses sooner, so the bytes it
/// can have waiting stay near socket_pause_mqlen of these units.
inline constexpr std::size_t pause_unit_bytes = 64 << 10;
/// While sockets are throttled, how often their mailboxes are looked at at most, and at
/// least (the drain is seen by looking, nobody tells the poll).
inline constexpr std::uint64_t pace_interval_ns = 200'000;
inline constexpr std::uint64_t pace_wait_ns = 1'000'000;

// ---- requests: one per call that needs the socket thread ---------------------------------

namespace req {
struct listen {
  std::int32_t id;
  handle_t owner;
  unique_fd fd;
};
struct connect {
  std::int32_t id;
  handle_t owner;
  std::string host;
  int port;
};
struct bind {
  std::int32_t id;
  handle_t owner;
  int fd;
};
struct start {
  std::int32_t id;
  handle_t owner;
};
struct pause {
  std::int32_t id;
};
struct close {
  std::int32_t id;
  bool abortive;
};
struct nodelay {
  std::int32_t id;
};
struct send {
  std::int32_t id;
  payload data;
  write_queue::priority level;
};
/// A direct write left bytes in the queue: the socket thread must watch for writability.
struct flush_rest {
  std::int32_t id;
};
/// A write was refused by the write limit: the socket is to be closed.
struct over_limit {
  std::int32_t id;
  std::size_t unsent;  ///< what the refused write would have made it
};
struct sink {
  std::int32_t id;
  handle_t service;
};
struct udp_open {
  std::int32_t id;
  handle_t owner;
  unique_fd fd;
  int family;
  std::optional<socket_address> peer;
};
struct udp_connect {
  std::int32_t id;
  socket_address peer;
};
struct udp_send {
  std::int32_t id;
  socket_address to;
  payload data;
};
}  // namespace req

using request = std::variant<req::listen, req::connect, req::bind, req::start, req::pause,
                             req::close, req::nodelay, req::send, req::flush_rest, req::over_limit,
                             req::sink, req::udp_open, req::udp_connect, req::udp_send>;

inline std::string error_text(int code) {
  return std::strerror(code);
}

inline void set_option(int fd, int level, int name) {
  const int on = 1;
  ::setsockopt(fd, level, name, &on, sizeof on);
}

inline std::optional<socket_address> local_address(int fd) {
  socket_address a;
  a.length = sizeof a.storage;
  if (::getsockname(fd, a.get(), &a.length) != 0) return std::nullopt;
  return a;
}

inline std::optional<socket_address> peer_address(int fd) {
  socket_address a;
  a.length = sizeof a.storage;
  if (::getpeername(fd, a.get(), &a.length) != 0) return std::nullopt;
  return a;
}

/// The failure of the system call that just set errno.
inline failure system_failure() {
  return failure{errc::socket_failed, error_text(errno)};
}

/// A socket of `address`'s family, unbound.
inline result<unique_fd, failure> open_socket(const socket_address& address, int type) {
  unique_fd fd(::socket(address.family(), type | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
  if (!fd) return system_failure();
  return fd;
}

/// A socket bound to `address` (and listening when `backlog` is given).
inline result<unique_fd, failure> open_bound(const socket_address& address, int type,
                                             std::optional<int> backlog) {
  result<unique_fd, failure> fd = open_socket(address, type);
  if (!fd) return fd;
  if (type == SOCK_STREAM) set_option(fd->get(), SOL_SOCKET, SO_REUSEADDR);
  if (::bind(fd->get(), address.get(), address.length) != 0) return system_failure();
  if (backlog && ::listen(fd->get(), *backlog) != 0) return system_failure();
  return fd;
}

inline failure no_free_id() {
  return failure{errc::socket_failed, "no free socket id"};
}

struct socket_server::impl final : io_poller {
  explicit impl(node& runtime);
  ~impl() override;
  impl(const impl&) = delete;
  impl& operator=(const impl&) = delete;

  // ---- calling threads -------------------------------------------------------------------

  opened open_udp(handle_t owner, result<unique_fd, failure> fd, int family,
                  std::optional<socket_address> peer);
  /// Writes from the calling thread when nothing is queued or on its way; true when `data`
  /// was taken (all written, or the rest queued for the socket thread).
  bool try_direct_write(socket_slot& s, std::int32_t id, payload& data);
  void post_send(socket_slot& s, std::int32_t id, payload data, write_queue::priority level);

  // Writes held for the rest of a worker's turn (core/dispatch_turn.hpp): a turn that answers
  // many requests on one socket writes them with one syscall. The first small write a turn makes
  // to a socket goes at once (a lone reply loses no time); the next ones, while the worker has
  // more to dispatch, go into the socket's queue without a word to the socket thread, and the
  // turn's end writes the queue out. Every other write to that socket, from any thread, sees a
  // queue that is not empty and queues behind it, so bytes keep their order however services
  // move between workers.
  struct touched_socket {
    impl* server;
    std::int32_t id;
  };
  static constexpr std::size_t cork_write_max = 4096;
  static constexpr std::size_t cork_limit = std::size_t{64} * 1024;
  static thread_local std::vector<touched_socket> touched;
  /// Notes that this turn wrote to `id`; true if it had already.
  bool touch(std::int32_t id);
  /// Queues `data` unannounced; false (data untouched) when the socket cannot take it now.
  bool cork(socket_slot& s, std::int32_t id, payload& data);
  /// Writes out what this thread left in its sockets' queues, and forgets what it touched.
  static void uncork_all();
  static void uncork_all_hook(void*) { uncork_all(); }
  void uncork(std::int32_t id);

  /// Whether `size` more bytes keep `id` within the write limit. The first refusal asks the
  /// socket thread to close it.
  bool admit(socket_slot& s, std::int32_t id, std::size_t size);

  // ---- the poll: run by one worker at a time, the leader (core/io_poller.hpp) -----------
  // "The socket thread" below means that leader, whichever thread it is.

  bool poll(std::uint64_t deadline_ns) override;
  void interrupt() noexcept override { requests_.signal(); }
  [[nodiscard]] std::uint64_t deadline() const noexcept override {
    return throttled_.empty() ? UINT64_MAX : paced_at_ns_ + pace_wait_ns;
  }
  void drain_requests();
  [[nodiscard]] std::vector<socket_info> collect_info();
  /// Handles one event; true when the same event must be handled again (a read filled its
  /// buffer, so more is likely waiting).
  bool handle(const poll_event& event);

  void on(req::listen& r);
  void on(req::connect& r);
  void on(req::bind& r);
  void on(req::start& r);
  void on(req::pause& r);
  void on(req::close& r);
  void on(req::nodelay& r);
  void on(req::send& r);
  void on(req::flush_rest& r);
  void on(req::over_limit& r);
  void on(req::sink& r);
  void on(req::udp_open& r);
  void on(req::udp_connect& r);
  void on(req::udp_send& r);

  /// The slot of a request that sets a socket up, if it is still reserved for `id`.
  socket_slot* reserved(std::int32_t id);
  /// Puts a reserved slot to work with `fd`; false (slot freed, ERROR sent) if epoll refuses.
  bool open_slot(socket_slot& s, unique_fd fd, handle_t owner, socket_state state, bool read,
                 bool write);
  void set_state(socket_slot& s, socket_state state);
  void set_reading(socket_slot& s, bool on);
  void set_writing(socket_slot& s, bool on);
  /// Tells epoll what `s` waits for now; false (and ERROR to the owner) if it refuses.
  bool update_events(socket_slot& s, std::string_view failure);
  /// Frees the slot and closes the fd (unless bound); no message.
  void force_close(socket_slot& s);
  /// force_close, with CLOSE unless one was sent already.
  void close_and_report(socket_slot& s);
  /// Stops reading (shut down the read side) and sends CLOSE (docs/NET.md, "Closing").
  void close_read(socket_slot& s);
  void send_close(socket_slot& s);

  void accept_one(socket_slot& listener);
  void finish_connect(socket_slot& s);
  enum class read_result { idle, more, stop };
  read_result read_stream(socket_slot& s);
  void peer_eof(socket_slot& s);
  void flush(socket_slot& s);
  void write_failed(socket_slot& s, int error);
  void check_backlog(socket_slot& s, std::size_t bytes);
  void receive_datagram(socket_slot& s);
  void queue_datagram(socket_slot& s, datagram d);
  /// Sends one datagram; false when the socket cannot take it now.
  bool send_datagram(socket_slot& s, const datagram& d);
  void flush_datagrams(socket_slot& s);
  void report_socket_error(socket_slot& s);

  // ---- backpressure (the socket thread) --------------------------------------------------

  /// Whether `service`'s mailbox holds at least `length` messages, each counting `weight`.
  [[nodiscard]] bool crowded(handle_t service, std::size_t length, std::size_t weight) const;
  /// How much a message queued for `s`'s owner or sink counts (pause_unit_bytes).
  [[nodiscard]] static std::size_t read_weight(const socket_slot& s) noexcept {
    return std::max<std::size_t>(1, s.read_size / pause_unit_bytes);
  }
  /// After a read: stops reading `s` if its owner's or its sink's mailbox is long. True then.
  bool throttle_if_crowded(socket_slot& s);
  /// Resumes the throttled sockets whose mailboxes have drained to half; true if any.
  bool pace(std::uint64_t now);

  // ---- messages to owners ----------------------------------------------------------------

  void post(handle_t owner, socket_event type, std::int32_t id, std::int32_t ud,
            std::string_view text) {
    runtime_.send(0, owner, ptype::socket, 0, make_socket_message(type, id, ud, text));
  }
  /// Sends a message without text; `buffer` (malloc'd or null) goes with it, or is freed when
  /// the owner is gone.
  void post(handle_t owner, socket_event type, std::int32_t id, std::int32_t ud,
            malloc_ptr<> buffer) {
    void* raw = buffer.release();
    if (!runtime_.send(0, owner, ptype::socket, 0, make_socket_message(type, id, ud, raw))) {
      // NOLINTNEXTLINE(*-no-malloc): message bodies are malloc'd (base/payload.hpp)
      std::free(raw);
    }
  }

  node& runtime_;
  const std::size_t write_limit_;  // 0: none
  const std::size_t pause_mqlen_;  // 0: no backpressure
  socket_table table_;
  control_queue<request> requests_;
  poller poller_;
  std::vector<request> batch_;                        // the socket thread's
  std::vector<std::byte> udp_buffer_;                 // the socket thread's
  std::array<poll_event, events_per_wait> events_{};  // the socket thread's
  unique_fd spare_;                      // given up to shed a connection when out of fds
  std::vector<std::int32_t> throttled_;  // the socket thread's: ids, stale ones dropped lazily
  std::uint64_t paced_at_ns_ = 0;        // the socket thread's: the last look at them
};

}  // namespace starling::net
