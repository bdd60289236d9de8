#pragma once
// A TCP server on loopback for client tests, on plain blocking sockets and threads of its own,
// independent of the runtime under test. Each accepted connection runs the test's handler on
// its own thread; the handler misbehaves at will (garbage, cut replies, silence, early close).
// Destruction stops everything: blocked reads return, threads are joined.

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "net/resp.hpp"

namespace starling::testing {

/// A loopback port that was free a moment ago (bound to 0, then released).
inline int free_loopback_port() {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof addr;
  if (fd < 0 || ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
    if (fd >= 0) ::close(fd);
    throw std::runtime_error("no free loopback port");
  }
  ::close(fd);
  return ntohs(addr.sin_port);
}

class fake_server {
 public:
  /// One accepted connection, as its handler sees it.
  class connection {
   public:
    connection(int fd, int number) : fd_(fd), number_(number) {}
    connection(const connection&) = delete;
    connection& operator=(const connection&) = delete;
    ~connection() { close(); }

    /// 1 for the first connection the server accepted, 2 for the next...
    [[nodiscard]] int number() const noexcept { return number_; }
    /// A line without its "\n" (and "\r"); nullopt when the peer closed first.
    std::optional<std::string> read_line() {
      for (;;) {
        if (const std::size_t at = unread_.find('\n'); at != std::string::npos) {
          std::string line = unread_.substr(0, at);
          unread_.erase(0, at + 1);
          if (!line.empty() && line.back() == '\r') line.pop_back();
          return line;
        }
        if (!fill()) return std::nullopt;
      }
    }
    /// Exactly n bytes; nullopt when the peer closed first.
    std::optional<std::string> read_exact(std::size_t n) {
      while (unread_.size() < n) {
        if (!fill()) return std::nullopt;
      }
      std::string out = unread_.substr(0, n);
      unread_.erase(0, n);
      return out;
    }
    /// One RESP command (an array of bulk strings); nullopt at close or on bad bytes.
    std::optional<std::vector<std::string>> read_command() {
      resp::parser parser;
      for (;;) {
        std::size_t used = 0;
        const resp::parser::status s = parser.parse(unread_, used);
        unread_.erase(0, used);
        if (s == resp::parser::status::failed) return std::nullopt;
        if (s == resp::parser::status::done) {
          std::vector<std::string> args;
          for (resp::value& v : parser.take().elements)
            args.push_back(std::move(v.text));
          return args;
        }
        if (!fill()) return std::nullopt;
      }
    }
    /// Waits until the peer closes; true if it did (false: the server is stopping).
    bool wait_closed() {
      while (fill()) {
      }
      return !stopping_;
    }
    bool write(std::string_view bytes) {
      while (!bytes.empty()) {
        const ssize_t n = ::send(fd_, bytes.data(), bytes.size(), MSG_NOSIGNAL);
        if (n <= 0) return false;
        bytes.remove_prefix(static_cast<std::size_t>(n));
      }
      return true;
    }
    /// Closes now (the client sees the close at once).
    void close() {
      std::lock_guard lock(mutex_);
      if (const int fd = fd_.exchange(-1); fd >= 0) ::close(fd);
    }
    /// Unblocks a read in progress (the server stops).
    void interrupt() {
      std::lock_guard lock(mutex_);
      stopping_ = true;
      if (fd_ >= 0) ::shutdown(fd_, SHUT_RDWR);
    }

   private:
    bool fill() {
      char chunk[65536];
      const int fd = fd_;
      if (fd < 0) return false;
      const ssize_t n = ::recv(fd, chunk, sizeof chunk, 0);
      if (n <= 0) return false;
      unread_.append(chunk, static_cast<std::size_t>(n));
      return true;
    }

    std::mutex mutex_;
    std::atomic<int> fd_;
    int number_;
    std::atomic<bool> stopping_{false};
    std::string unread_;
  };

  using handler = std::function<void(connection&)>;

  /// Listens on 127.0.0.1:`port` (0: any free port) and serves every connection with `serve`.
  explicit fake_server(handler serve, int port = 0) : serve_(std::move(serve)) {
    listener_ = ::socket(AF_INET, SOCK_STREAM, 0);
    const int on = 1;
    ::setsockopt(listener_, SOL_SOCKET, SO_REUSEADDR, &on, sizeof on);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = htons(static_cast<std::uint16_t>(port));
    socklen_t len = sizeof addr;
    if (::bind(listener_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
        ::listen(listener_, 64) != 0 ||
        ::getsockname(listener_, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
      ::close(listener_);
      throw std::runtime_error("fake_server: cannot listen");
    }
    port_ = ntohs(addr.sin_port);
    acceptor_ = std::thread([this] { accept_loop(); });
  }
  fake_server(const fake_server&) = delete;
  fake_server& operator=(const fake_server&) = delete;
  ~fake_server() {
    ::shutdown(listener_, SHUT_RDWR);
    acceptor_.join();
    ::close(listener_);
    std::vector<std::thread> threads;
    {
      std::lock_guard lock(mutex_);
      for (auto& c : connections_)
        c->interrupt();
      threads.swap(threads_);
    }
    for (std::thread& t : threads)
      t.join();
  }

  [[nodiscard]] int port() const noexcept { return port_; }
  /// Connections accepted so far.
  [[nodiscard]] int accepted() const noexcept { return accepted_; }

 private:
  void accept_loop() {
    for (;;) {
      const int fd = ::accept(listener_, nullptr, nullptr);
      if (fd < 0) return;  // shut down
      std::lock_guard lock(mutex_);
      auto c = std::make_shared<connection>(fd, ++accepted_);
      connections_.push_back(c);
      threads_.emplace_back([this, c] { serve_(*c); });
    }
  }

  handler serve_;
  int listener_ = -1;
  int port_ = 0;
  std::atomic<int> accepted_{0};
  std::mutex mutex_;
  std::vector<std::shared_ptr<connection>> connections_;
  std::vector<std::thread> threads_;
  std::thread acceptor_;
};

}  // namespace starling::testing
