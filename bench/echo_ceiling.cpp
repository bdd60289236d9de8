// echo_ceiling: what this machine's kernel allows for gate_echo's traffic, with no runtime.
//
// Two processes, like gate_echo's two nodes: an epoll echo server and an epoll client that
// keeps one 34-byte packet (2-byte length + 32 bytes) in flight per connection, over 1 and 64
// loopback TCP connections. Each process is one thread doing only epoll_wait, read and write,
// either sleeping in epoll_wait ("wait") or polling it without a timeout ("spin"). A runtime
// cannot beat these figures with the same system calls; docs/PERFORMANCE.md compares them.
//
// Usage: echo_ceiling [seconds per phase] [runs]; prints the median of the runs per case.

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <vector>

#include "loopback_pair.hpp"
#include "net/fd.hpp"

namespace {

using starling::bench::fail;
using starling::bench::set_nodelay;
using starling::net::unique_fd;
using clock_type = std::chrono::steady_clock;

constexpr std::array<char, 34> packet = [] {
  std::array<char, 34> p{};
  p[1] = 32;
  for (std::size_t i = 2; i < p.size(); ++i)
    p[i] = 'p';
  return p;
}();

void watch(int epoll, int fd) {
  epoll_event ev{};
  ev.events = EPOLLIN;
  ev.data.fd = fd;
  if (::epoll_ctl(epoll, EPOLL_CTL_ADD, fd, &ev) != 0) fail("epoll_ctl");
}

/// Echoes every byte back until killed.
[[noreturn]] void serve(int listener, int timeout_ms) {
  unique_fd epoll(::epoll_create1(0));
  watch(epoll.get(), listener);
  std::vector<unique_fd> conns;
  std::array<epoll_event, 64> events{};
  std::array<char, 4096> buffer{};
  for (;;) {
    const int n = ::epoll_wait(epoll.get(), events.data(), events.size(), timeout_ms);
    for (int i = 0; i < n; ++i) {
      const int fd = events[static_cast<std::size_t>(i)].data.fd;
      if (fd == listener) {
        unique_fd c(::accept(listener, nullptr, nullptr));
        if (!c) continue;
        set_nodelay(c.get());
        watch(epoll.get(), c.get());
        conns.push_back(std::move(c));
        continue;
      }
      const ssize_t got = ::read(fd, buffer.data(), buffer.size());
      if (got > 0 && ::write(fd, buffer.data(), static_cast<std::size_t>(got)) != got) {
        fail("write");
      }
    }
  }
}

/// Ping-pong on `conns` connections for `seconds`; echoed packets per second.
double run_client(int port, int conns, int timeout_ms, double seconds) {
  unique_fd epoll(::epoll_create1(0));
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(static_cast<std::uint16_t>(port));
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  std::vector<unique_fd> sockets;
  for (int i = 0; i < conns; ++i) {
    unique_fd s(::socket(AF_INET, SOCK_STREAM, 0));
    if (::connect(s.get(), reinterpret_cast<sockaddr*>(&address), sizeof address) != 0) {
      fail("connect");
    }
    set_nodelay(s.get());
    watch(epoll.get(), s.get());
    if (::write(s.get(), packet.data(), packet.size()) != static_cast<ssize_t>(packet.size())) {
      fail("write");
    }
    sockets.push_back(std::move(s));
  }
  std::array<epoll_event, 64> events{};
  std::array<char, 4096> buffer{};
  long echoed = 0;
  const auto start = clock_type::now();
  const auto end = start + std::chrono::duration<double>(seconds);
  while (clock_type::now() < end) {
    const int n = ::epoll_wait(epoll.get(), events.data(), events.size(), timeout_ms);
    for (int i = 0; i < n; ++i) {
      const int fd = events[static_cast<std::size_t>(i)].data.fd;
      const ssize_t got = ::read(fd, buffer.data(), buffer.size());
      if (got <= 0) fail("read");
      echoed += got / static_cast<ssize_t>(packet.size());
      if (::write(fd, packet.data(), packet.size()) != static_cast<ssize_t>(packet.size())) {
        fail("write");
      }
    }
  }
  return static_cast<double>(echoed) /
         std::chrono::duration<double>(clock_type::now() - start).count();
}

double measure(int conns, int timeout_ms, double seconds) {
  return starling::bench::loopback_pair(
      [&](int listener) { serve(listener, timeout_ms); },
      [&](int port) { return run_client(port, conns, timeout_ms, seconds); });
}

}  // namespace

int main(int argc, char** argv) {
  const double seconds = argc > 1 ? std::atof(argv[1]) : 2.0;
  const int runs = argc > 2 ? std::max(1, std::atoi(argv[2])) : 5;
  for (const int timeout_ms : {-1, 0}) {
    for (const int conns : {1, 64}) {
      std::vector<double> rates;
      for (int r = 0; r < runs; ++r)
        rates.push_back(measure(conns, timeout_ms, seconds));
      std::sort(rates.begin(), rates.end());
      std::printf("echo_ceiling %-4s conn%-2d median=%.0f min=%.0f max=%.0f msgs/s\n",
                  timeout_ms < 0 ? "wait" : "spin", conns, rates[rates.size() / 2], rates.front(),
                  rates.back());
    }
  }
}
