// cluster_ceiling: what this machine's kernel allows for cluster_call's c128 load, with no
// runtime: two single-threaded processes on one loopback connection, a client keeping 128
// framed requests in flight and a server answering each with a frame of the same size. Both
// sides batch as well as they can (one write for all the frames a read completed), so a
// runtime that parses, dispatches and answers each request cannot beat these figures.
//
// Usage: cluster_ceiling [bytes per request] [seconds] [runs]; prints calls/s medians.

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "loopback_pair.hpp"
#include "net/fd.hpp"

namespace {

using starling::bench::fail;
using starling::bench::set_nodelay;
using starling::net::unique_fd;
using clock_type = std::chrono::steady_clock;

constexpr int in_flight = 128;

void write_all(int fd, const std::string& bytes) {
  std::size_t done = 0;
  while (done < bytes.size()) {
    const ssize_t n = ::write(fd, bytes.data() + done, bytes.size() - done);
    if (n <= 0) fail("write");
    done += static_cast<std::size_t>(n);
  }
}

/// Reads what is there and returns how many whole frames of `frame` bytes it completed, or -1
/// when the peer is gone.
long read_frames(int fd, std::vector<char>& buffer, std::size_t frame, std::size_t& partial) {
  const ssize_t got = ::read(fd, buffer.data(), buffer.size());
  if (got <= 0) return -1;
  partial += static_cast<std::size_t>(got);
  const long frames = static_cast<long>(partial / frame);
  partial %= frame;
  return frames;
}

[[noreturn]] void serve(int listener, std::size_t frame) {
  unique_fd conn(::accept(listener, nullptr, nullptr));
  if (!conn) fail("accept");
  set_nodelay(conn.get());
  std::vector<char> buffer(1 << 20);
  const std::string reply(frame, 'r');
  std::size_t partial = 0;
  for (;;) {
    const long frames = read_frames(conn.get(), buffer, frame, partial);
    if (frames < 0) std::_Exit(0);  // the client is done
    std::string out;
    for (long i = 0; i < frames; ++i)
      out += reply;
    if (!out.empty()) write_all(conn.get(), out);
  }
}

double run_client(int port, std::size_t frame, double seconds) {
  unique_fd s(::socket(AF_INET, SOCK_STREAM, 0));
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(static_cast<std::uint16_t>(port));
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(s.get(), reinterpret_cast<sockaddr*>(&address), sizeof address) != 0) {
    fail("connect");
  }
  set_nodelay(s.get());
  const std::string request(frame, 'q');
  std::string burst;
  for (int i = 0; i < in_flight; ++i)
    burst += request;
  write_all(s.get(), burst);
  std::vector<char> buffer(1 << 20);
  std::size_t partial = 0;
  long calls = 0;
  const auto start = clock_type::now();
  const auto end = start + std::chrono::duration<double>(seconds);
  while (clock_type::now() < end) {
    const long frames = read_frames(s.get(), buffer, frame, partial);
    if (frames < 0) fail("read");
    calls += frames;
    std::string out;
    for (long i = 0; i < frames; ++i)
      out += request;
    if (!out.empty()) write_all(s.get(), out);
  }
  return static_cast<double>(calls) /
         std::chrono::duration<double>(clock_type::now() - start).count();
}

double measure(std::size_t frame, double seconds) {
  return starling::bench::loopback_pair([&](int listener) { serve(listener, frame); },
                                        [&](int port) { return run_client(port, frame, seconds); });
}

}  // namespace

int main(int argc, char** argv) {
  // A cluster request of a 1 KiB string: 2-byte length, 9-byte header, the packed string.
  const std::size_t frame = argc > 1 ? static_cast<std::size_t>(std::atol(argv[1])) : 1040;
  const double seconds = argc > 2 ? std::atof(argv[2]) : 2.0;
  const int runs = argc > 3 ? std::max(1, std::atoi(argv[3])) : 5;
  std::vector<double> rates;
  for (int r = 0; r < runs; ++r)
    rates.push_back(measure(frame, seconds));
  std::sort(rates.begin(), rates.end());
  std::printf("cluster_ceiling c128 frame=%zu median=%.0f min=%.0f max=%.0f calls/s\n", frame,
              rates[rates.size() / 2], rates.front(), rates.back());
}
