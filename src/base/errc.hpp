#pragma once
// The failures that runtime operations report as values. docs/API.md quotes these sentences.

#include <string_view>

namespace starling {

enum class errc {
  /// The callee failed the request: it raised, exited or was killed with the request queued
  /// (skynet's "call failed").
  call_failed = 1,
  /// The destination does not exist: an unknown handle or an unregistered `.name`.
  invalid_address,
  /// The operation did not complete before its deadline.
  timeout,
  /// A waiting coroutine was woken early by `wakeup` (skynet's "BREAK").
  interrupted,
  /// The socket closed (by either end, or after an error) before the read could complete.
  socket_closed,
  /// The socket could not be opened: the connect was refused or failed, or listen failed.
  socket_failed,
  /// The channel was closed by its owner; it stays closed until `connect` reopens it.
  channel_closed,
  /// The peer sent bytes that break the protocol; the connection was closed.
  protocol_error,
};

/// The sentence for `code`, as quoted in the documentation.
[[nodiscard]] std::string_view describe(errc code) noexcept;

}  // namespace starling
