#pragma once
// What the socket server tests share: a decoder and a recorder of socket events, a plain POSIX
// peer, and the fixture (a node, its socket server and a recording owner).

#include <arpa/inet.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <random>
#include <string>
#include <utility>
#include <vector>

#include "../support/test_services.hpp"
#include "core/socket_message.hpp"
#include "net/address.hpp"
#include "net/fd.hpp"
#include "net/socket_server.hpp"

namespace starling::net {

using testing::eventually;

// ---- what a socket owner receives --------------------------------------------------------

struct event {
  socket_event type;
  std::int32_t id;
  std::int32_t ud;
  std::string text;  ///< inline text, or the bytes of DATA / UDP
  std::string from;  ///< UDP: the sender's address blob
};

/// Decodes a PTYPE_SOCKET body, taking ownership of its buffer.
inline event decode(message& msg) {
  const socket_message* head = read_socket_message(msg.data.data(), msg.data.size());
  event e{head->type, head->id, head->ud, {}, {}};
  if (head->buffer == nullptr) {
    e.text = std::string(socket_message_text(msg.data.data(), msg.data.size()));
    return e;
  }
  const std::unique_ptr<char, decltype(&std::free)> buffer(static_cast<char*>(head->buffer),
                                                           &std::free);
  const auto size = static_cast<std::size_t>(head->ud);
  e.text.assign(buffer.get(), size);
  if (e.type == socket_event::udp) {
    e.from.assign(buffer.get() + size, udp_blob_size(static_cast<std::byte>(buffer.get()[size])));
  }
  return e;
}

class event_record {
 public:
  void add(event e) {
    std::lock_guard lock(mutex_);
    events_.push_back(std::move(e));
  }
  std::vector<event> of(std::int32_t id) const {
    std::lock_guard lock(mutex_);
    std::vector<event> out;
    for (const event& e : events_) {
      if (e.id == id) out.push_back(e);
    }
    return out;
  }
  std::size_t count(socket_event type, std::int32_t id) const {
    std::size_t n = 0;
    for (const event& e : of(id))
      n += e.type == type ? 1 : 0;
    return n;
  }
  std::optional<event> first(socket_event type, std::int32_t id) const {
    for (const event& e : of(id)) {
      if (e.type == type) return e;
    }
    return std::nullopt;
  }
  std::size_t data_size(std::int32_t id) const {
    std::lock_guard lock(mutex_);
    std::size_t n = 0;
    for (const event& e : events_) {
      if (e.id == id && e.type == socket_event::data) n += e.text.size();
    }
    return n;
  }
  /// Every DATA byte of `id`, in order.
  std::string data(std::int32_t id) const {
    std::string out;
    for (const event& e : of(id)) {
      if (e.type == socket_event::data) out += e.text;
    }
    return out;
  }

