// The socket server's memory bounds (docs/NET.md, "Limits"): the write limit, backpressure
// from the owner's and the sink's mailboxes, and the listen backlog.

#include <fmt/format.h>
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <functional>
#include <mutex>
#include <string>
#include <thread>

#include "net/socket_server.hpp"
#include "socket_fixture.hpp"

namespace starling::net {
namespace {

constexpr std::size_t write_limit = 3 << 20;

class write_limit_test : public socket_server_test {
 protected:
  write_limit_test() : socket_server_test({{"socket_write_limit", std::to_string(write_limit)}}) {}
};

TEST_F(write_limit_test, a_peer_that_never_reads_gets_its_socket_closed_at_the_limit) {
  auto [id, client] = connected_pair(4096);
  const std::string chunk(64 << 10, 'w');
  std::size_t accepted = 0;
  while (server->send(id, bytes_of(chunk))) {
    accepted += chunk.size();
    ASSERT_LT(accepted, std::size_t{64} << 20) << "the limit never struck";
  }
  // The kernel took some; the queue took the rest up to the limit, less one chunk at most.
  EXPECT_GT(accepted, write_limit - chunk.size());
  EXPECT_FALSE(server->send(id, bytes_of("x"))) << "every later write is refused";
  EXPECT_FALSE(server->send_lowpriority(id, bytes_of("x")));
  ASSERT_TRUE(eventually([&] { return events->first(socket_event::error, id).has_value(); }));
  EXPECT_EQ(events->first(socket_event::error, id)->text, "write buffer over socket_write_limit");
  const std::string line = fmt::format("socket-server: close socket {} (", id);
  EXPECT_TRUE(node->log->contains_prefix(line));
  for (const auto& l : node->log->lines()) {
    if (l.text.starts_with(line)) {
      EXPECT_TRUE(l.text.ends_with(fmt::format("would pass socket_write_limit ({})", write_limit)))
          << l.text;
    }
  }
  EXPECT_FALSE(info_of(id).has_value()) << "the socket is closed, its queue freed";
  // The warnings that came before are still there: 1 MiB, then 2 MiB.
  EXPECT_GE(events->count(socket_event::warning, id), 2U);
  EXPECT_EQ(events->count(socket_event::close, id), 0U) << "an ERROR, as for a failed read";
  const std::string got = read_to_end(client.get());
  EXPECT_LT(got.size(), accepted) << "what was queued was dropped";
}

TEST_F(write_limit_test, a_single_write_over_the_limit_is_refused_and_the_socket_closed) {
  auto [id, client] = connected_pair();
  EXPECT_FALSE(server->send(id, bytes_of(std::string(write_limit + 1, 'b'))));
  ASSERT_TRUE(eventually([&] { return events->first(socket_event::error, id).has_value(); }));
  EXPECT_EQ(read_to_end(client.get()), "") << "nothing of it was written";
}

TEST_F(write_limit_test, a_reader_keeps_the_socket_under_the_limit) {
  auto [id, client] = connected_pair();
  const std::string data = random_bytes(4 * write_limit, 7);
  // A failed ASSERT below leaves the reader to its stall limit, then joins it.
  std::jthread reader([&, fd = client.get()] { EXPECT_EQ(read_n(fd, data.size()), data); });
  const std::size_t chunk = 64 << 10;
  for (std::size_t at = 0; at < data.size(); at += chunk) {
    // Never more than the limit in flight: wait for the reader when the backlog is high.
    ASSERT_TRUE(eventually([&] {
      const auto line = info_of(id);
      return line && line->wbuffer + chunk <= write_limit;
    }));
    ASSERT_TRUE(server->send(id, bytes_of(std::string_view(data).substr(at, chunk))));
  }
  reader.join();
  EXPECT_FALSE(events->first(socket_event::error, id).has_value());
}

class no_write_limit_test : public socket_server_test {
 protected:
  no_write_limit_test() : socket_server_test({{"socket_write_limit", "0"}}) {}
};

TEST_F(no_write_limit_test, zero_turns_the_limit_off) {
  auto [id, client] = connected_pair(4096);
  const std::string data = random_bytes(8 << 20, 3);
  for (std::size_t at = 0; at < data.size(); at += 64 << 10)
    ASSERT_TRUE(server->send(id, bytes_of(std::string_view(data).substr(at, 64 << 10))));
  EXPECT_EQ(read_n(client.get(), data.size()), data);
}

// ---- backpressure ------------------------------------------------------------------------------

constexpr std::size_t pause_length = 8;

/// Holds a service inside its dispatch until the test lets it go, and lets it go when the test
/// ends, passed or not (a worker left waiting would keep the node from stopping). The flag is
/// shared with the service's hook, which may still be running after the test body.
class hold {
 public:
  hold() = default;
  hold(const hold&) = delete;
  hold& operator=(const hold&) = delete;
  ~hold() { release(); }
  void release() { *released_ = true; }
  /// What the hook calls: waits until released.
  [[nodiscard]] std::function<void()> waiter() const {
    return [released = released_] {
      while (!released->load())
        std::this_thread::sleep_for(std::chrono::milliseconds(1));
    };
  }

