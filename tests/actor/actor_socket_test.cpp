// The socket verbs of native actors over loopback: connect, listen / accept, read exactly n
// bytes, read a line, read what arrived, write, close, and the failures as errc values.

#include <gtest/gtest.h>

#include <atomic>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "../support/test_services.hpp"
#include "actor/actor.hpp"
#include "net/socket_server.hpp"

namespace starling {
namespace {

using record = testing::scenario_record;

record* current = nullptr;
std::atomic<int> server_port{0};  // the line server's, once bound

void note(std::string e) {
  current->add(std::move(e));
}

std::string describe_error(errc code) {
  return "error:" + std::string(describe(code));
}

/// Echoes lines; "bytes N" answers N bytes in several writes; "bye" closes first.
class line_server final : public actor {
 protected:
  task<> start(std::vector<std::string> args) override {
    (void)args;
    auto bound = co_await listen("127.0.0.1", 0);
    if (!bound) {
      note("listen failed");
      co_return;
    }
    note("bound " + bound->address);
    server_port = bound->port;
    for (;;) {
      auto client = co_await accept(bound->id);
      if (!client) co_return;
      note(client->peer.rfind("127.0.0.1:", 0) == 0 ? "accepted from 127.0.0.1" : client->peer);
      fork(serve(client->id));
    }
  }

 private:
  task<> serve(socket_id id) {
    for (;;) {
      auto line = co_await read_line(id);
      if (!line) {
        note("server: " + describe_error(line.error()));
        close(id);
        co_return;
      }
      if (*line == "bye") {
        write(id, std::string_view("partial"));
        close(id);
        co_return;
      }
      if (line->rfind("bytes ", 0) == 0) {
        const std::size_t n = std::stoul(line->substr(6));
        for (std::size_t sent = 0; sent < n; sent += 1000)
          write(id, std::string(std::min<std::size_t>(1000, n - sent), 'x'));
        continue;
      }
      write(id, *line + "\n");
    }
  }
};

class client final : public actor {
 protected:
  task<> start(std::vector<std::string> args) override {
    (void)args;
    while (server_port == 0)
      (void)co_await sleep(1);
    auto id = co_await connect("127.0.0.1", server_port);
    if (!id) {
      note("connect failed");
      current->finished = true;
      co_return;
    }
    write(*id, std::string_view("hello\nwor"));
    write(*id, std::string_view("ld\n"));
    note("line " + (co_await read_line(*id)).value());
    note("line " + (co_await read_line(*id)).value());
    write(*id, std::string_view("bytes 100000\n"));
    auto block = co_await read(*id, 100000);
    note("read " + std::to_string(block ? block->size() : 0));
    write(*id, std::string_view("bye\n"));
    auto more = co_await read(*id, 100);
    note("read(100) after the peer closed: " + describe_error(more.error()));
    note("read_some: " + (co_await read_some(*id)).value());
    auto after = co_await read_some(*id);
    note("read_some again: " + describe_error(after.error()));
    close(*id);

    // Nothing listens on the port of a listener we close at once.
    auto spare = co_await listen("127.0.0.1", 0);
    const int free_port = spare->port;
    close(spare->id);
    auto refused = co_await connect("127.0.0.1", free_port);
    note("refused: " + describe_error(refused.error()) + " " + last_socket_error());
    current->finished = true;
  }
};

std::vector<std::string> play() {
  record result;
  current = &result;
  server_port = 0;
  module_registry modules;
  register_actor<line_server>(modules, "line_server");
  register_actor<client>(modules, "client");
  {
    testing::node_fixture f(modules);
    f.runtime->attach(std::make_shared<net::socket_server>(*f.runtime));
    EXPECT_NE(f.runtime->launch("line_server", ""), 0U);
    EXPECT_NE(f.runtime->launch("client", ""), 0U);
    EXPECT_TRUE(testing::eventually([&] { return result.finished.load(); }));
  }
  current = nullptr;
  return result.get();
}

TEST(actor_socket, listen_accept_read_write_close) {
  const std::vector<std::string> events = play();
  const std::vector<std::string> expected = {
      "bound 127.0.0.1",
      "accepted from 127.0.0.1",
      "line hello",
      "line world",
      "read 100000",
      "read(100) after the peer closed: error:socket closed",
      "read_some: partial",
      "read_some again: error:socket closed",
      "refused: error:socket failed Connection refused",
  };
  std::vector<std::string> got;
  for (const std::string& e : events) {
    if (e.rfind("server: ", 0) != 0) got.push_back(e);
  }
  EXPECT_EQ(got, expected);
}

}  // namespace
}  // namespace starling
