#include "web/web.hpp"

#include <algorithm>
#include <cctype>
#include <utility>

#include "crypt/crypt.hpp"

namespace starling::web {

namespace http = net::http;

namespace {

bool iequals(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) ==
                  std::tolower(static_cast<unsigned char>(y));
         });
}

bool has_token(std::string_view list, std::string_view token) {
  std::string lower(list);
  std::transform(lower.begin(), lower.end(), lower.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return lower.find(token) != std::string::npos;
}

net::failure protocol(std::string detail) {
  return {errc::protocol_error, std::move(detail)};
}

std::string host_field(const std::string& host, int port) {
  const bool v6 = host.find(':') != std::string::npos;
  return (v6 ? "[" + host + "]" : host) + ":" + std::to_string(port);
}

}  // namespace

// Closes the socket unless disarmed first: bounds how long a peer may take.
task<> service::watchdog(socket_id id, std::shared_ptr<watch> w, std::int64_t ticks) {
  const result<void> slept = co_await sleep(ticks, w.get());
  if (slept && w->armed) {
    w->fired = true;
    close(id);
  }
}

std::shared_ptr<service::watch> service::arm(socket_id id, std::int64_t ticks) {
  if (ticks <= 0) return nullptr;
  auto w = std::make_shared<watch>();
  fork(watchdog(id, w, ticks));
  return w;
}

void service::disarm(const std::shared_ptr<watch>& w) {
  if (!w) return;
  w->armed = false;
  wakeup(w.get());
}

// Reads until `p` has a whole message, fails, or the socket closes (then finish() decides).
task<http::parser::state> service::read_message(socket_id id, http::parser& p) {
  while (true) {
    const http::parser::state s = p.parse();
    if (s != http::parser::state::incomplete) co_return s;
    auto bytes = co_await read_some(id);
    if (!bytes) co_return p.finish();
    p.feed(*bytes);
  }
}

task<> service::serve_http(socket_id id, handler h, server_options options) {
  http::parser p(http::parser::kind::request, options.limits);
  while (true) {
    const auto w = arm(id, options.head_timeout);
    const http::parser::state s = co_await read_message(id, p);
    disarm(w);
    if (s == http::parser::state::failed) {
      if (!(w && w->fired)) {
        write(id, http::encode_response(p.status(), {{"connection", "close"}}, {}));
      }
      break;
    }
    http::message req = p.take();
    response r = co_await h(req);
    const bool keep = req.keep_alive();
    if (!keep) r.fields.emplace_back("connection", "close");
    if (!write(id, http::encode_response(r.status, r.fields, r.body)) || !keep) break;
  }
  close(id);
}

task<web_result<http::message>> service::http_request(std::string host, int port,
                                                      std::string method, std::string target,
                                                      web::fields request_fields, std::string body,
                                                      client_options options) {
  const auto w = options.timeout > 0 ? std::make_shared<watch>() : nullptr;
  auto connected = co_await connect(host, port);
  if (!connected) co_return std::move(connected).error();
  const socket_id id = *connected;
  if (w) fork(watchdog(id, w, options.timeout));
  request_fields.insert(request_fields.begin(), {"host", host_field(host, port)});
  request_fields.emplace_back("connection", "close");
  write(id, http::encode_request(method, target, request_fields, body));
  http::parser p(http::parser::kind::response, options.limits);
  if (iequals(method, "HEAD")) p.expect_no_body();
  const http::parser::state s = co_await read_message(id, p);
  disarm(w);
  close(id);
  if (w && w->fired) co_return net::failure{errc::timeout, "no response in time"};
  if (s == http::parser::state::failed) {
    co_return protocol("bad response (" + std::to_string(p.status()) + ")");
  }
  co_return p.take();
}

task<web_result<websocket>> service::ws_accept(socket_id id, server_options options) {
  http::parser p(http::parser::kind::request, options.limits);
  const auto w = arm(id, options.head_timeout);
  const http::parser::state s = co_await read_message(id, p);
  disarm(w);
  int status = s == http::parser::state::failed ? p.status() : 0;
  std::string why = "bad upgrade request";
  http::message req;
  if (status == 0) {
    req = p.take();
    const auto upgrade = req.field("upgrade");
    const auto connection = req.field("connection");
    const auto key = req.field("sec-websocket-key");
    if (req.method != "GET") {
      status = 400, why = "need GET method";
    } else if (!upgrade || !iequals(*upgrade, "websocket")) {
      status = 426, why = "Upgrade Required";
    } else if (!connection || !has_token(*connection, "upgrade")) {
      status = 400, why = "Connection must Upgrade";
    } else if (!key || crypt::base64decode(*key).size() != 16) {
      status = 400, why = "Sec-WebSocket-Key invalid";
    } else if (req.field("sec-websocket-version") != "13") {
      status = 400, why = "Sec-WebSocket-Version must 13";
    }
  }
  if (status != 0) {
    write(id, http::encode_response(status, {}, why));
    close(id);
    co_return protocol(why);
  }
  const std::string accept = net::ws::accept_key(*req.field("sec-websocket-key"));
  write(id,
        "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
        "Connection: Upgrade\r\nSec-WebSocket-Accept: " +
            accept + "\r\n\r\n");
  websocket ws(*this, id, false, std::move(req));
  // bytes that came with the request belong to the first frame
  ws.buffer_ = p.take_rest();
  co_return ws;
}