 private:
  std::shared_ptr<std::atomic<bool>> released_ = std::make_shared<std::atomic<bool>>(false);
};

/// A client writing `data` to `fd` from a thread of its own, as fast as the kernel takes it.
/// Going out of scope unfinished (a failed test) shuts the socket's write side, which ends a
/// write that waits for room.
class flood {
 public:
  flood(int fd, const std::string& data)
      : fd_(fd), thread_([this, &data] {
          std::string_view rest = data;
          while (!rest.empty()) {
            const ssize_t n = ::write(fd_, rest.data(), std::min<std::size_t>(rest.size(), 4096));
            if (n <= 0) return;
            rest.remove_prefix(static_cast<std::size_t>(n));
            written_.fetch_add(static_cast<std::size_t>(n));
          }
        }) {}
  flood(const flood&) = delete;
  flood& operator=(const flood&) = delete;
  ~flood() {
    if (!thread_.joinable()) return;
    ::shutdown(fd_, SHUT_WR);
    thread_.join();
  }
  void join() { thread_.join(); }
  /// What the kernel has taken so far.
  [[nodiscard]] std::size_t written() const { return written_.load(); }

 private:
  int fd_;
  std::atomic<std::size_t> written_{0};
  std::thread thread_;
};

class backpressure_test : public socket_server_test {
 protected:
  backpressure_test()
      : socket_server_test({{"socket_pause_mqlen", std::to_string(pause_length)}}) {}
};

TEST_F(backpressure_test, a_slow_owner_stops_the_reads_and_the_client_waits) {
  hold held;
  auto record = std::make_shared<event_record>();
  const handle_t slow = launch(record, [wait = held.waiter()](context&, const event& e) {
    if (e.type == socket_event::data) wait();
  });
  const auto [listener, port] = listen_on_loopback(slow, *record);
  server->start(slow, listener);
  unique_fd client = dial(port);
  ASSERT_TRUE(
      eventually([&] { return record->first(socket_event::accept, listener).has_value(); }));
  const std::int32_t id = record->first(socket_event::accept, listener)->ud;
  server->start(slow, id);

  const std::string data = random_bytes(16 << 20, 11);
  flood writer(client.get(), data);
  ASSERT_TRUE(eventually([&] {
    const auto line = info_of(id);
    return line && line->throttled;
  })) << "the owner's mailbox passed socket_pause_mqlen";
  EXPECT_LE(node->runtime->queue_length(slow).value_or(0), pause_length);
  EXPECT_LT(writer.written(), data.size()) << "the client is held back by TCP flow control";
  EXPECT_TRUE(info_of(id)->reading) << "reading is still wanted; the pause is the server's";

  held.release();
  writer.join();
  ASSERT_TRUE(eventually([&] { return record->data_size(id) == data.size(); }));
  EXPECT_EQ(record->data(id), data) << "nothing lost, nothing reordered";
  EXPECT_TRUE(eventually([&] { return !info_of(id)->throttled; }));
}

TEST_F(backpressure_test, a_slow_sink_stops_the_reads_of_the_socket_it_is_fed_from) {
  // The owner hands every read on to a sink (as a gate does to an agent); the sink is slow.
  hold held;
  struct sunk_bytes {
    std::mutex mutex;
    std::string bytes;
  };
  auto sunk = std::make_shared<sunk_bytes>();
  modules.add("sink", [wait = held.waiter(), sunk] {
    return std::make_unique<testing::lambda_service>(nullptr, [wait, sunk](context&, message& m) {
      wait();
      std::lock_guard lock(sunk->mutex);
      sunk->bytes.append(m.data.view());
    });
  });
  const handle_t sink = node->runtime->launch("sink", "");
  auto record = std::make_shared<event_record>();
  const handle_t gate = launch(record, [this, sink](context& self, const event& e) {
    if (e.type == socket_event::accept) {
      server->set_sink(e.ud, sink);
      server->start(self.handle(), e.ud);
    }
    if (e.type == socket_event::data) self.send(sink, ptype::client, 0, bytes_of(e.text));
  });
  const auto [listener, port] = listen_on_loopback(gate, *record);
  server->start(gate, listener);
  unique_fd client = dial(port);
  ASSERT_TRUE(
      eventually([&] { return record->first(socket_event::accept, listener).has_value(); }));
  const std::int32_t id = record->first(socket_event::accept, listener)->ud;

  const std::string data = random_bytes(16 << 20, 13);
  flood writer(client.get(), data);
  ASSERT_TRUE(eventually([&] {
    const auto line = info_of(id);
    return line && line->throttled;
  })) << "the sink's mailbox passed socket_pause_mqlen";
  ASSERT_TRUE(eventually([&] { return node->runtime->queue_length(gate) == 0U; }))
      << "the owner itself keeps up";
  // The owner's queue was under the threshold too, and what it held went on to the sink.
  EXPECT_LE(node->runtime->queue_length(sink).value_or(0), 2 * pause_length);
  EXPECT_LT(writer.written(), data.size());

  held.release();
  writer.join();
  ASSERT_TRUE(eventually([&] {
    std::lock_guard lock(sunk->mutex);
    return sunk->bytes.size() == data.size();
  }));
  std::lock_guard lock(sunk->mutex);
  EXPECT_EQ(sunk->bytes, data);
}

class no_backpressure_test : public socket_server_test {
 protected:
  no_backpressure_test() : socket_server_test({{"socket_pause_mqlen", "0"}}) {}
};

TEST_F(no_backpressure_test, zero_turns_backpressure_off) {
  hold held;
  auto record = std::make_shared<event_record>();
  const handle_t slow = launch(record, [wait = held.waiter()](context&, const event& e) {
    if (e.type == socket_event::data) wait();
  });
  const auto [listener, port] = listen_on_loopback(slow, *record);
  server->start(slow, listener);
  unique_fd client = dial(port);
  ASSERT_TRUE(
      eventually([&] { return record->first(socket_event::accept, listener).has_value(); }));
  const std::int32_t id = record->first(socket_event::accept, listener)->ud;
  server->start(slow, id);
  for (int i = 0; i < 64; ++i) {
    write_all(client.get(), std::string(1000, 'n'));
    ASSERT_TRUE(
        eventually([&] { return info_of(id)->read == static_cast<unsigned>(i + 1) * 1000U; }));
  }
  EXPECT_GE(node->runtime->queue_length(slow).value_or(0), 2 * pause_length);
  EXPECT_FALSE(info_of(id)->throttled);
}

// ---- listen backlog ----------------------------------------------------------------------------

TEST_F(socket_server_test, the_default_backlog_takes_a_thousand_connects_before_any_accept) {
  if (socket_server::system_backlog() < 1000) GTEST_SKIP() << "net.core.somaxconn < 1000";
  const std::int32_t listener = server->listen(owner, "127.0.0.1", 0, 0).value();
  ASSERT_TRUE(
      eventually([&] { return events->first(socket_event::connect, listener).has_value(); }));
  const int port = events->first(socket_event::connect, listener)->ud;
  // Not started: every handshake must complete in the kernel's accept queue. With skynet's
  // backlog of 32 the rest would wait for SYN retries, for ever since nobody accepts.
  std::vector<unique_fd> clients;
  for (int i = 0; i < 1000; ++i) {
    unique_fd fd(::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
    const socket_address a = loopback(AF_INET, port);
    ASSERT_TRUE(::connect(fd.get(), a.get(), a.length) == 0 || errno == EINPROGRESS);
    clients.push_back(std::move(fd));
  }
  std::size_t connected = 0;
  ASSERT_TRUE(eventually([&] {
    for (; connected < clients.size(); ++connected) {
      pollfd p{clients[connected].get(), POLLOUT, 0};
      if (::poll(&p, 1, 0) != 1) return false;
    }
    return true;
  })) << connected
      << " connected";
  server->start(owner, listener);
  EXPECT_TRUE(
      eventually([&] { return events->count(socket_event::accept, listener) == clients.size(); }));
}

TEST(socket_server_backlog, is_the_systems_maximum) {
  int expected = SOMAXCONN;
  if (std::FILE* f = std::fopen("/proc/sys/net/core/somaxconn", "r")) {
    if (std::fscanf(f, "%d", &expected) != 1) expected = SOMAXCONN;
    std::fclose(f);
  }
  EXPECT_EQ(socket_server::system_backlog(), expected);
}

}  // namespace
}  // namespace starling::net
