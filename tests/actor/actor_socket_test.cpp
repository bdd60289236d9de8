// The socket verbs of native actors over loopback: connect, listen / accept, read exactly n
// bytes, read a line, read what arrived, write, close, and the failures as errc values.

#include <gtest/gtest.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "../support/test_services.hpp"
#include "actor/actor.hpp"
#include "net/address.hpp"
#include "net/fd.hpp"
#include "net/socket_server.hpp"

namespace starling {
namespace {

using record = testing::scenario_record;

record* current = nullptr;
std::atomic<int> server_port{0};  // the line server's, once bound

void note(std::string e) {
  current->add(std::move(e));
}

std::string describe_error(const net::failure& why) {
  return "error:" + std::string(describe(why.code)) + (why.detail.empty() ? "" : " " + why.detail);
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
    auto taken = co_await listen("127.0.0.1", free_port);
    note("taken: " + describe_error(taken.error()));
    close(spare->id);
    auto refused = co_await connect("127.0.0.1", free_port);
    note("refused: " + describe_error(refused.error()));
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
      "taken: error:socket failed Address already in use",
      "refused: error:socket failed Connection refused",
  };
  std::vector<std::string> got;
  for (const std::string& e : events) {
    if (e.rfind("server: ", 0) != 0) got.push_back(e);
  }
  EXPECT_EQ(got, expected);
}

// ---- a service that does not read -------------------------------------------------------------

std::atomic<int> lazy_port{0};
std::atomic<std::int32_t> lazy_socket{0};
std::atomic<bool> lazy_go{false};
std::string lazy_expected;  // written before the service starts reading

/// Accepts one connection, leaves it unread until `lazy_go`, then reads all of it at once.
class lazy_reader final : public actor {
 protected:
  task<> start(std::vector<std::string> args) override {
    (void)args;
    auto bound = co_await listen("127.0.0.1", 0);
    lazy_port = bound->port;
    auto peer = co_await accept(bound->id);
    lazy_socket = peer->id;
    while (!lazy_go.load())
      (void)co_await sleep(1);
    auto all = co_await read(peer->id, lazy_expected.size());
    note(all && *all == lazy_expected ? "read all, intact" : "read failed or differs");
    current->finished = true;
  }
};

std::optional<net::socket_info> line_of(net::socket_server& sockets, std::int32_t id) {
  for (const net::socket_info& line : sockets.info()) {
    if (line.id == id) return line;
  }
  return std::nullopt;
}

TEST(actor_socket, an_unread_socket_stops_being_read_until_a_coroutine_waits) {
  record result;
  current = &result;
  lazy_port = 0;
  lazy_socket = 0;
  lazy_go = false;
  // Far more than the kernel's socket buffers hold (about 10 MiB on loopback at most), and
  // than the socket thread reads ahead before the service's pause reaches it (4.7 MiB seen
  // under TSan): so the client must block, whatever the machine's speed.
  lazy_expected.assign(32 << 20, '\0');
  for (std::size_t i = 0; i < lazy_expected.size(); ++i)
    lazy_expected[i] = static_cast<char>(i * 7 + i / 4096);
  module_registry modules;
  register_actor<lazy_reader>(modules, "lazy_reader");
  {
    testing::node_fixture f(modules);
    auto sockets = std::make_shared<net::socket_server>(*f.runtime);
    f.runtime->attach(sockets);
    ASSERT_NE(f.runtime->launch("lazy_reader", ""), 0U);
    ASSERT_TRUE(testing::eventually([&] { return lazy_port.load() != 0; }));
    net::unique_fd client(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
    const net::socket_address to =
        net::resolve_endpoint("127.0.0.1", lazy_port, SOCK_STREAM, false).value().front();
    ASSERT_EQ(::connect(client.get(), to.get(), to.length), 0);
    std::atomic<std::size_t> written{0};
    std::jthread writer([&] {
      std::string_view rest = lazy_expected;
      while (!rest.empty()) {
        const ssize_t n =
            ::write(client.get(), rest.data(), std::min<std::size_t>(rest.size(), 65536));
        if (n <= 0) return;
        rest.remove_prefix(static_cast<std::size_t>(n));
        written += static_cast<std::size_t>(n);
      }
    });
    // Destroyed before the writer is joined: even a failed test lets the service read it all.
    struct go_on_exit {
      ~go_on_exit() { lazy_go = true; }
    } go;
    ASSERT_TRUE(testing::eventually([&] {
      const auto line = lazy_socket ? line_of(*sockets, lazy_socket) : std::nullopt;
      return line && !line->reading;
    })) << "paused once the unread bytes passed the limit";
    const auto paused = line_of(*sockets, lazy_socket);
    EXPECT_LT(paused->read, std::uint64_t{16} << 20) << "what the service holds stays bounded";
    EXPECT_LT(written.load(), lazy_expected.size()) << "the client waits on TCP flow control";
    lazy_go = true;
    writer.join();
    EXPECT_TRUE(testing::eventually([&] { return result.finished.load(); }));
  }
  current = nullptr;
  EXPECT_EQ(result.get(), std::vector<std::string>{"read all, intact"});
}

}  // namespace
}  // namespace starling
