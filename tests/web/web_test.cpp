// web::service over loopback: an HTTP server and a WebSocket echo in one native service, a
// client service using the web verbs and raw sockets for the bad inputs.

#include "web/web.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <string>
#include <vector>

#include "../support/test_services.hpp"
#include "net/socket_server.hpp"

namespace starling {
namespace {

using record = testing::scenario_record;

record* current = nullptr;
std::atomic<int> http_port{0};
std::atomic<int> ws_port{0};

void note(std::string e) {
  current->add(std::move(e));
}

class server final : public web::service {
 protected:
  task<> start(std::vector<std::string> args) override {
    (void)args;
    auto h = co_await listen("127.0.0.1", 0);
    auto w = co_await listen("127.0.0.1", 0);
    if (!h || !w) co_return;
    fork(accept_http(h->id));
    fork(accept_ws(w->id));
    ws_port = w->port;
    http_port = h->port;
  }

 private:
  task<> accept_http(socket_id listener) {
    web::server_options options;
    options.limits.body = 64;
    options.head_timeout = 300;  // ticks: long enough for a loaded machine
    for (;;) {
      auto c = co_await accept(listener);
      if (!c) co_return;
      fork(serve_http(
          c->id,
          [](const net::http::message& req) -> task<web::response> {
            co_return web::response{200, {{"x-method", req.method}}, req.target + " " + req.body};
          },
          options));
    }
  }

  task<> accept_ws(socket_id listener) {
    for (;;) {
      auto c = co_await accept(listener);
      if (!c) co_return;
      fork(echo(c->id));
    }
  }

  task<> echo(socket_id id) {
    auto ws = co_await ws_accept(id);
    if (!ws) {
      note("ws refused: " + ws.error().detail);
      co_return;
    }
    for (;;) {
      auto m = co_await ws->receive();
      if (!m) {
        note("ws server: " + m.error().detail);
        co_return;
      }
      ws->send("echo:" + m->data, m->binary);
    }
  }
};

class client final : public web::service {
 protected:
  task<> start(std::vector<std::string> args) override {
    (void)args;
    while (http_port == 0)
      (void)co_await sleep(1);
    co_await http_cases();
    co_await bad_http();
    co_await ws_cases();
    co_await bad_ws();
    current->finished = true;
  }

 private:
  // Raw bytes in, everything until the server closes out.
  task<std::string> raw(int port, std::string bytes) {
    auto id = co_await connect("127.0.0.1", port);
    if (!id) co_return "connect failed";
    write(*id, bytes);
    std::string all;
    for (;;) {
      auto piece = co_await read_some(*id);
      if (!piece) break;
      all += *piece;
    }
    close(*id);
    co_return all;
  }

  task<> http_cases() {
    auto r = co_await http_request("127.0.0.1", http_port, "GET", "/hello");
    note(r ? std::to_string(r->status) + " " + r->body + " " + std::string(*r->field("x-method"))
           : "get failed");
    r = co_await http_request("127.0.0.1", http_port, "POST", "/p", {}, "data");
    note(r ? r->body : "post failed");
    r = co_await http_request("127.0.0.1", http_port, "POST", "/big", {}, std::string(65, 'x'));
    note(r ? std::to_string(r->status) : "big failed");
    // two requests on one connection, the second asking to close
    const std::string two = co_await raw(
        http_port, "GET /a HTTP/1.1\r\n\r\nGET /b HTTP/1.1\r\nConnection: close\r\n\r\n");
    note(std::to_string(two.find("/a ") != std::string::npos) +
         std::to_string(two.find("/b ") != std::string::npos));
    auto spare = co_await listen("127.0.0.1", 0);  // a port nothing listens on once closed
    close(spare->id);
    auto refused = co_await http_request("127.0.0.1", spare->port, "GET", "/");
    note(refused ? "no error" : std::string(describe(refused.error().code)));
  }

  task<> bad_http() {
    const std::string big_head = co_await raw(http_port, "GET /" + std::string(9000, 'a'));
    note(big_head.substr(0, big_head.find("\r\n")));
    const std::string chunks =
        co_await raw(http_port, "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n");
    note(chunks.substr(0, chunks.find("\r\n")));
    // never finishes its head: closed after head_timeout, without an answer
    const std::string slow = co_await raw(http_port, "GET / HTTP/1.1\r\nHost: x\r\n");
    note("slow: [" + slow + "]");
  }

  task<> ws_cases() {
    auto ws = co_await ws_connect("127.0.0.1", ws_port, "/chat");
    if (!ws) {
      note("ws connect failed " + ws.error().detail);
      co_return;
    }
    ws->send("hi");
    auto m = co_await ws->receive();
    note(m ? m->data : "no echo");
    ws->send(std::string(100000, 'b'), true);
    m = co_await ws->receive();
    note(m ? std::to_string(m->data.size()) + (m->binary ? " binary" : " text") : "no echo");
    ws->close(4000, "bye");
  }

  task<> bad_ws() {
    const std::string upgrade =
        "GET / HTTP/1.1\r\nHost: h\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
        "Sec-WebSocket-Key: MDEyMzQ1Njc4OWFiY2RlZg==\r\nSec-WebSocket-Version: 13\r\n\r\n";
    // an unmasked frame from a client: close 1002
    std::string out = co_await raw(ws_port, upgrade + net::ws::encode(net::ws::text, "x"));
    note(out.substr(out.size() - 4) == std::string("\x88\x02\x03\xea", 4) ? "closed 1002"
                                                                          : "no close");
    // a header announcing a payload over the limit: close 1009
    out = co_await raw(ws_port,
                       upgrade + std::string("\x82\xff\x00\x00\x00\x00\x00\x04\x00\x01", 10));
    note(out.substr(out.size() - 4) == std::string("\x88\x02\x03\xf1", 4) ? "closed 1009"
                                                                          : "no close");
    out = co_await raw(ws_port, "POST / HTTP/1.1\r\n\r\n");
    note(out.substr(0, out.find("\r\n")));
  }
};

TEST(web, http_and_websocket_endpoints) {
  record result;
  current = &result;
  module_registry modules;
  register_actor<server>(modules, "web_server");
  register_actor<client>(modules, "web_client");
  {
    testing::node_fixture f(modules);
    f.runtime->attach(std::make_shared<net::socket_server>(*f.runtime));
    EXPECT_NE(f.runtime->launch("web_server", ""), 0U);
    EXPECT_NE(f.runtime->launch("web_client", ""), 0U);
    EXPECT_TRUE(testing::eventually([&] { return result.finished.load(); }));
  }
  current = nullptr;
  const std::vector<std::string> want = {
      "200 /hello  GET",
      "/p data",
      "413",
      "11",
      "socket failed",
      "HTTP/1.1 413 Request Entity Too Large",
      "HTTP/1.1 400 Bad Request",
      "slow: []",
      "echo:hi",
      "100005 binary",
      "ws server: close 4000 bye",
      "ws server: bad frame",
      "closed 1002",
      "ws server: frame too large",
      "closed 1009",
      "ws refused: need GET method",
      "HTTP/1.1 400 Bad Request",
  };
  EXPECT_EQ(result.get(), want);
}

}  // namespace
}  // namespace starling
