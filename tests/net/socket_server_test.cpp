#include "net/socket_server.hpp"

#include <gtest/gtest.h>

#include "socket_fixture.hpp"

namespace starling::net {
namespace {

// ---- ids ---------------------------------------------------------------------------------------

TEST_F(socket_server_test, first_id_is_one_and_a_refused_connect_consumes_one) {
  const std::int32_t first = server->connect(owner, "127.0.0.1", closed_port()).value();
  EXPECT_EQ(first, 1);
  ASSERT_TRUE(eventually([&] { return events->first(socket_event::error, 1).has_value(); }));
  EXPECT_EQ(events->first(socket_event::error, 1)->text, "Connection refused");
  EXPECT_EQ(events->count(socket_event::connect, 1), 0U);
  const std::int32_t second = server->listen(owner, "127.0.0.1", 0, 32).value();
  EXPECT_EQ(second, 2) << "ids keep counting; the failed one is not reused";
  EXPECT_EQ(server->connect(owner, "127.0.0.1", closed_port()).value(), 3);
  EXPECT_FALSE(server->send(1, bytes_of("x"))) << "the refused socket is gone";
}

TEST_F(socket_server_test, connect_failures) {
  const auto too_long = server->connect(owner, std::string(300, 'h'), 80);
  ASSERT_FALSE(too_long);
  EXPECT_EQ(too_long.error().code, errc::socket_failed);
  EXPECT_EQ(too_long.error().detail, "host name too long");
  const std::int32_t id = server->connect(owner, "no-such-host.invalid", 80).value();
  ASSERT_GT(id, 0);
  ASSERT_TRUE(eventually([&] { return events->first(socket_event::error, id).has_value(); }));
  EXPECT_FALSE(events->first(socket_event::error, id)->text.empty()) << "the resolver's text";
  const auto unresolved = server->listen(owner, "no-such-host.invalid", 0, 32);
  ASSERT_FALSE(unresolved);
  EXPECT_EQ(unresolved.error().code, errc::socket_failed);
  EXPECT_FALSE(unresolved.error().detail.empty()) << "the resolver's text";
  const auto [taken, port] = listen_on_loopback(owner, *events);
  EXPECT_GT(taken, 0);
  const auto in_use = server->listen(owner, "127.0.0.1", port, 32);
  ASSERT_FALSE(in_use);
  EXPECT_EQ(in_use.error().detail, std::strerror(EADDRINUSE));
}

// ---- listen and accept ---------------------------------------------------------------------

TEST_F(socket_server_test, listen_reports_bound_ip_and_real_port) {
  const std::int32_t id = server->listen(owner, "127.0.0.1", 0, 32).value();
  ASSERT_EQ(id, 1);
  ASSERT_TRUE(eventually([&] { return events->first(socket_event::connect, id).has_value(); }));
  const event e = *events->first(socket_event::connect, id);
  EXPECT_EQ(e.text, "127.0.0.1");
  EXPECT_GT(e.ud, 0);
  unique_fd client = dial(e.ud);  // the kernel completes it: the port is real
  EXPECT_TRUE(client);
}

TEST_F(socket_server_test, nothing_is_accepted_before_start) {
  const auto [idle, idle_port] = listen_on_loopback(owner, *events);
  const auto [control, control_port] = listen_on_loopback(owner, *events);
  server->start(owner, control);
  unique_fd early = dial(idle_port);  // completes in the kernel's backlog
  unique_fd later = dial(control_port);
  ASSERT_TRUE(eventually([&] { return events->first(socket_event::accept, control).has_value(); }));
  EXPECT_EQ(events->count(socket_event::accept, idle), 0U);

  server->start(owner, idle);
  ASSERT_TRUE(eventually([&] { return events->first(socket_event::accept, idle).has_value(); }));
  const auto seen = events->of(idle);
  ASSERT_GE(seen.size(), 3U);
  EXPECT_EQ(seen[1].type, socket_event::connect);
  EXPECT_EQ(seen[1].text, "start");
  EXPECT_EQ(seen[2].type, socket_event::accept);
  EXPECT_EQ(seen[2].text, "127.0.0.1:" + std::to_string(local_port(early.get())));
  EXPECT_GT(seen[2].ud, control) << "ud is the new socket's id";
}

TEST_F(socket_server_test, accepted_socket_is_not_read_before_start) {
  const auto [listener, port] = listen_on_loopback(owner, *events);
  server->start(owner, listener);
  unique_fd client = dial(port);
  ASSERT_TRUE(
      eventually([&] { return events->first(socket_event::accept, listener).has_value(); }));
  const std::int32_t id = events->first(socket_event::accept, listener)->ud;
  write_all(client.get(), "early");
  // A second connection that is read shows the socket thread went past the first's bytes.
  auto [control, control_client] = connected_pair();
  write_all(control_client.get(), "ping");
  ASSERT_TRUE(eventually([&] { return events->data(control) == "ping"; }));
  EXPECT_TRUE(events->of(id).empty());

  server->start(owner, id);
  ASSERT_TRUE(eventually([&] { return events->data(id) == "early"; }));
  EXPECT_EQ(events->of(id).front().text, "start");
}

TEST_F(socket_server_test, send_to_an_accepted_socket_before_start_is_lost) {
  const auto [listener, port] = listen_on_loopback(owner, *events);
  server->start(owner, listener);
  unique_fd client = dial(port);
  ASSERT_TRUE(
      eventually([&] { return events->first(socket_event::accept, listener).has_value(); }));
  const std::int32_t id = events->first(socket_event::accept, listener)->ud;
  EXPECT_TRUE(server->send(id, bytes_of("lost"))) << "the caller cannot know";
  server->start(owner, id);
  ASSERT_TRUE(eventually([&] { return events->first(socket_event::connect, id).has_value(); }));
  EXPECT_TRUE(server->send(id, bytes_of("kept")));
  EXPECT_EQ(read_n(client.get(), 4), "kept");
}

// ---- reading and writing -----------------------------------------------------------------------

TEST_F(socket_server_test, echo_over_tcp) {
  auto echoed = std::make_shared<event_record>();
  const handle_t echo = launch_echo(echoed);
  const auto [listener, port] = listen_on_loopback(echo, *echoed);
  server->start(echo, listener);
  unique_fd client = dial(port);
  write_all(client.get(), "hello, socket thread");
  EXPECT_EQ(read_n(client.get(), 20), "hello, socket thread");
  write_all(client.get(), "again");
  EXPECT_EQ(read_n(client.get(), 5), "again");
}

TEST_F(socket_server_test, ipv6_echo) {
  auto echoed = std::make_shared<event_record>();
  const handle_t echo = launch_echo(echoed);
  const auto [listener, port] = listen_on_loopback(echo, *echoed, AF_INET6);
  EXPECT_EQ(echoed->first(socket_event::connect, listener)->text, "::1");
  server->start(echo, listener);
  unique_fd client = dial(port, AF_INET6);
  write_all(client.get(), "six");
  EXPECT_EQ(read_n(client.get(), 3), "six");
  ASSERT_TRUE(
      eventually([&] { return echoed->first(socket_event::accept, listener).has_value(); }));
  EXPECT_EQ(echoed->first(socket_event::accept, listener)->text,
            "::1:" + std::to_string(local_port(client.get())));
}

TEST_F(socket_server_test, large_transfers_arrive_intact_and_in_order) {
  auto [id, client] = connected_pair();
  // Peer to server: DATA chunks adapt in size; their concatenation is the stream.
  const std::string up = random_bytes(6 << 20, 1);
  std::thread writer([&, fd = client.get()] { write_all(fd, up); });
  ASSERT_TRUE(eventually([&] { return events->data_size(id) >= up.size(); }));
  writer.join();
  EXPECT_TRUE(events->data(id) == up);
  std::size_t largest = 0;
  for (const event& e : events->of(id)) {
    if (e.type == socket_event::data) largest = std::max(largest, e.text.size());
  }
  EXPECT_EQ(events->of(id)[1].text.size(), 64U) << "the first read asks for 64 bytes";
  EXPECT_GT(largest, 64U) << "full reads double the size";

  // Server to peer: many sends of odd sizes, direct and queued alike.
  const std::string down = random_bytes(5 << 20, 2);
  std::thread sender([&, id = id] {
    for (std::size_t at = 0, step = 1; at < down.size(); at += step, step = step * 3 % 70001 + 1)
      server->send(id, bytes_of(std::string_view(down).substr(at, step)));
  });
  const std::string got = read_n(client.get(), down.size());
  sender.join();
  EXPECT_TRUE(got == down) << got.size() << " of " << down.size();
}

TEST_F(socket_server_test, high_priority_buffers_overtake_queued_low_ones) {
  auto [id, client] = connected_pair(4096);
  const std::string big(24 << 20, 'B');  // more than the kernel buffers: the rest queues
  ASSERT_TRUE(server->send(id, bytes_of(big)));
  ASSERT_TRUE(eventually([&] {
    const auto line = info_of(id);
    return line && line->wbuffer > 0;
  }));
  EXPECT_TRUE(server->send_lowpriority(id, bytes_of("L1")));
  EXPECT_TRUE(server->send(id, bytes_of("H1")));
  EXPECT_TRUE(server->send_lowpriority(id, bytes_of("L2")));
  EXPECT_TRUE(server->send(id, bytes_of("H2")));
  const std::string got = read_n(client.get(), big.size() + 8);
  ASSERT_EQ(got.size(), big.size() + 8);
  EXPECT_EQ(got.substr(big.size()), "H1H2L1L2");
}

TEST_F(socket_server_test, data_sent_before_the_connect_completes_is_queued) {
  unique_fd listener(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  const socket_address any = loopback(AF_INET, 0);
  ASSERT_EQ(::bind(listener.get(), any.get(), any.length), 0);
  ASSERT_EQ(::listen(listener.get(), 8), 0);
  const std::int32_t id = server->connect(owner, "127.0.0.1", local_port(listener.get())).value();
  EXPECT_TRUE(server->send(id, bytes_of("before ")));
  EXPECT_TRUE(server->send_lowpriority(id, bytes_of("connect")));
  unique_fd peer(::accept(listener.get(), nullptr, nullptr));
  EXPECT_EQ(read_n(peer.get(), 14), "before connect");
  ASSERT_TRUE(eventually([&] { return events->first(socket_event::connect, id).has_value(); }));
  EXPECT_EQ(events->first(socket_event::connect, id)->text, "127.0.0.1");
  server->nodelay(id);
  EXPECT_TRUE(server->send(id, bytes_of("!")));
  EXPECT_EQ(read_n(peer.get(), 1), "!");
}

/// The fd of this process whose peer is the local end of `client` (the server's side of it).
int server_side_fd(int client) {
  const int client_port = local_port(client);
  for (int fd = 0; fd < 4096; ++fd) {
    socket_address peer;
    peer.length = sizeof peer.storage;
    if (fd == client || ::getpeername(fd, peer.get(), &peer.length) != 0) continue;
    if (port_of(peer) == client_port) return fd;
  }
  return -1;
}

bool nodelay_of(int fd) {
  int on = 0;
  socklen_t length = sizeof on;
  return ::getsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &on, &length) == 0 && on != 0;
}

TEST_F(socket_server_test, nodelay_turns_off_nagle_on_the_socket_itself) {
  auto [id, client] = connected_pair();
  const int fd = server_side_fd(client.get());
  ASSERT_GE(fd, 0);
  EXPECT_FALSE(nodelay_of(fd)) << "accepted sockets keep the kernel's default";
  server->nodelay(id);
  EXPECT_TRUE(eventually([&] { return nodelay_of(fd); }));
}

TEST_F(socket_server_test, write_backlog_warnings_double_then_report_the_drain) {
  auto [id, client] = connected_pair(4096);
  const std::string chunk(64 << 10, 'w');
  for (int i = 0; i < 96; ++i)  // 6 MiB
    ASSERT_TRUE(server->send(id, bytes_of(chunk)));
  ASSERT_TRUE(eventually([&] { return events->count(socket_event::warning, id) >= 2; }));
  EXPECT_EQ(read_n(client.get(), 96 * chunk.size()).size(), 96 * chunk.size());
  std::vector<std::int32_t> warnings;
  ASSERT_TRUE(eventually([&] {
    warnings.clear();
    for (const event& e : events->of(id)) {
      if (e.type == socket_event::warning) warnings.push_back(e.ud);
    }
    return !warnings.empty() && warnings.back() == 0;
  }));
  ASSERT_GE(warnings.size(), 3U);
  EXPECT_LT(warnings[0], 2048);
  EXPECT_LT(warnings[1], 4096);
  for (std::size_t i = 0; i + 1 < warnings.size(); ++i)
    EXPECT_GE(warnings[i], 1024 << i) << "first at 1 MiB, then each time the backlog doubles";
  EXPECT_EQ(std::count(warnings.begin(), warnings.end(), 0), 1);
}

// ---- closing ---------------------------------------------------------------------------------

TEST_F(socket_server_test, close_with_output_queued_sends_close_at_once_and_flushes) {
  auto [id, client] = connected_pair(4096);
  const std::string payload_bytes = random_bytes(8 << 20, 3);
  ASSERT_TRUE(server->send(id, bytes_of(payload_bytes)));
  ASSERT_TRUE(eventually([&] {
    const auto line = info_of(id);
    return line && line->wbuffer > 0;
  }));
  server->close(owner, id);
  ASSERT_TRUE(eventually([&] { return events->count(socket_event::close, id) == 1; }));
  EXPECT_FALSE(server->send(id, bytes_of("late"))) << "closing: refused";
  EXPECT_TRUE(server->send_lowpriority(id, bytes_of("late")))
      << "only the id is checked; the socket thread drops it";
  const std::string got = read_to_end(client.get());
  EXPECT_TRUE(got == payload_bytes) << got.size();
  ASSERT_TRUE(eventually([&] { return !info_of(id).has_value(); }));
  EXPECT_EQ(events->count(socket_event::close, id), 1U);
}

TEST_F(socket_server_test, shutdown_with_output_queued_drops_it) {
  auto [id, client] = connected_pair(4096);
  const std::string payload_bytes(8 << 20, 's');
  ASSERT_TRUE(server->send(id, bytes_of(payload_bytes)));
  ASSERT_TRUE(eventually([&] {
    const auto line = info_of(id);
    return line && line->wbuffer > 0;
  }));
  server->shutdown(owner, id);
  ASSERT_TRUE(eventually([&] { return events->count(socket_event::close, id) == 1; }));
  EXPECT_LT(read_to_end(client.get()).size(), payload_bytes.size());
  EXPECT_FALSE(server->send(id, bytes_of("x")));
}

TEST_F(socket_server_test, peer_eof_half_closes_and_keeps_the_slot_until_close) {
  auto [id, client] = connected_pair();
  write_all(client.get(), "bye");
  ::shutdown(client.get(), SHUT_WR);
  ASSERT_TRUE(eventually([&] { return events->count(socket_event::close, id) == 1; }));
  EXPECT_EQ(events->data(id), "bye");
  const auto line = info_of(id);
  ASSERT_TRUE(line) << "the slot is kept";
  EXPECT_EQ(line->type, socket_info::kind::closing);
  EXPECT_FALSE(line->reading);
  EXPECT_TRUE(server->send(id, bytes_of("still writable")));
  EXPECT_EQ(read_n(client.get(), 14), "still writable");
  server->start(owner, id);
  ASSERT_TRUE(eventually([&] { return events->first(socket_event::error, id).has_value(); }));
  EXPECT_EQ(events->first(socket_event::error, id)->text, "socket closed");

  server->close(owner, id);
  ASSERT_TRUE(eventually([&] { return !info_of(id).has_value(); }));
  EXPECT_EQ(read_to_end(client.get()), "");
  EXPECT_EQ(events->count(socket_event::close, id), 1U) << "CLOSE at most once";
  EXPECT_FALSE(server->send(id, bytes_of("x")));
}

TEST_F(socket_server_test, peer_reset_gives_error_then_one_close) {
  auto [id, client] = connected_pair();
  auto [other, other_client] = connected_pair();
  const linger abortive{1, 0};
  ::setsockopt(client.get(), SOL_SOCKET, SO_LINGER, &abortive, sizeof abortive);
  client.reset();
  ASSERT_TRUE(eventually([&] { return events->first(socket_event::error, id).has_value(); }));
  EXPECT_EQ(events->first(socket_event::error, id)->text, "Connection reset by peer");
  server->shutdown(owner, id);  // what skynet.socket does on ERROR
  ASSERT_TRUE(eventually([&] { return events->count(socket_event::close, id) == 1; }));
  // Only that connection paid: the other still works.
  write_all(other_client.get(), "fine");
  ASSERT_TRUE(eventually([&] { return events->data(other) == "fine"; }));
  ASSERT_TRUE(eventually([&] { return !info_of(id).has_value(); }));
  EXPECT_EQ(events->count(socket_event::close, id), 1U);
}

TEST_F(socket_server_test, close_of_an_idle_socket_closes_at_once) {
  auto [id, client] = connected_pair();
  server->close(owner, id);
  ASSERT_TRUE(eventually([&] { return events->count(socket_event::close, id) == 1; }));
  EXPECT_EQ(read_to_end(client.get()), "");
  server->close(owner, id);  // stale: ignored
  server->shutdown(owner, id);
  EXPECT_FALSE(info_of(id).has_value());
  EXPECT_EQ(events->count(socket_event::close, id), 1U);
}

/// Lowers the soft fd limit so that no new fd can be made; restores it on destruction.
class fd_limit {
 public:
  fd_limit() {
    ::getrlimit(RLIMIT_NOFILE, &saved_);
    // Every fd below the lowest free one is taken, so a limit there leaves no room at all.
    const int lowest_free = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
    ::close(lowest_free);
    rlimit tight = saved_;
    tight.rlim_cur = static_cast<rlim_t>(lowest_free);
    ::setrlimit(RLIMIT_NOFILE, &tight);
  }
  ~fd_limit() { ::setrlimit(RLIMIT_NOFILE, &saved_); }
  fd_limit(const fd_limit&) = delete;
  fd_limit& operator=(const fd_limit&) = delete;

