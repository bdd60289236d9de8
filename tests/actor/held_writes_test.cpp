// Writes held for the rest of a service's turn (core/dispatch_turn.hpp, net/socket_server.cpp):
// a service that answers a burst of queued messages with small writes, large writes and a close
// between them. Whatever is held, the peer must read every byte in the order written, and the
// close must come after them.

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <memory>
#include <string>
#include <vector>

#include "../support/test_services.hpp"
#include "actor/actor.hpp"
#include "net/fd.hpp"
#include "net/socket_server.hpp"

namespace starling {
namespace {

std::atomic<int> listen_port{0};
std::atomic<bool> accepted{false};

// The bytes of write number `n`: small ones are held, every 97th is too large to be.
std::string chunk(int n) {
  const std::size_t size = n % 97 == 0 ? 10000 : 1 + static_cast<std::size_t>(n % 50);
  return std::string(size, static_cast<char>('a' + n % 26));
}

/// Accepts one connection; then each ("write", n) writes chunk(n) and ("close") closes.
class writer final : public actor {
 protected:
  task<> start(std::vector<std::string> args) override {
    (void)args;
    auto bound = co_await listen("127.0.0.1", 0);
    listen_port = bound->port;
    auto peer = co_await accept(bound->id);
    id_ = peer->id;
    accepted = true;
  }
  task<> on_request(request req) override {
    seri::reader args = req.reader();
    const std::string command(args.read_string());
    if (command == "write") {
      write(id_, chunk(static_cast<int>(args.read_integer())));
    } else if (command == "close") {
      close(id_);
    }
    co_return;
  }

 private:
  socket_id id_ = 0;
};

TEST(held_writes, a_burst_of_writes_and_a_close_arrive_whole_and_in_order) {
  listen_port = 0;
  accepted = false;
  module_registry modules;
  register_actor<writer>(modules, "writer");
  testing::node_fixture f(modules);
  f.runtime->attach(std::make_shared<net::socket_server>(*f.runtime));
  const handle_t w = f.runtime->launch("writer", "");
  ASSERT_NE(w, 0U);
  ASSERT_TRUE(testing::eventually([] { return listen_port.load() != 0; }));

  net::unique_fd fd(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<std::uint16_t>(listen_port.load()));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(::connect(fd.get(), reinterpret_cast<const sockaddr*>(&addr), sizeof addr), 0);
  ASSERT_TRUE(testing::eventually([] { return accepted.load(); }));

  constexpr int writes = 3000;
  std::string expected;
  for (int n = 0; n < writes; ++n) {
    expected += chunk(n);
    ASSERT_TRUE(f.runtime->send(0, w, ptype::lua, 0, seri::pack("write", n)));
  }
  ASSERT_TRUE(f.runtime->send(0, w, ptype::lua, 0, seri::pack("close")));

  std::string got;
  char buffer[65536];
  for (;;) {
    const ssize_t n = ::read(fd.get(), buffer, sizeof buffer);
    if (n <= 0) break;
    got.append(buffer, static_cast<std::size_t>(n));
  }
  EXPECT_EQ(got.size(), expected.size());
  EXPECT_TRUE(got == expected) << "the bytes differ or came out of order";
}

}  // namespace
}  // namespace starling
