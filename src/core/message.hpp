#pragma once
// A message between services: (source, session, type, payload). The payload has one owner.

#include <cstdint>

#include "base/payload.hpp"
#include "core/handle.hpp"

namespace starling {

/// Message types (skynet's PTYPE_*); the values cross the wire and must not change.
enum class ptype : std::uint8_t {
  text = 0,
  response = 1,
  multicast = 2,
  client = 3,
  system = 4,
  harbor = 5,
  socket = 6,
  error = 7,
  queue = 8,
  debug = 9,
  lua = 10,
  snax = 11,
  trace = 12,
};

struct message {
  handle_t source = 0;
  /// 0: no reply expected. Requests carry the caller's session; replies echo it.
  std::int32_t session = 0;
  ptype type = ptype::text;
  payload data;
};

}  // namespace starling