 private:
  rlimit saved_{};
};

TEST_F(socket_server_test, out_of_fds_the_connection_is_dropped_and_the_listener_told) {
  const auto [listener, port] = listen_on_loopback(owner, *events);
  server->start(owner, listener);
  unique_fd client(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));  // made while we can
  {
    const fd_limit no_more_fds;
    const socket_address a = loopback(AF_INET, port);
    ASSERT_EQ(::connect(client.get(), a.get(), a.length), 0);
    ASSERT_TRUE(
        eventually([&] { return events->first(socket_event::error, listener).has_value(); }));
  }
  EXPECT_EQ(events->first(socket_event::error, listener)->text, "Too many open files");
  EXPECT_EQ(read_to_end(client.get()), "") << "accepted and closed at once";
  EXPECT_EQ(events->count(socket_event::accept, listener), 0U);
  unique_fd next = dial(port);
  ASSERT_TRUE(
      eventually([&] { return events->first(socket_event::accept, listener).has_value(); }));
}

// ---- stale ids and misuse ---------------------------------------------------------------------

TEST_F(socket_server_test, stale_and_unknown_ids_are_ignored) {
  auto [id, client] = connected_pair();
  server->close(owner, id);
  ASSERT_TRUE(eventually([&] { return events->count(socket_event::close, id) == 1; }));
  EXPECT_FALSE(server->send(id, bytes_of("x")));
  EXPECT_FALSE(server->send_lowpriority(id, bytes_of("x")));
  EXPECT_FALSE(server->send(12345, bytes_of("x")));
  EXPECT_FALSE(server->send(-1, bytes_of("x")));
  EXPECT_FALSE(
      server->udp_send(id, encode_udp_address(loopback(AF_INET, 9)).view(), bytes_of("x")));
  server->pause(owner, id);
  server->nodelay(id);
  server->start(owner, id + 65536);  // same slot, other id
  ASSERT_TRUE(
      eventually([&] { return events->first(socket_event::error, id + 65536).has_value(); }));
  EXPECT_EQ(events->first(socket_event::error, id + 65536)->text, "invalid socket");
  server->start(owner, 777);
  ASSERT_TRUE(eventually([&] { return events->first(socket_event::error, 777).has_value(); }));
  EXPECT_EQ(events->first(socket_event::error, 777)->text, "invalid socket");
  EXPECT_EQ(events->of(id).size(), 2U) << "CONNECT start and CLOSE, nothing after";
}

TEST_F(socket_server_test, write_to_a_listening_socket_logs) {
  const auto [listener, port] = listen_on_loopback(owner, *events);
  EXPECT_TRUE(server->send(listener, bytes_of("x")));
  const std::string line =
      "socket-server error: write to listen fd " + std::to_string(listener) + ".";
  EXPECT_TRUE(eventually([&] { return node->log->contains(line); }));
}

TEST_F(socket_server_test, pause_then_start_from_another_service_transfers) {
  auto [id, client] = connected_pair();
  server->pause(owner, id);
  auto adopted = std::make_shared<event_record>();
  const handle_t heir = launch(adopted);
  write_all(client.get(), "for the heir");
  server->start(heir, id);
  ASSERT_TRUE(eventually([&] { return adopted->data(id) == "for the heir"; }));
  EXPECT_EQ(adopted->of(id).front().text, "transfer");
  EXPECT_EQ(events->data(id), "");
  EXPECT_EQ(info_of(id)->owner, heir);
}

TEST_F(socket_server_test, a_thousand_connections_echo) {
  auto echoed = std::make_shared<event_record>();
  const handle_t echo = launch_echo(echoed);
  const auto [listener, port] = listen_on_loopback(echo, *echoed);
  server->start(echo, listener);
  std::vector<unique_fd> clients;
  for (int i = 0; i < 1000; ++i)
    clients.push_back(dial(port));
  for (std::size_t i = 0; i < clients.size(); ++i)
    write_all(clients[i].get(), "message " + std::to_string(i) + ";");
  for (std::size_t i = 0; i < clients.size(); ++i) {
    const std::string expected = "message " + std::to_string(i) + ";";
    ASSERT_EQ(read_n(clients[i].get(), expected.size()), expected);
  }
  EXPECT_EQ(echoed->count(socket_event::accept, listener), 1000U);
}

// ---- UDP -------------------------------------------------------------------------------------

/// A plain UDP socket on the loopback of `family`.
unique_fd udp_peer(int family) {
  unique_fd fd(::socket(family, SOCK_DGRAM | SOCK_CLOEXEC, 0));
  const socket_address a = loopback(family, 0);
  EXPECT_EQ(::bind(fd.get(), a.get(), a.length), 0);
  return fd;
}

std::pair<std::string, socket_address> receive_from(int fd) {
  pollfd p{fd, POLLIN, 0};
  if (::poll(&p, 1, io_limit_ms) != 1) return {"<nothing>", {}};
  char buffer[2048];
  socket_address from;
  from.length = sizeof from.storage;
  const ssize_t n = ::recvfrom(fd, buffer, sizeof buffer, 0, from.get(), &from.length);
  return {std::string(buffer, static_cast<std::size_t>(std::max<ssize_t>(n, 0))), from};
}

void send_to(int fd, std::string_view bytes, const socket_address& to) {
  ASSERT_EQ(::sendto(fd, bytes.data(), bytes.size(), 0, to.get(), to.length),
            static_cast<ssize_t>(bytes.size()));
}

class udp_round_trip : public socket_server_test, public ::testing::WithParamInterface<int> {};

TEST_P(udp_round_trip, dial_send_receive_and_reply_to_the_sender) {
  const int family = GetParam();
  unique_fd peer = udp_peer(family);
  const int peer_port = local_port(peer.get());
  const std::int32_t id =
      server->udp_dial(owner, family == AF_INET ? "127.0.0.1" : "::1", peer_port).value();
  ASSERT_GT(id, 0);
  ASSERT_TRUE(server->send(id, bytes_of("ping")));
  const auto [ping, ours] = receive_from(peer.get());
  EXPECT_EQ(ping, "ping");

  send_to(peer.get(), "pong", ours);
  ASSERT_TRUE(eventually([&] { return events->first(socket_event::udp, id).has_value(); }));
  const event pong = *events->first(socket_event::udp, id);
  EXPECT_EQ(pong.text, "pong");
  EXPECT_EQ(pong.ud, 4);
  EXPECT_EQ(pong.from.size(), family == AF_INET ? 7U : 19U);
  const auto from = socket_server::udp_address(std::as_bytes(std::span(pong.from)));
  ASSERT_TRUE(from);
  EXPECT_EQ(from->first, family == AF_INET ? "127.0.0.1" : "::1");
  EXPECT_EQ(from->second, peer_port);

  // Empty datagrams both ways.
  ASSERT_TRUE(server->udp_send(id, std::as_bytes(std::span(pong.from)), payload()));
  EXPECT_EQ(receive_from(peer.get()).first, "");
  send_to(peer.get(), "", ours);
  ASSERT_TRUE(eventually([&] { return events->count(socket_event::udp, id) == 2; }));
  EXPECT_EQ(events->of(id).back().ud, 0);
  EXPECT_EQ(events->of(id).back().text, "");

  ASSERT_TRUE(server->udp_send(id, std::as_bytes(std::span(pong.from)), bytes_of("to you")));
  EXPECT_EQ(receive_from(peer.get()).first, "to you");
  EXPECT_TRUE(events->of(id).front().type == socket_event::udp) << "no CONNECT for UDP";
}

INSTANTIATE_TEST_SUITE_P(families, udp_round_trip, ::testing::Values(AF_INET, AF_INET6),
                         [](const auto& family) { return family.param == AF_INET ? "v4" : "v6"; });

TEST_F(socket_server_test, udp_bound_socket_answers_with_sendto) {
  EXPECT_GT(server->udp(owner, "127.0.0.1", 0).value(), 0);
  unique_fd peer = udp_peer(AF_INET);
  const int listen_port = [] {
    unique_fd probe = udp_peer(AF_INET);
    return local_port(probe.get());
  }();
  const std::int32_t listener = server->udp_listen(owner, "127.0.0.1", listen_port).value();
  ASSERT_GT(listener, 0);
  send_to(peer.get(), "request", loopback(AF_INET, listen_port));
  ASSERT_TRUE(eventually([&] { return events->first(socket_event::udp, listener).has_value(); }));
  const event request = *events->first(socket_event::udp, listener);
  EXPECT_EQ(request.text, "request");
  ASSERT_TRUE(
      server->udp_send(listener, std::as_bytes(std::span(request.from)), bytes_of("reply")));
  const auto [reply, sender] = receive_from(peer.get());
  EXPECT_EQ(reply, "reply");
  EXPECT_EQ(port_of(sender), listen_port);
  const auto portless = server->udp_listen(owner, "127.0.0.1", 0);
  ASSERT_FALSE(portless);
  EXPECT_EQ(portless.error().detail, "a UDP listener needs a port");
}

TEST_F(socket_server_test, udp_connect_sets_the_default_destination) {
  const std::int32_t id = server->udp(owner, "", 0).value();
  ASSERT_GT(id, 0);
  unique_fd peer = udp_peer(AF_INET);
  EXPECT_EQ(info_of(id)->endpoint, "") << "no peer yet";
  EXPECT_TRUE(server->udp_connect(id, "127.0.0.1", local_port(peer.get())).has_value());
  ASSERT_TRUE(server->send(id, bytes_of("default")));
  EXPECT_EQ(receive_from(peer.get()).first, "default");
  const auto netstat = info_of(id);
  EXPECT_EQ(netstat->type, socket_info::kind::udp);
  EXPECT_EQ(netstat->endpoint, "127.0.0.1:" + std::to_string(local_port(peer.get())));
  EXPECT_EQ(netstat->write, 7U);
  const auto unresolved = server->udp_connect(id, "no-such-host.invalid", 1);
  ASSERT_FALSE(unresolved);
  EXPECT_FALSE(unresolved.error().detail.empty()) << "the resolver's text";

  EXPECT_TRUE(server->udp_connect(id, "::1", 9).has_value());
  ASSERT_TRUE(eventually([&] { return events->first(socket_event::error, id).has_value(); }));
  EXPECT_EQ(events->first(socket_event::error, id)->text, "protocol mismatch");

  const auto six = encode_udp_address(loopback(AF_INET6, 9));
  EXPECT_TRUE(server->udp_send(id, six.view(), bytes_of("x")));
  const std::string line = "socket-server : udp (" + std::to_string(id) + ") type mismatch.";
  EXPECT_TRUE(eventually([&] { return node->log->contains(line); }));
  EXPECT_FALSE(server->udp_send(id, std::span<const std::byte>(), bytes_of("x")))
      << "not an address blob";
}

TEST_F(socket_server_test, udp_address_decodes_only_7_or_19_bytes) {
  const auto blob = encode_udp_address(loopback(AF_INET, 4000));
  const auto decoded = socket_server::udp_address(blob.view());
  ASSERT_TRUE(decoded);
  EXPECT_EQ(decoded->first, "127.0.0.1");
  EXPECT_EQ(decoded->second, 4000);
  EXPECT_FALSE(socket_server::udp_address(blob.view().first(6)));
  EXPECT_FALSE(socket_server::udp_address({}));
}

// ---- bind, info, resolve, registry -----------------------------------------------------------

TEST_F(socket_server_test, bind_reads_a_pipe_and_never_closes_it) {
  int fds[2];
  ASSERT_EQ(::pipe2(fds, O_CLOEXEC), 0);
  unique_fd read_end(fds[0]);
  unique_fd write_end(fds[1]);
  const std::int32_t id = server->bind(owner, read_end.get()).value();
  ASSERT_TRUE(eventually([&] { return events->first(socket_event::connect, id).has_value(); }));
  EXPECT_EQ(events->first(socket_event::connect, id)->text, "binding");
  write_all(write_end.get(), "through the pipe");
  ASSERT_TRUE(eventually([&] { return events->data(id) == "through the pipe"; }));
  EXPECT_EQ(info_of(id)->type, socket_info::kind::bind);
  server->close(owner, id);
  ASSERT_TRUE(eventually([&] { return events->count(socket_event::close, id) == 1; }));
  EXPECT_NE(::fcntl(read_end.get(), F_GETFD), -1) << "the fd is still open";
}

TEST_F(socket_server_test, bind_of_a_file_epoll_refuses_reports_the_error_and_keeps_the_fd) {
  // epoll_ctl refuses regular files (EPERM): the id is freed and the owner told why.
  char path[] = "/tmp/starling-bind-XXXXXX";
  unique_fd file(::mkstemp(path));
  ASSERT_TRUE(file.valid());
  ::unlink(path);
  const std::int32_t id = server->bind(owner, file.get()).value();
  ASSERT_GT(id, 0);
  ASSERT_TRUE(eventually([&] { return events->first(socket_event::error, id).has_value(); }));
  EXPECT_EQ(events->first(socket_event::error, id)->text, std::strerror(EPERM));
  EXPECT_EQ(events->count(socket_event::connect, id), 0U);
  EXPECT_FALSE(info_of(id).has_value()) << "the slot is free again";
  EXPECT_NE(::fcntl(file.get(), F_GETFD), -1) << "a bound fd is never closed";
}

TEST_F(socket_server_test, a_failed_write_reports_the_error_then_the_hangup_closes_once) {
  // Output is queued (the client reads nothing) and reading is paused when the client resets
  // the connection: the flush meets the reset, not a read.
  auto [id, client] = connected_pair(4096);
  const int fd = server_side_fd(client.get());
  ASSERT_GE(fd, 0);
  const int small = 4096;  // so that a little output is left queued
  ::setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &small, sizeof small);
  server->pause(owner, id);
  const std::string chunk(64 << 10, 'q');
  for (int i = 0; i < 12 && info_of(id)->wbuffer == 0; ++i)  // below the 1 MiB warning
    ASSERT_TRUE(server->send(id, bytes_of(chunk)));
  ASSERT_GT(info_of(id)->wbuffer, 0U) << "output is queued";
  ASSERT_FALSE(info_of(id)->reading);
  const linger abortive{1, 0};
  ::setsockopt(client.get(), SOL_SOCKET, SO_LINGER, &abortive, sizeof abortive);
  client.reset();
  ASSERT_TRUE(eventually([&] { return events->count(socket_event::close, id) == 1; }));
  const std::vector<event> seen = events->of(id);
  ASSERT_EQ(seen.size(), 3U) << "CONNECT (start), ERROR, CLOSE";
  EXPECT_EQ(seen[1].type, socket_event::error);
  EXPECT_TRUE(seen[1].text == std::strerror(ECONNRESET) || seen[1].text == std::strerror(EPIPE))
      << seen[1].text;
  EXPECT_EQ(seen[2].type, socket_event::close);
  EXPECT_FALSE(info_of(id).has_value());
}

