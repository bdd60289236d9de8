#pragma once
// net::failure: why a socket call failed, the error type of every socket call that can give a
// reason (result<T, net::failure>, docs/NET.md "Failures").

#include <string>

#include "base/errc.hpp"

namespace starling::net {

struct failure {
  /// errc::socket_failed (the socket could not be opened, a name did not resolve) or
  /// errc::socket_closed (it closed before a read or an accept could complete).
  errc code = errc::socket_failed;
  /// The system's or the resolver's text ("Connection refused", "Name or service not known"),
  /// or a sentence of ours; empty when there is nothing to add to `code`.
  std::string detail;

  friend bool operator==(const failure& f, errc wanted) noexcept { return f.code == wanted; }
};

}  // namespace starling::net
