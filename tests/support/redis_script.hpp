#pragma once
// What the redis tests share: options for a server on a loopback port, and a reply as the text
// a script records.

#include <string>

#include "base/result.hpp"
#include "db/redis.hpp"
#include "net/resp.hpp"

namespace starling::testing {

inline db::redis_options redis_at(int port) {
  db::redis_options o;
  o.server = {"127.0.0.1", port};
  return o;
}

/// A reply (or the failure's sentence) as text, for the events of a script.
inline std::string show(const result<resp::value>& r) {
  return r ? resp::to_string(r.value()) : "error:" + std::string(describe(r.error()));
}

}  // namespace starling::testing
