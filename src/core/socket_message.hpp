#pragma once
// The body of a PTYPE_SOCKET message: what the socket thread tells a socket's owner
// (docs/NET.md). Lua reads it through socketdriver.unpack and netpack.filter, native actors
// through the actor socket API, so its layout is shared here, below all of them.
//
// Ownership: for `data` and `udp` the head points at a malloc'd block that belongs to whoever
// handles the message (Lua frees it with socketdriver.drop / push, netpack.filter, ...). A
// message that is never handled (its owner is gone, or it is left in a retired mailbox) has
// that block freed by `release_socket_buffer`.

#include <cstddef>
#include <cstdint>
#include <string_view>

#include "base/payload.hpp"
#include "core/message.hpp"

namespace starling {

/// The numbers are what Lua sees (`type` of socketdriver.unpack) and must not change.
enum class socket_event : std::int32_t {
  data = 1,     ///< id, ud = byte count, buffer = the bytes read
  connect = 2,  ///< id, ud = port or 0, inline text (peer ip, bound ip, "start", ...)
  close = 3,    ///< id; at most once per socket
  accept = 4,   ///< id = the listener, ud = the new socket's id, inline text "ip:port"
  error = 5,    ///< id, inline text
  udp = 6,      ///< id, ud = byte count, buffer = the datagram then the sender's address
  warning = 7,  ///< id, ud = KiB still queued (0: the backlog drained)
};

/// The fixed head of a socket message; inline text, if any, follows it.
struct socket_message {
  socket_event type;
  std::int32_t id;
  std::int32_t ud;
  void* buffer;  ///< malloc'd (data, udp) or null
};

/// Inline texts longer than this are cut (skynet's limit).
inline constexpr std::size_t socket_text_limit = 128;

/// A message body with `buffer` (owned from now on by the body) and no text.
[[nodiscard]] payload make_socket_message(socket_event type, std::int32_t id, std::int32_t ud,
                                          void* buffer) noexcept;
/// A message body with inline `text`, cut at socket_text_limit.
[[nodiscard]] payload make_socket_message(socket_event type, std::int32_t id, std::int32_t ud,
                                          std::string_view text);

/// The head of a body, or null when the body is too short to be one.
[[nodiscard]] const socket_message* read_socket_message(const void* data,
                                                        std::size_t size) noexcept;
/// The inline text after the head ("" when there is none).
[[nodiscard]] std::string_view socket_message_text(const void* data, std::size_t size) noexcept;

/// Frees the buffer of a PTYPE_SOCKET message that will never be handled; no-op for any other
/// message. Safe to call twice (it clears the pointer).
void release_socket_buffer(message& msg) noexcept;

}  // namespace starling
