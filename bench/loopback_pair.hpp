#pragma once
// What the kernel-ceiling programs (echo_ceiling, cluster_ceiling) share: a server process
// and a client process on one loopback listener.

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <csignal>
#include <cstdio>
#include <cstdlib>

#include "net/fd.hpp"

namespace starling::bench {

[[noreturn]] inline void fail(const char* what) {
  std::perror(what);
  std::exit(1);
}

inline void set_nodelay(int fd) {
  const int on = 1;
  ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &on, sizeof on);
}

/// Binds a loopback listener, forks a server process that runs `serve(listener)` (it must not
/// return) and runs `client(port)` here; the server is killed when the client is done.
template <class Serve, class Client>
double loopback_pair(Serve serve, Client client) {
  net::unique_fd listener(::socket(AF_INET, SOCK_STREAM, 0));
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t length = sizeof address;
  if (::bind(listener.get(), reinterpret_cast<sockaddr*>(&address), sizeof address) != 0 ||
      ::listen(listener.get(), 128) != 0 ||
      ::getsockname(listener.get(), reinterpret_cast<sockaddr*>(&address), &length) != 0) {
    fail("listen");
  }
  const pid_t server = ::fork();
  if (server < 0) fail("fork");
  if (server == 0) serve(listener.get());
  const double result = client(static_cast<int>(ntohs(address.sin_port)));
  ::kill(server, SIGKILL);
  ::waitpid(server, nullptr, 0);
  return result;
}

}  // namespace starling::bench
