#pragma once
// socket_table: the sockets a native actor reads, and the one coroutine each may have waiting.
//
// The actor's socket verbs (actor.hpp) register ids here; every PTYPE_SOCKET message for a
// registered id updates its state and says which waiter, if any, can now go on. Messages for
// ids that are not registered are left to the actor's on_message. A socket may have a listener
// instead of a reading coroutine: a channel (actor/channel.hpp) parses replies in place as
// the bytes arrive, with no coroutine resumed per read.
//
// Thread contract: the owning actor's dispatch only.

#include <coroutine>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "core/message.hpp"
#include "core/socket_message.hpp"

namespace starling::detail {

/// Unread bytes past which a socket stops being read until a coroutine waits for more (as
/// skynet.socket's BUFFER_LIMIT): a service that does not read holds at most about this much.
inline constexpr std::size_t read_buffer_limit = std::size_t{128} * 1024;

struct accepted_socket {
  std::int32_t id = 0;
  std::string peer;  ///< "ip:port"
};

struct socket_state;

/// Takes every event of a socket in the owner's dispatch, in place of a reading coroutine.
class socket_listener {
 public:
  /// `s` has been updated by a message of `type` (bytes appended, closed, ...); `ud` is the
  /// message's (a warning: the KiB still queued). The listener may close the socket.
  virtual void on_socket_event(socket_state& s, socket_event type, std::int32_t ud) = 0;

 protected:
  ~socket_listener() = default;
};

/// One socket's side of the conversation.
struct socket_state {
  enum class want { connected, accepted, bytes, line };

  std::int32_t id = 0;
  bool connected = false;               ///< CONNECT seen
  bool closed = false;                  ///< CLOSE or ERROR seen, or the open failed
  bool closing = false;                 ///< our own close was requested
  bool paused = false;                  ///< not read: the buffer passed read_buffer_limit
  std::string error;                    ///< the ERROR text, when there was one
  std::string address;                  ///< CONNECT's text (a listener: the bound ip)
  int port = 0;                         ///< a listener: the bound port
  std::deque<accepted_socket> backlog;  ///< a listener: accepted, not yet taken

  // Unread bytes are buffer[consumed, size).
  std::string buffer;
  std::size_t consumed = 0;

  std::coroutine_handle<> waiter;
  want wanted = want::connected;
  std::size_t wanted_bytes = 0;
  std::string separator;
  socket_listener* listener = nullptr;  ///< set: the listener takes the events, nobody reads

  [[nodiscard]] std::size_t unread() const noexcept { return buffer.size() - consumed; }
  [[nodiscard]] std::string_view unread_view() const noexcept {
    return std::string_view(buffer).substr(consumed);
  }
  /// Whether the waiter's condition holds (a closed socket satisfies every condition).
  [[nodiscard]] bool ready() const noexcept;
  /// Removes and returns the first n unread bytes (n <= unread()).
  std::string take(std::size_t n);
  /// Drops the first n unread bytes (n <= unread()).
  void skip(std::size_t n) noexcept;
};

class socket_table {
 public:
  /// Registers `id` (a fresh state; a stale one is replaced).
  socket_state& add(std::int32_t id);
  [[nodiscard]] socket_state* find(std::int32_t id) noexcept;
  void erase(std::int32_t id) noexcept { sockets_.erase(id); }
  [[nodiscard]] bool empty() const noexcept { return sockets_.empty(); }
  /// Forgets every socket and returns their ids.
  std::vector<std::int32_t> release_all();

  struct outcome {
    bool handled = false;            ///< the id was registered
    std::coroutine_handle<> resume;  ///< a waiter whose condition now holds
    bool shut_down = false;          ///< an ERROR: the socket should be shut down
    std::string warning;             ///< a line to log (a write-backlog warning)
    bool pause = false;              ///< the buffer passed read_buffer_limit: stop reading
  };
  /// Applies a socket message. Takes the bytes a DATA message carries (frees its buffer).
  outcome apply(message& msg);

 private:
  std::unordered_map<std::int32_t, std::unique_ptr<socket_state>> sockets_;
};

}  // namespace starling::detail