TEST_F(socket_server_test, info_describes_listeners_and_connections) {
  const std::int64_t before = node->runtime->now();
  const auto [listener, port] = listen_on_loopback(owner, *events);
  server->start(owner, listener);
  unique_fd client = dial(port);
  ASSERT_TRUE(
      eventually([&] { return events->first(socket_event::accept, listener).has_value(); }));
  const std::int32_t id = events->first(socket_event::accept, listener)->ud;
  server->start(owner, id);
  write_all(client.get(), "12345");
  ASSERT_TRUE(eventually([&] { return events->data(id) == "12345"; }));
  ASSERT_TRUE(server->send(id, bytes_of("abc")));
  EXPECT_EQ(read_n(client.get(), 3), "abc");

  const auto l = info_of(listener);
  ASSERT_TRUE(l);
  EXPECT_EQ(l->type, socket_info::kind::listen);
  EXPECT_EQ(l->owner, owner);
  EXPECT_EQ(l->read, 1U) << "connections accepted";
  EXPECT_EQ(l->endpoint, "127.0.0.1:" + std::to_string(port));
  EXPECT_GE(l->rtime, before);

  ASSERT_TRUE(eventually([&] { return info_of(id) && info_of(id)->write == 3; }));
  const auto c = info_of(id);
  EXPECT_EQ(c->type, socket_info::kind::tcp);
  EXPECT_EQ(c->read, 5U);
  EXPECT_EQ(c->wbuffer, 0U);
  EXPECT_TRUE(c->reading);
  EXPECT_FALSE(c->writing);
  EXPECT_GE(c->rtime, before);
  EXPECT_GE(c->wtime, before);
  EXPECT_LE(c->wtime, node->runtime->now());
  EXPECT_EQ(c->endpoint, "127.0.0.1:" + std::to_string(local_port(client.get())));

  const std::int32_t unstarted = server->listen(owner, "127.0.0.1", 0, 8).value();
  ASSERT_TRUE(
      eventually([&] { return events->first(socket_event::connect, unstarted).has_value(); }));
  EXPECT_FALSE(info_of(unstarted)) << "not listening before start";
}

