#pragma once
// The cluster for native services: calls and sends to services on other nodes, the cluster
// name registry, proxies and listeners, through the node's Lua clusterd and clustersenders
// (docs/CLUSTER.md, "Native services"). A Lua node and a native service see the same
// behaviour and the same failures: a failed call is errc::call_failed, whatever the cause
// (the remote error text is logged by the sender, never returned).
//
//   starling::cluster::client cluster(*this);          // in a service, one per service
//   auto r = co_await cluster.call("db", "@sdb", "GET", "key");
//   co_await cluster.send("db", "@sdb", "SET", "key", "value");

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <variant>
#include <vector>

#include "actor/actor.hpp"

namespace starling::cluster {

/// A service on the remote node: its handle there, or "@name" (cluster.register), ".name"
/// (a local name there) or a numeric string.
using remote_address = std::variant<handle_t, std::string>;

/// One entry of a reload: a node's "host:port", or nullopt for a node that is down.
using node_entry = std::pair<std::string, std::optional<std::string>>;

class client {
 public:
  explicit client(actor& self) noexcept : self_(self) {}

  /// cluster.call: the remote service's reply. errc::call_failed for a remote error, an
  /// unknown name, a dropped connection or a node that is down, absent or unreachable.
  template <class... Values>
  // NOLINTNEXTLINE(performance-unnecessary-value-param): moved into the coroutine, which owns them
  task<result<reply>> call(std::string node, remote_address target, const Values&... values) {
    return call_packed(std::move(node), std::move(target), seri::pack(values...));
  }
  /// cluster.send: fire and forget. Fails only when the node has no sender (down, absent
  /// with __nowaiting, unreachable); what happens on the wire is only logged.
  template <class... Values>
  // NOLINTNEXTLINE(performance-unnecessary-value-param): moved into the coroutine, which owns them
  task<result<void>> send(std::string node, remote_address target, const Values&... values) {
    return send_packed(std::move(node), std::move(target), seri::pack(values...));
  }
  task<result<reply>> call_packed(std::string node, remote_address target, payload args);
  task<result<void>> send_packed(std::string node, remote_address target, payload args);

  /// cluster.query: the handle the remote node registered as `name`.
  task<result<handle_t>> query(std::string node, std::string name);
  /// cluster.register / unregister; `service` 0 names the calling service.
  task<result<void>> register_name(std::string name, handle_t service = 0);
  task<result<void>> unregister_name(std::string name);
  /// cluster.proxy: a local service that forwards lua calls and sends to the remote one.
  task<result<handle_t>> proxy(std::string node, remote_address target);
  /// cluster.open(port): listens on 0.0.0.0; the bound port (0 asks for a free one).
  task<result<int>> open(int port);
  /// cluster.open(name): listens on the node table's address for `node`.
  task<result<void>> open(std::string node);
  /// cluster.reload with a table: merges the entries into the node table.
  task<result<void>> reload(std::vector<node_entry> entries);

 private:
  task<result<handle_t>> clusterd();
  task<result<handle_t>> sender(const std::string& node);
  void forget_sender(const std::string& node);

  actor::delegate self_;
  handle_t clusterd_ = 0;
  std::unordered_map<std::string, handle_t> senders_;  // cached after a successful lookup
};

}  // namespace starling::cluster