task<web_result<websocket>> service::ws_connect(std::string host, int port, std::string path) {
  auto connected = co_await connect(host, port);
  if (!connected) co_return std::move(connected).error();
  const socket_id id = *connected;
  const crypt::block8 a = crypt::randomkey();
  const crypt::block8 b = crypt::randomkey();
  const std::string key =
      crypt::base64encode(std::string(a.data(), a.size()) + std::string(b.data(), b.size()));
  write(id, "GET " + path + " HTTP/1.1\r\nHost: " + host_field(host, port) +
                "\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                "Sec-WebSocket-Key: " +
                key + "\r\nSec-WebSocket-Version: 13\r\n\r\n");
  http::parser p(http::parser::kind::response);
  p.expect_no_body();
  const http::parser::state s = co_await read_message(id, p);
  std::string why;
  http::message res;
  if (s == http::parser::state::failed) {
    why = "bad handshake response";
  } else {
    res = p.take();
    if (res.status != 101) {
      why = "handshake refused: " + std::to_string(res.status);
    } else if (res.field("sec-websocket-accept") != net::ws::accept_key(key)) {
      why = "invalid Sec-WebSocket-Accept";
    }
  }
  if (!why.empty()) {
    close(id);
    co_return protocol(why);
  }
  websocket ws(*this, id, true, std::move(res));
  ws.buffer_ = p.take_rest();
  co_return ws;
}

bool websocket::send_frame(std::uint8_t op, std::string_view payload) {
  if (!open_) return false;
  std::optional<std::uint32_t> mask;
  if (client_) {
    const crypt::block8 k = crypt::randomkey();
    std::uint32_t m = 0;
    for (std::size_t i = 0; i < 4; ++i)
      m = (m << 8U) | static_cast<std::uint8_t>(k[i]);
    mask = m;
  }
  return self_->write(id_, net::ws::encode(op, payload, mask));
}

bool websocket::send(std::string_view data, bool binary) {
  return send_frame(binary ? net::ws::binary : net::ws::text, data);
}

void websocket::close(std::uint16_t code, std::string_view reason) {
  if (!open_) return;
  std::string payload{static_cast<char>(code >> 8U), static_cast<char>(code & 0xffU)};
  payload.append(reason);
  send_frame(net::ws::close, payload);
  open_ = false;
  self_->close(id_);
}

web_result<ws_message> websocket::fail(std::uint16_t code, errc why, std::string detail) {
  close(code);
  return net::failure{why, std::move(detail)};
}

task<web_result<ws_message>> websocket::receive() {
  ws_message out;
  bool fragmented = false;
  while (open_) {
    net::ws::frame f;
    std::size_t used = 0;
    const net::ws::decoded d = net::ws::decode(buffer_, limit_, !client_, f, used);
    if (d == net::ws::decoded::too_large)
      co_return fail(1009, errc::protocol_error, "frame too large");
    if (d == net::ws::decoded::bad_frame) co_return fail(1002, errc::protocol_error, "bad frame");
    if (d == net::ws::decoded::incomplete) {
      auto bytes = co_await self_->read_some(id_);
      if (!bytes) {
        open_ = false;
        self_->close(id_);
        co_return std::move(bytes).error();
      }
      buffer_.append(*bytes);
      continue;
    }
    buffer_.erase(0, used);
    switch (f.op) {
      case net::ws::ping:
        send_frame(net::ws::pong, f.payload);
        break;
      case net::ws::pong:
        break;
      case net::ws::close: {
        std::string detail = "close";
        if (f.payload.size() >= 2) {
          const unsigned code =
              (static_cast<unsigned>(static_cast<std::uint8_t>(f.payload[0])) << 8U) |
              static_cast<std::uint8_t>(f.payload[1]);
          detail += " " + std::to_string(code) + " " + f.payload.substr(2);
        }
        close(1000);
        co_return net::failure{errc::socket_closed, detail};
      }
      default:
        if ((f.op == net::ws::continuation) != fragmented) {
          co_return fail(1002, errc::protocol_error, "bad fragment");
        }
        if (!fragmented) out.binary = f.op == net::ws::binary;
        if (f.payload.size() > limit_ - out.data.size()) {
          co_return fail(1009, errc::protocol_error, "message too large");
        }
        out.data.append(f.payload);
        fragmented = !f.fin;
        if (f.fin) co_return out;
    }
  }
  co_return net::failure{errc::socket_closed, {}};
}

}  // namespace starling::web