TEST_F(socket_server_test, resolve_and_registry) {
  const auto ips = socket_server::resolve("localhost");
  ASSERT_TRUE(ips) << ips.error().detail;
  EXPECT_NE(std::find(ips->begin(), ips->end(), "127.0.0.1"), ips->end());
  const auto unresolved = socket_server::resolve("no-such-host.invalid");
  ASSERT_FALSE(unresolved);
  EXPECT_EQ(unresolved.error().code, errc::socket_failed);
  EXPECT_FALSE(unresolved.error().detail.empty());
  EXPECT_EQ(socket_server::of(*node->runtime), server.get());
}

TEST(socket_server_registry, forgets_a_destroyed_server) {
  module_registry modules;
  testing::node_fixture f(modules);
  {
    socket_server sockets(*f.runtime);
    EXPECT_EQ(socket_server::of(*f.runtime), &sockets);
  }
  EXPECT_EQ(socket_server::of(*f.runtime), nullptr);
}

TEST(socket_server_one_worker, echoes_and_answers_netstat_from_inside_a_dispatch) {
  // No socket thread: the only worker is also the only poller, and netstat from its own
  // dispatch must not wait for a poll that nobody else would run.
  module_registry modules;
  std::atomic<socket_server*> server{nullptr};
  std::atomic<std::size_t> lines_seen{0};
  modules.add("echo", [&] {
    return std::make_unique<testing::lambda_service>(nullptr, [&](context& self, message& msg) {
      if (msg.type != ptype::socket) return;
      const event e = decode(msg);
      if (e.type == socket_event::accept) server.load()->start(self.handle(), e.ud);
      if (e.type == socket_event::data) {
        lines_seen.store(server.load()->info().size());
        server.load()->send(e.id, bytes_of(e.text));
      }
    });
  });
  node_options options;
  options.threads = 1;
  testing::node_fixture f(modules, options);
  socket_server sockets(*f.runtime);
  server.store(&sockets);
  const handle_t echo = f.runtime->launch("echo", "");
  const std::int32_t listener = sockets.listen(echo, "127.0.0.1", 0, 8).value();
  sockets.start(echo, listener);
  const auto lines = sockets.info();
  ASSERT_EQ(lines.size(), 1U);
  const int port = std::stoi(lines[0].endpoint.substr(lines[0].endpoint.rfind(':') + 1));
  unique_fd client = dial(port);
  for (int i = 0; i < 100; ++i) {
    const std::string text = "ping " + std::to_string(i);
    write_all(client.get(), text);
    ASSERT_EQ(read_n(client.get(), text.size()), text);
  }
  EXPECT_EQ(lines_seen.load(), 2U) << "the listener and the connection";
  f.runtime->abort();
  f.runtime->wait();
}

TEST(socket_server_shutdown, undelivered_buffers_are_freed) {
  // Data arrives for a service that is gone, and the server dies with sockets and requests
  // pending: ASan's leak check is the assertion.
  module_registry modules;
  testing::node_fixture f(modules);
  socket_server sockets(*f.runtime);
  const std::int32_t listener = sockets.listen(12345, "127.0.0.1", 0, 8).value();
  sockets.start(12345, listener);
  const auto lines = sockets.info();
  ASSERT_EQ(lines.size(), 1U);
  const auto port = std::stoi(lines[0].endpoint.substr(lines[0].endpoint.rfind(':') + 1));
  unique_fd client = dial(port);
  write_all(client.get(), "nobody reads this");
  const std::int32_t accepted = listener + 1;  // its ACCEPT went nowhere
  ASSERT_TRUE(eventually([&] {
    sockets.start(12345, accepted);
    for (const auto& line : sockets.info()) {
      if (line.id == accepted) return line.read > 0;
    }
    return false;
  }));
  sockets.send_lowpriority(accepted, payload::copy_of(std::string(1 << 20, 'q')));
}

}  // namespace
}  // namespace starling::net
