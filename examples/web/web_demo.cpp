// `web_demo [http_port [ws_port]]`: serves HTTP on 127.0.0.1:http_port (GET / says hello,
// any other path echoes the method, path and body) and a WebSocket echo on ws_port (default
// 8001 and 8002; 0 picks a free port). Logs the ports it bound.

#include "examples/web/web_demo.hpp"

#include <fmt/format.h>

#include <string>

namespace starling::examples {

namespace {

int port_arg(const std::vector<std::string>& args, std::size_t i, int fallback) {
  return args.size() > i ? std::stoi(args[i]) : fallback;
}

task<web::response> handle(const net::http::message& req) {
  if (req.target == "/") co_return web::response{200, {{"content-type", "text/plain"}}, "hello\n"};
  co_return web::response{
      200, {{"content-type", "text/plain"}}, req.method + " " + req.target + " " + req.body};
}

}  // namespace

task<> web_demo::start(std::vector<std::string> args) {
  auto h = co_await listen("127.0.0.1", port_arg(args, 0, 8001));
  auto w = co_await listen("127.0.0.1", port_arg(args, 1, 8002));
  if (!h || !w) {
    log("web_demo: listen failed");
    co_return;
  }
  log(fmt::format("web_demo: http on {}, websocket on {}", h->port, w->port));
  fork(accept_http(h->id));
  fork(accept_ws(w->id));
}

task<> web_demo::accept_http(socket_id listener) {
  for (;;) {
    auto c = co_await accept(listener);
    if (!c) co_return;
    fork(serve_http(c->id, handle));
  }
}

task<> web_demo::accept_ws(socket_id listener) {
  for (;;) {
    auto c = co_await accept(listener);
    if (!c) co_return;
    fork(echo(c->id));
  }
}

task<> web_demo::echo(socket_id id) {
  auto ws = co_await ws_accept(id);
  if (!ws) co_return;  // refused upgrade: answered and closed
  for (;;) {
    auto m = co_await ws->receive();
    if (!m) co_return;
    ws->send(m->data, m->binary);
  }
}

}  // namespace starling::examples
