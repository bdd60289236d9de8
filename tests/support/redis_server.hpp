#pragma once
// A throwaway redis-server for tests: a free loopback port, a fresh directory, no persistence.
// The constructor returns once the server answers PING and throws when it cannot start (a
// missing redis-server fails the test, it does not skip it). The destructor stops the server
// and removes the directory, also when the test failed.
//
//   testing::redis_server server;          // server.port()
//   server.kill();  server.start();        // a crash and a restart on the same port

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "fake_server.hpp"
#include "net/resp.hpp"
#include "temp_dir.hpp"

namespace starling::testing {

class redis_server {
 public:
  redis_server() : dir_("starling-redis") {
    // A port that was free may be taken before redis binds it: try a few.
    for (int attempt = 0; attempt < 5; ++attempt) {
      port_ = free_loopback_port();
      if (launch()) return;
    }
    throw std::runtime_error("redis-server did not start; see " + dir_.file("redis.log"));
  }
  redis_server(const redis_server&) = delete;
  redis_server& operator=(const redis_server&) = delete;
  ~redis_server() { stop(SIGTERM); }

  [[nodiscard]] int port() const noexcept { return port_; }

  /// Kills the server at once (SIGKILL): its clients see their connections drop.
  void kill() { stop(SIGKILL); }
  /// Starts it again on the same port (and the same empty data).
  void start() {
    if (!launch()) throw std::runtime_error("redis-server did not restart on its port");
  }

  /// One command from the test thread, on a connection of its own.
  resp::value command(const std::vector<std::string_view>& args) const {
    const int fd = connect_fd();
    if (fd < 0) throw std::runtime_error("cannot connect to redis-server");
    std::string request;
    resp::append_command(request, args);
    std::string unread;
    resp::parser parser;
    bool sent = ::send(fd, request.data(), request.size(), MSG_NOSIGNAL) ==
                static_cast<ssize_t>(request.size());
    while (sent) {
      std::size_t used = 0;
      const resp::parser::status s = parser.parse(unread, used);
      unread.erase(0, used);
      if (s == resp::parser::status::done) {
        ::close(fd);
        return parser.take();
      }
      char chunk[4096];
      const ssize_t n = s == resp::parser::status::failed ? -1 : ::recv(fd, chunk, sizeof chunk, 0);
      if (n <= 0) break;
      unread.append(chunk, static_cast<std::size_t>(n));
    }
    ::close(fd);
    throw std::runtime_error("redis-server did not answer");
  }

 private:
  int connect_fd() const {
    const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = htons(static_cast<std::uint16_t>(port_));
    if (fd >= 0 && ::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0) return fd;
    if (fd >= 0) ::close(fd);
    return -1;
  }

  bool answers_ping() const {
    try {
      return command({"PING"}).is("PONG");
    } catch (const std::runtime_error&) {
      return false;
    }
  }

  /// Forks redis-server and waits until it answers PING; false if it exited first.
  bool launch() {
    const std::string port = std::to_string(port_);
    const std::string dir = dir_.path();
    const std::string log = dir_.file("redis.log");
    pid_ = ::fork();
    if (pid_ < 0) throw std::runtime_error("fork failed");
    if (pid_ == 0) {
      const int out = ::open(log.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
      if (out >= 0) {
        ::dup2(out, STDOUT_FILENO);
        ::dup2(out, STDERR_FILENO);
      }
      ::execlp("redis-server", "redis-server", "--port", port.c_str(), "--bind", "127.0.0.1",
               "--save", "", "--appendonly", "no", "--dir", dir.c_str(), nullptr);
      ::_exit(127);  // not installed
    }
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
    while (std::chrono::steady_clock::now() < deadline) {
      int status = 0;
      if (::waitpid(pid_, &status, WNOHANG) == pid_) {
        pid_ = -1;
        if (WIFEXITED(status) && WEXITSTATUS(status) == 127) {
          throw std::runtime_error("redis-server is not installed (Debian: redis-server)");
        }
        return false;
      }
      if (answers_ping()) return true;
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    stop(SIGKILL);
    return false;
  }

  void stop(int signal) {
    if (pid_ <= 0) return;
    ::kill(pid_, signal);
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    int status = 0;
    while (::waitpid(pid_, &status, WNOHANG) == 0) {
      if (std::chrono::steady_clock::now() > deadline) {
        ::kill(pid_, SIGKILL);
        ::waitpid(pid_, &status, 0);
        break;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    pid_ = -1;
  }

  temp_dir dir_;
  int port_ = 0;
  pid_t pid_ = -1;
};

}  // namespace starling::testing
