#pragma once
// HTTP/1.1 and WebSocket endpoints for native services, on the actor socket verbs
// (docs/WEB.md): a keep-alive server loop, a one-shot client request, and WebSocket
// connections from either side. The bytes are parsed by net/http_wire; every limit is checked
// and a peer that breaks one is answered (HTTP status, WebSocket close 1002/1009) and closed.

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "actor/actor.hpp"
#include "net/http_wire.hpp"

namespace starling::web {

template <class T>
using web_result = result<T, net::failure>;
using fields = std::vector<std::pair<std::string, std::string>>;

struct response {
  int status = 200;
  web::fields fields;
  std::string body;
};

/// Called once per request; what it returns is sent back.
using handler = std::function<task<response>(const net::http::message&)>;

struct server_options {
  net::http::limits limits{};
  /// A connection that has not sent a whole request head this many ticks after the previous
  /// answer (or its accept) is closed: slow or idle clients cannot hold it forever.
  std::int64_t head_timeout = 3000;
};

struct client_options {
  net::http::limits limits{8192, 16U << 20U};
  /// Ticks for the whole exchange, connect included (0: no limit): then errc::timeout.
  std::int64_t timeout = 0;
};

class service;

/// A WebSocket message: text or binary, fragments joined.
struct ws_message {
  std::string data;
  bool binary = false;
};

/// One WebSocket connection of a web::service (made by its ws_accept or ws_connect). receive()
/// answers pings itself; the peer's close frame ends the connection (errc::socket_closed,
/// `detail` "close <code> <reason>").
class websocket {
 public:
  static constexpr std::size_t default_limit = 262144;  ///< bytes per message, as skynet

  /// The next message. A frame over the limit closes with 1009, a malformed one (unmasked
  /// from a client, reserved opcode, bad control frame) with 1002: protocol_error.
  task<web_result<ws_message>> receive();
  /// Sends one message; false when the socket is gone.
  bool send(std::string_view data, bool binary = false);
  /// Sends a close frame and closes the socket.
  void close(std::uint16_t code = 1000, std::string_view reason = {});
  [[nodiscard]] std::int32_t id() const noexcept { return id_; }
  /// The request (server side) or response (client side) of the upgrade.
  [[nodiscard]] const net::http::message& upgrade() const noexcept { return upgrade_; }
  void set_limit(std::size_t bytes) noexcept { limit_ = bytes; }

 private:
  friend class service;
  websocket(service& self, std::int32_t id, bool client, net::http::message upgrade)
      : self_(&self), id_(id), client_(client), upgrade_(std::move(upgrade)) {}
  bool send_frame(std::uint8_t op, std::string_view payload);
  web_result<ws_message> fail(std::uint16_t code, errc why, std::string detail);

  service* self_;
  std::int32_t id_;
  bool client_;
  bool open_ = true;
  std::size_t limit_ = default_limit;
  net::http::message upgrade_;
  std::string buffer_;  // received bytes not yet decoded
};

/// An actor with HTTP and WebSocket verbs: a native service derives from it instead of actor.
class service : public actor {
 protected:
  /// Serves HTTP/1.1 requests on an accepted socket, keep-alive, until the peer closes, asks
  /// to close, breaks a limit (answered with 400/413/501/505 first) or times out; then
  /// closes it.
  task<> serve_http(socket_id id, handler h, server_options options = {});
  /// One request on a connection of its own (closed after the response). Failures:
  /// socket_failed (connect), socket_closed (the peer went away early), protocol_error (a bad
  /// response, `detail` says why), timeout.
  task<web_result<net::http::message>> http_request(std::string host, int port, std::string method,
                                                    std::string target,
                                                    web::fields request_fields = {},
                                                    std::string body = {},
                                                    client_options options = {});
  /// Reads the upgrade request on an accepted socket and answers it: 101, or an HTTP error
  /// (then the socket is closed and protocol_error returned).
  task<web_result<websocket>> ws_accept(socket_id id, server_options options = {});
  /// Connects and upgrades `path` on host:port.
  task<web_result<websocket>> ws_connect(std::string host, int port, std::string path = "/");

 private:
  friend class websocket;
  struct watch {
    bool armed = true;
    bool fired = false;
  };
  task<> watchdog(socket_id id, std::shared_ptr<watch> w, std::int64_t ticks);
  std::shared_ptr<watch> arm(socket_id id, std::int64_t ticks);
  void disarm(const std::shared_ptr<watch>& w);
  task<net::http::parser::state> read_message(socket_id id, net::http::parser& p);
};

}  // namespace starling::web
