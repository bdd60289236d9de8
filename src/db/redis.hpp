#pragma once
// redis: a redis client for native actors, over an order-mode channel (actor/channel.hpp) and
// the RESP codec (net/resp.hpp); the behaviour of skynet.db.redis (docs/REDIS.md) where it makes
// sense in C++.
//
//   starling::db::redis db(*this, {.server = {"127.0.0.1", 6379}, .db = 2});
//   auto set = co_await db.command("SET", "player:7", 100);       // result<resp::value>: OK
//   auto gold = co_await db.command("GET", "player:7");           // "100"
//
// * Commands from any number of coroutines of the actor share one connection: each is written
//   at once and the replies are handed out in FIFO order (implicit pipelining).
// * A server error reply (`-WRONGTYPE ...`) is a value of kind error, not a failure: the
//   connection is fine. Failures (errc) are the channel's: socket_failed (no connection, see
//   `link().last_error()`), socket_closed (the connection dropped while waiting),
//   protocol_error (the server sent bytes that are not RESP2), timeout, channel_closed.
// * AUTH and SELECT run after every (re)connect, before any other command; a dropped
//   connection is re-established by the next command (one attempt).
// * `subscriber` is the pub/sub side (redis.watch), on a connection of its own.
//
// Thread contract: the owning actor's coroutines only. Like the channel, the client must
// outlive the calls in progress (disconnect() first, or let it go with its actor).

#include <concepts>
#include <cstdint>
#include <functional>
#include <optional>
#include <set>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "actor/channel.hpp"
#include "net/resp.hpp"

namespace starling::db {

struct redis_options {
  endpoint server{"127.0.0.1", 6379};
  std::vector<endpoint> backups;
  /// With `password`: `AUTH username password` (redis 6 ACL users).
  std::string username;
  /// Non-empty: `AUTH` after every (re)connect. A rejected password fails the connection.
  std::string password;
  /// `SELECT db` after every (re)connect (after AUTH).
  std::optional<int> db;
  /// Ticks a command waits for its reply (0: no limit); see channel::options::timeout.
  std::int64_t timeout = 0;
  /// Write backlog notifications (channel::options::overload).
  std::function<void(bool overloaded)> overload;
};

/// Commands written together and answered together (redis.pipeline).
class batch {
 public:
  /// Appends one command; arguments as for redis::command.
  template <class... Args>
  requires(std::constructible_from<resp::arg, const Args&>&&...) batch& add(const Args&... args) {
    static_assert(sizeof...(Args) > 0, "a command has a name");
    const resp::arg list[] = {resp::arg(args)...};
    std::string_view views[sizeof...(Args)];
    for (std::size_t i = 0; i < sizeof...(Args); ++i)
      views[i] = list[i].view();
    return add(std::span<const std::string_view>(views));
  }
  batch& add(std::span<const std::string_view> args) {
    resp::append_command(bytes_, args);
    ++count_;
    return *this;
  }
  [[nodiscard]] std::size_t size() const noexcept { return count_; }
  [[nodiscard]] bool empty() const noexcept { return count_ == 0; }

 private:
  friend class redis;
  std::string bytes_;
  std::size_t count_ = 0;
};

class redis {
 public:
  /// Does not connect: the first command does (or connect()).
  redis(actor& owner, redis_options options);
  redis(const redis&) = delete;
  redis& operator=(const redis&) = delete;

  /// One connection attempt (primary, then backups), with AUTH/SELECT.
  task<result<void>> connect();
  /// One command: text arguments are sent as given, integers and floating-point numbers in
  /// decimal. The reply, which may be an error reply.
  template <class... Args>
  requires(std::constructible_from<resp::arg, const Args&>&&...) task<result<resp::value>> command(
      const Args&... args) {
    static_assert(sizeof...(Args) > 0, "a command has a name");
    const resp::arg list[] = {resp::arg(args)...};
    return run(resp::encode_command(std::span<const resp::arg>(list)));
  }
  task<result<resp::value>> command(std::span<const std::string_view> args) {
    return run(resp::encode_command(args));
  }
  /// All of `commands` in one write; their replies in order (error replies included). No
  /// other command of this connection comes between them. Throws logic_error when empty.
  task<result<std::vector<resp::value>>> pipeline(const batch& commands);
  /// Closes the connection; pending commands fail with errc::socket_closed, later ones with
  /// errc::channel_closed until connect().
  void disconnect() { channel_.close(); }

  /// The channel underneath: connection state and last_error().
  [[nodiscard]] channel& link() noexcept { return channel_; }

 private:
  task<result<resp::value>> run(payload bytes);
  task<result<void>> authenticate(channel::handshake& h);

  redis_options options_;
  channel channel_;
};

/// A published message.
struct message {
  std::string channel;
  std::string data;
  std::string pattern;  ///< the matching pattern, for a psubscribe; empty otherwise
};

/// The pub/sub side of redis (redis.watch), on a connection of its own.
///
/// Subscriptions are remembered as asked and re-sent after every reconnect (after AUTH and
/// SELECT). next_message() waits for a message; confirmations are consumed silently. If the
/// connection drops while it waits it fails with errc::socket_closed; the next call
/// reconnects, retrying forever with the channel's back-off, and the subscriptions come back.
class subscriber {
 public:
  subscriber(actor& owner, redis_options options);
  subscriber(const subscriber&) = delete;
  subscriber& operator=(const subscriber&) = delete;

  task<result<void>> connect();
  /// Each sends one command naming every channel (pattern), without awaiting the
  /// confirmations. An empty list sends nothing.
  task<result<void>> subscribe(std::vector<std::string> channels);
  task<result<void>> psubscribe(std::vector<std::string> patterns);
  task<result<void>> unsubscribe(std::vector<std::string> channels);
  task<result<void>> punsubscribe(std::vector<std::string> patterns);
  /// The next published message.
  task<result<message>> next_message();
  /// Closes; a waiting next_message() fails with errc::socket_closed.
  void disconnect() { channel_.close(); }

  [[nodiscard]] channel& link() noexcept { return channel_; }

 private:
  task<result<void>> post(std::string_view verb, std::vector<std::string> names);
  task<result<void>> authenticate(channel::handshake& h);

  redis_options options_;
  std::set<std::string> channels_;
  std::set<std::string> patterns_;
  channel channel_;
};

}  // namespace starling::db
