#pragma once
// The links of a node in harbor mode (docs/HARBOR.md): one TCP link per other harbor, the
// messages queued until a link is up, the global-name table of the harbor service and the
// calls in flight on each link. It is the node's remote_router, so a send to another harbor
// is framed and written on the sender's own thread; the harbor service feeds it the socket
// events and the `.cslave` commands.
//
// Thread contract: send_remote / send_global from any thread; the on_* members only from the
// harbor service's dispatch. One mutex guards the link table and the names.

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "base/mutex.hpp"
#include "core/remote_router.hpp"
#include "net/harbor_wire.hpp"

namespace starling {

class node;
namespace net {
class socket_server;
}

class harbor_links final : public remote_router {
 public:
  /// `self`: the harbor service; `slave`: the `.cslave` it reports to; `id`: own harbor id.
  harbor_links(node& runtime, net::socket_server& sockets, handle_t self, handle_t slave,
               std::uint8_t id);

  void send_remote(handle_t source, handle_t dest, ptype type, std::int32_t session,
                   payload data) override;
  void send_global(handle_t source, std::string_view name, ptype type, std::int32_t session,
                   payload data) override;

  /// A PTYPE_HARBOR command of the cslave: `N name`, `S fd id`, `A fd id`.
  void on_command(handle_t source, std::string_view text);
  /// A PTYPE_SOCKET message for one of the links.
  void on_socket(message& msg);

 private:
  enum class link_state : std::uint8_t {
    unknown,       ///< never linked: messages queue
    handshake,     ///< the socket was handed over, the id bytes are not through yet: queue
    linked,        ///< frames are written at once
    down,          ///< a protocol error: messages are dropped with an error (as skynet)
    disconnected,  ///< the link closed: calls fail at once (skynet loses them silently)
  };
  struct remote {
    link_state state = link_state::unknown;
    std::int32_t fd = 0;
    bool connector = false;  ///< we write our id byte first and wait for the peer's
    std::vector<payload> queue;
    /// Calls sent on this link and not answered yet: (caller << 32 | session) -> callee.
    std::unordered_map<std::uint64_t, handle_t> pending;
    std::optional<net::harbor::link_reader> reader;
  };
  /// What a send under the lock leaves to do after it: errors to callers, log lines.
  struct after {
    std::vector<std::string> lines;
    struct error_reply {
      handle_t from;
      handle_t to;
      std::int32_t session;
    };
    std::vector<error_reply> errors;
  };

  void route(handle_t source, handle_t dest, ptype type, std::int32_t session, payload data);
  void link_up(remote& r) REQUIRES(mutex_);
  /// Ends a link: state `to` (down: a protocol error, so the socket is closed here), every
  /// call in flight or queued failed.
  void end_link(std::uint8_t id, link_state to, after& then) REQUIRES(mutex_);
  void take_socket(std::string_view args, bool connector);
  void deliver_frames(std::uint8_t id, std::int32_t fd, std::span<const std::byte> bytes);
  void finish(after& then);
  void tell_slave(const std::string& text);
  void log(std::string_view text);

  node& node_;
  net::socket_server& sockets_;
  const handle_t self_;
  const handle_t slave_;
  const std::uint8_t id_;

  mutex mutex_;
  std::array<remote, 256> remotes_ GUARDED_BY(mutex_);
  std::unordered_map<std::int32_t, std::uint8_t> fds_ GUARDED_BY(mutex_);
  std::unordered_map<std::string, handle_t> names_ GUARDED_BY(mutex_);
  struct parked {
    handle_t source;
    ptype type;
    std::int32_t session;
    payload data;
  };
  std::unordered_map<std::string, std::vector<parked>> parked_ GUARDED_BY(mutex_);
};

}  // namespace starling
