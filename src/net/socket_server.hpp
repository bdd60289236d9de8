#pragma once
// socket_server: the sockets of a node (docs/NET.md).
//
// The server owns every socket and its epoll set. It has no thread of its own: it is the
// node's io_poller, and idle workers wait in it one at a time (core/io_poller.hpp); "the
// socket thread" below means whichever worker polls. Services reach it through the calls
// below, from any thread. Sockets are named by ids (1, 2, ... from a counter, never fds), and
// every event goes to the socket's owner as a PTYPE_SOCKET message (core/socket_message.hpp)
// from source 0 with session 0. An id that is stale or unknown is ignored by every call, so
// any service may keep an old id safely.
//
// Requests from all services go through one FIFO, so the requests of one service are carried
// out in the order it made them. Each call either completes at once in the calling thread
// (listen, the direct write of `send`, the id reservation of everything else) or is queued for
// the socket thread and reported by a message.
//
// Memory bounds (docs/NET.md, "Limits"): a socket whose unsent bytes would pass
// `socket_write_limit` is closed, and a socket whose owner's (or sink's) mailbox holds
// `socket_pause_mqlen` messages stops being read until it drains to half that.
//
// Thread contract: every public member is safe from any thread, while the server lives.

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "base/payload.hpp"
#include "base/result.hpp"
#include "core/handle.hpp"
#include "net/failure.hpp"

namespace starling {
class node;
}

namespace starling::net {

/// One line of `netstat`.
struct socket_info {
  enum class kind { listen, tcp, udp, bind, closing, unknown };
  std::int32_t id = 0;
  handle_t owner = 0;
  kind type = kind::unknown;
  std::uint64_t read = 0;     ///< bytes read (listen: connections accepted)
  std::uint64_t write = 0;    ///< bytes written
  std::uint64_t wbuffer = 0;  ///< bytes queued for writing
  std::int64_t rtime = 0;     ///< node clock (centiseconds) of the last read / accept
  std::int64_t wtime = 0;     ///< node clock of the last write
  bool reading = false;       ///< read events enabled
  bool writing = false;       ///< write events enabled
  bool throttled = false;     ///< not read until the owner's or the sink's mailbox drains
  std::string endpoint;       ///< listen: "ip:port" bound; others: the peer's, if known
};

class socket_server {
 public:
  /// A new socket's id, or why there is none: errc::socket_failed with the system's or the
  /// resolver's text ("Address already in use", "Name or service not known"). Every call that
  /// opens a socket answers this at once; what fails later (a connect refused) comes as ERROR.
  using opened = result<std::int32_t, failure>;

  /// Becomes `runtime`'s io_poller; events are delivered with `runtime.send`. The runtime
  /// must outlive the server. Registers the server as the node's (see `of`). Reads its limits
  /// from the node's environment (docs/CONFIG.md); a value that is not a non-negative integer
  /// throws config_error.
  explicit socket_server(node& runtime);
  /// Detaches from the node's workers and closes every socket (no messages).
  ~socket_server();
  socket_server(const socket_server&) = delete;
  socket_server& operator=(const socket_server&) = delete;

  /// The server of `runtime`, or null when it has none. Services look it up once.
  [[nodiscard]] static socket_server* of(const node& runtime) noexcept;

  // ---- TCP -----------------------------------------------------------------------------

  /// Binds and listens in the calling thread (host "" means 0.0.0.0); fails when the name
  /// does not resolve or socket, bind or listen fail. The owner then gets CONNECT(bound ip,
  /// bound port); nothing is accepted before `start`. A `backlog` of 0 or less means the
  /// system's maximum (system_backlog).
  opened listen(handle_t owner, std::string_view host, int port, int backlog);
  /// Reserves an id and connects from the socket thread: CONNECT(peer ip) or ERROR(text).
  /// Fails at once only when the host name is too long or no id is free.
  opened connect(handle_t owner, std::string_view host, int port);
  /// Wraps an fd the caller owns (never closed by the server): CONNECT("binding"). Fails
  /// when no id is free.
  opened bind(handle_t owner, int fd);
  /// Starts reading (or accepting) and makes `owner` the owner.
  void start(handle_t owner, std::int32_t id);
  /// Stops reading until the next `start`.
  void pause(handle_t owner, std::int32_t id);
  /// Graceful: queued bytes still go out; CLOSE is sent once.
  void close(handle_t owner, std::int32_t id);
  /// Abortive: queued bytes are dropped.
  void shutdown(handle_t owner, std::int32_t id);
  void nodelay(std::int32_t id);
  /// Names the service `id`'s data is handed on to (a gate's agent): reading `id` also pauses
  /// while that service's mailbox is long. 0 forgets it.
  void set_sink(std::int32_t id, handle_t sink);

  // The writes answer a bool, not a result: their failures need no text (a stale id, a closing
  // socket, the write limit, which is logged and reported as ERROR), and the hot path builds
  // no string.

  /// High-priority write; takes the bytes. Writes straight from the calling thread when
  /// nothing is queued. False when the id is stale or the socket is closing, or when the
  /// bytes would take its unsent bytes past the write limit: the socket is then closed (a log
  /// line, ERROR to the owner) and every later write is refused.
  bool send(std::int32_t id, payload data);
  /// Low-priority write: queued behind every high-priority buffer. False for a stale id and
  /// past the write limit, as `send`.
  bool send_lowpriority(std::int32_t id, payload data);

  // ---- UDP -----------------------------------------------------------------------------

  /// A UDP socket, bound to host:port when either is given.
  opened udp(handle_t owner, std::string_view host, int port);
  /// A UDP socket whose default destination is host:port.
  opened udp_dial(handle_t owner, std::string_view host, int port);
  /// A UDP socket bound to host:port (port must not be 0).
  opened udp_listen(handle_t owner, std::string_view host, int port);
  /// Sets the default destination of `id`; fails when the host does not resolve.
  result<void, failure> udp_connect(std::int32_t id, std::string_view host, int port);
  /// One datagram to `address` (a 7 or 19 byte address blob, as UDP messages carry it). False,
  /// like `send`, for a blob of the wrong size or a stale or closing id.
  bool udp_send(std::int32_t id, std::span<const std::byte> address, payload data);

  // ---- information ---------------------------------------------------------------------

  /// A snapshot of the sockets that are listening, connected, half-closed or bound.
  [[nodiscard]] std::vector<socket_info> info() const;

  /// Decodes a UDP address blob into (ip, port); nullopt unless it is 7 or 19 bytes.
  [[nodiscard]] static std::optional<std::pair<std::string, int>> udp_address(
      std::span<const std::byte> address);
  /// getaddrinfo without hints: one ip per result, duplicates kept; fails with the resolver's
  /// text.
  [[nodiscard]] static result<std::vector<std::string>, failure> resolve(std::string_view host);
  /// The longest accept queue the system allows (net.core.somaxconn, else SOMAXCONN).
  [[nodiscard]] static int system_backlog() noexcept;

 private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

}  // namespace starling::net
