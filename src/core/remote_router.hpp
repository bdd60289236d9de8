#pragma once
// Where a node in harbor mode sends what is not for itself (docs/HARBOR.md): messages for a
// handle of another harbor and messages for a global name. The harbor service installs one
// (services/harbor); without it a remote handle gets the message dropped with an error reply,
// and global names live in the node (single-node mode).
//
// Thread contract: called from any thread that sends, concurrently; never blocks.

#include <cstdint>
#include <string_view>

#include "base/payload.hpp"
#include "core/handle.hpp"
#include "core/message.hpp"

namespace starling {

class remote_router {
 public:
  remote_router() = default;
  remote_router(const remote_router&) = delete;
  remote_router& operator=(const remote_router&) = delete;
  virtual ~remote_router() = default;

  /// A message for `dest`, a handle of another harbor; source and session travel unchanged.
  virtual void send_remote(handle_t source, handle_t dest, ptype type, std::int32_t session,
                           payload data) = 0;
  /// A message for the global name `name` (not starting with '.' or ':').
  virtual void send_global(handle_t source, std::string_view name, ptype type, std::int32_t session,
                           payload data) = 0;
};

}  // namespace starling