 private:
  mutable std::mutex mutex_;
  std::vector<event> events_;
};

// ---- a plain POSIX peer --------------------------------------------------------------------

inline constexpr int io_limit_ms = 20000;

inline socket_address loopback(int family, int port) {
  return resolve_endpoint(family == AF_INET ? "127.0.0.1" : "::1", port, SOCK_STREAM, false)
      .value()
      .front();
}

inline unique_fd dial(int port, int family = AF_INET, int receive_buffer = 0) {
  unique_fd fd(::socket(family, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (receive_buffer > 0) {
    ::setsockopt(fd.get(), SOL_SOCKET, SO_RCVBUF, &receive_buffer, sizeof receive_buffer);
  }
  const socket_address a = loopback(family, port);
  EXPECT_EQ(::connect(fd.get(), a.get(), a.length), 0) << std::strerror(errno);
  return fd;
}

inline void write_all(int fd, std::string_view bytes) {
  while (!bytes.empty()) {
    const ssize_t n = ::write(fd, bytes.data(), bytes.size());
    ASSERT_GT(n, 0) << std::strerror(errno);
    bytes.remove_prefix(static_cast<std::size_t>(n));
  }
}

/// Reads until `n` bytes, EOF or an error (an error or a stall ends it early).
inline std::string read_n(int fd, std::size_t n) {
  std::string out;
  std::vector<char> buffer(1 << 16);
  while (out.size() < n) {
    pollfd p{fd, POLLIN, 0};
    if (::poll(&p, 1, io_limit_ms) != 1) break;
    const ssize_t got = ::read(fd, buffer.data(), std::min(buffer.size(), n - out.size()));
    if (got <= 0) break;
    out.append(buffer.data(), static_cast<std::size_t>(got));
  }
  return out;
}

inline std::string read_to_end(int fd) {
  return read_n(fd, static_cast<std::size_t>(-1));
}

inline int local_port(int fd) {
  socket_address a;
  a.length = sizeof a.storage;
  ::getsockname(fd, a.get(), &a.length);
  return port_of(a);
}

/// A port nothing listens on (bound then released).
inline int closed_port() {
  unique_fd probe(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  const socket_address a = loopback(AF_INET, 0);
  ::bind(probe.get(), a.get(), a.length);
  return local_port(probe.get());
}

inline std::string random_bytes(std::size_t n, unsigned seed) {
  std::mt19937 gen(seed);
  std::string out(n, '\0');
  for (char& c : out)
    c = static_cast<char>(gen());
  return out;
}

inline payload bytes_of(std::string_view text) {
  return payload::copy_of(text);
}

// ---- the fixture: a node, its socket server and recording owners ---------------------------

class socket_server_test : public ::testing::Test {
 protected:
  using hook = std::function<void(context&, const event&)>;

  socket_server_test() : socket_server_test({}) {}
  /// `settings` go into the node's environment before the server reads its limits.
  explicit socket_server_test(const std::vector<std::pair<std::string, std::string>>& settings) {
    modules.add("sockets", [this] {
      return std::make_unique<testing::lambda_service>(
          nullptr,
          [record = pending_record_, on_event = pending_hook_](context& self, message& msg) {
            if (msg.type != ptype::socket) return;
            event e = decode(msg);
            if (on_event) on_event(self, e);
            record->add(std::move(e));
          });
    });
    node = std::make_unique<testing::node_fixture>(modules);
    for (const auto& [key, value] : settings)
      node->env.set(key, value);
    server = std::make_unique<socket_server>(*node->runtime);
    owner = launch(events);
  }
  ~socket_server_test() override {
    // Workers may still be calling the server: stop them before it goes.
    node->runtime->abort();
    node->runtime->wait();
    server.reset();
  }

  /// A service recording its socket events into `record`, after calling `on_event`.
  handle_t launch(std::shared_ptr<event_record> record, hook on_event = {}) {
    pending_record_ = std::move(record);
    pending_hook_ = std::move(on_event);
    return node->runtime->launch("sockets", "");
  }

  /// An echo service: starts what it accepts and sends back what it reads.
  handle_t launch_echo(std::shared_ptr<event_record> record) {
    return launch(std::move(record), [this](context& self, const event& e) {
      if (e.type == socket_event::accept) server->start(self.handle(), e.ud);
      if (e.type == socket_event::data) server->send(e.id, bytes_of(e.text));
    });
  }

  /// Listens on 127.0.0.1 (any port) for `who`; returns (id, port) once CONNECT came.
  std::pair<std::int32_t, int> listen_on_loopback(handle_t who, const event_record& record,
                                                  int family = AF_INET) {
    const std::int32_t id =
        server->listen(who, family == AF_INET ? "127.0.0.1" : "::1", 0, 1024).value();
    EXPECT_GT(id, 0);
    EXPECT_TRUE(eventually([&] { return record.first(socket_event::connect, id).has_value(); }));
    return {id, record.first(socket_event::connect, id)->ud};
  }

  /// An accepted, started connection: (server-side id, client fd).
  std::pair<std::int32_t, unique_fd> connected_pair(int receive_buffer = 0) {
    const auto [listener, port] = listen_on_loopback(owner, *events);
    server->start(owner, listener);
    unique_fd client = dial(port, AF_INET, receive_buffer);
    EXPECT_TRUE(
        eventually([&] { return events->first(socket_event::accept, listener).has_value(); }));
    const std::int32_t id = events->first(socket_event::accept, listener)->ud;
    server->start(owner, id);
    EXPECT_TRUE(eventually([&] { return events->first(socket_event::connect, id).has_value(); }));
    server->close(owner, listener);
    return {id, std::move(client)};
  }

  std::optional<socket_info> info_of(std::int32_t id) const {
    for (const socket_info& line : server->info()) {
      if (line.id == id) return line;
    }
    return std::nullopt;
  }

  module_registry modules;
  std::unique_ptr<testing::node_fixture> node;
  std::unique_ptr<socket_server> server;
  std::shared_ptr<event_record> events = std::make_shared<event_record>();
  handle_t owner = 0;

 private:
  std::shared_ptr<event_record> pending_record_;
  hook pending_hook_;
};

}  // namespace starling::net
