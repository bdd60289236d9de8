#pragma once
// channel: one outgoing TCP connection that the coroutines of one actor share for requests
// and replies, connected on demand and reconnected after a drop (docs/SOCKETCHANNEL.md).
//
//   order mode    replies come back in request order (redis). Each request brings a `reader`
//                 that parses its reply; requests are written at once and readers take the
//                 stream in FIFO order, so concurrent callers are pipelined on one connection.
//   session mode  replies carry a session and may come in any order (cluster). One
//                 `session_decoder` per channel cuts the stream into frames.
//
// Replies are parsed in place, in the actor's dispatch, as the bytes arrive (no coroutine
// per read). A caller is resumed exactly once, never inside the `co_await` that started its
// request (except a request that fails at once: closed channel, no connection, write refused).
//
// Failures are values (errc), never exceptions:
//   channel_closed  close() was called; connect() reopens the channel
//   socket_failed   no candidate could be connected (and authenticated); see last_error()
//   socket_closed   the connection dropped (either end, or a timed-out neighbour) while the
//                   caller waited: every waiting caller gets it; the next request reconnects
//   protocol_error  a reader or the decoder rejected the bytes: every waiting caller gets it,
//                   the connection is closed, the next request reconnects
//   timeout         options::timeout passed without the reply. In order mode the connection
//                   is then closed (the replies still due would be misattributed otherwise):
//                   the other waiting callers get socket_closed. In session mode only this
//                   caller fails, and a late reply is logged as an unknown session.
//
// A request makes one connection pass (primary, then backups) and fails fast; connect() and
// response() retry forever with skynet's back-off until connected or closed.
//
// Thread contract: the owning actor's coroutines only. The channel must outlive the calls in
// progress on it: close() it and let them finish, or let it go with its actor.

#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "actor/actor.hpp"
#include "actor/socket_table.hpp"
#include "base/payload.hpp"
#include "base/result.hpp"

namespace starling {

/// A server to connect to. Port 0 in a backup means "the primary's port".
struct endpoint {
  std::string host;
  int port = 0;
  friend bool operator==(const endpoint&, const endpoint&) = default;
};

class channel final : private detail::socket_listener {
 public:
  enum class parse_status {
    need_more,  ///< nothing complete yet: called again when more bytes arrive
    done,       ///< complete
    failed,     ///< the bytes break the protocol (failure() says why)
  };

  /// Order mode: parses one request's reply from the head of the stream. Called in the
  /// actor's dispatch with the bytes not consumed so far; it consumes what it has used and
  /// keeps its own partial state (it may consume part of a reply and ask for more).
  /// It must not call the channel.
  class reader {
   public:
    using parse_status = channel::parse_status;
    virtual parse_status parse(std::string_view unread, std::size_t& used) = 0;
    [[nodiscard]] virtual std::string failure() const = 0;

   protected:
    ~reader() = default;
  };

  /// Session mode: one frame of the stream.
  struct frame {
    std::int32_t session = 0;  ///< whose reply (positive)
    std::string_view body;     ///< valid during the parse call only
    bool ok = true;            ///< false: a failure reply for this caller (connection kept)
    bool more = false;         ///< one part of a multi-part reply: the caller keeps waiting
  };
  /// Session mode: cuts the stream into frames. A frame is consumed whole (`used` covers it)
  /// or not at all. A frame without a valid session is a protocol error (failed).
  class session_decoder {
   public:
    using parse_status = channel::parse_status;
    virtual parse_status parse(std::string_view unread, std::size_t& used, frame& out) = 0;
    [[nodiscard]] virtual std::string failure() const = 0;
    /// A new connection starts: forget any state of the previous one.
    virtual void reset() {}

   protected:
    ~session_decoder() = default;
  };
  /// Session mode: what a caller receives. The parts of a multi-part reply are appended.
  struct session_reply {
    bool ok = true;
    std::string data;
  };

  /// What the auth hook talks through: the new connection, before other callers may use it.
  class handshake {
   public:
    task<result<void>> request(payload bytes, reader& r);
    task<result<session_reply>> call(payload bytes, std::int32_t session);
    /// Writes without awaiting a reply (order mode: the reply stays for the next reader).
    result<void> send(payload bytes);
    /// Records why the hook fails (logged as "socket: auth failed <why>"); returns the error
    /// for the hook to return.
    errc fail(std::string why);
    [[nodiscard]] channel& owner() const noexcept { return channel_; }

   private:
    friend class channel;
    explicit handshake(channel& c) noexcept : channel_(c) {}
    channel& channel_;
    std::string why_;
  };
  /// Runs after every successful TCP connect, before the channel is usable; a failure moves
  /// on to the next candidate. Return a coroutine of a long-lived object (a member function),
  /// not a capturing coroutine lambda: the lambda's captures would die before its frame.
  using auth_hook = std::function<task<result<void>>(handshake&)>;

  struct options {
    endpoint server;
    std::vector<endpoint> backups;  ///< tried in order after `server` (duplicates skipped)
    auth_hook auth;
    /// Non-null selects session mode; owned by the caller, it must outlive the channel.
    session_decoder* decoder = nullptr;
    bool nodelay = false;
    /// Ticks (centiseconds) a caller waits for its reply; 0: no limit. Connecting and
    /// response() are not limited by it.
    std::int64_t timeout = 0;
    /// Write backlog notifications: true when the socket layer warns, false when it drained.
    std::function<void(bool overloaded)> overload;
  };

  /// skynet's reconnect back-off (docs/SOCKETCHANNEL.md, Connecting), in ticks.
  class backoff {
   public:
    /// The sleep after one more failed pass: 0, 100, ..., 1000, then a long pause of 1100,
    /// then 100, 200, ... again.
    std::int64_t next() noexcept;
    /// Whether the last `next` was the long pause.
    [[nodiscard]] bool long_pause() const noexcept { return long_pause_; }

   private:
    std::int64_t counter_ = 0;
    bool long_pause_ = false;
  };

  /// Does not connect.
  channel(actor& owner, options opts);
  /// Closes the socket. Callers still waiting are never resumed: destroy the channel with
  /// its actor, or after they have finished.
  ~channel();
  channel(const channel&) = delete;
  channel& operator=(const channel&) = delete;

  // ---- calls (all for the owner's coroutines) ----------------------------------------

  /// Reopens a closed channel and connects: one pass when `once`, else until connected or
  /// closed. errc::socket_failed (once), errc::channel_closed.
  task<result<void>> connect(bool once);
  /// Order mode: writes `bytes`, then waits until `r` has parsed the reply.
  task<result<void>> request(payload bytes, reader& r);
  /// Order mode: waits for one more reply without writing (server pushes). Connects with the
  /// endless retry loop when there is no connection; never limited by options::timeout.
  task<result<void>> response(reader& r);
  /// Writes without awaiting a reply. In order mode the reply stays in the stream for the
  /// next reader.
  task<result<void>> send(payload bytes);
  /// Session mode: writes `bytes` (and `padding`, all at low priority, so that small requests
  /// can pass between the parts) and waits for the reply to `session`. Sessions must be
  /// positive and unique while in use (a counter); a session already waiting is a logic_error.
  task<result<session_reply>> call(payload bytes, std::int32_t session,
                                   std::vector<payload> padding = {});
  /// Closes the connection; waiting callers get errc::socket_closed, later calls
  /// errc::channel_closed until connect().
  void close();
  /// Connects to `server` from the next request on; an open connection is closed (waiting
  /// callers get errc::socket_closed).
  void change_host(endpoint server);
  /// Takes effect at the next connection pass.
  void change_backups(std::vector<endpoint> backups);

  // ---- state ---------------------------------------------------------------------------

  /// The server in use or to be tried first (a backup that connected replaces the primary).
  [[nodiscard]] const endpoint& server() const noexcept { return server_; }
  [[nodiscard]] bool connected() const noexcept { return state_ != nullptr && !connecting_; }
  [[nodiscard]] bool closed() const noexcept { return closed_; }
  /// Why the last connection attempt or the last connection failed.
  [[nodiscard]] const std::string& last_error() const noexcept { return last_error_; }
  /// Callers waiting for a reply.
  [[nodiscard]] std::size_t waiting() const noexcept { return waiting_; }

 private:
  struct waiter;
  class reply_wait;
  class session_wait;
  struct connect_wait;

  void on_socket_event(detail::socket_state& s, socket_event type, std::int32_t ud) override;
  /// Waits for a usable connection, running a pass when nobody else does: one pass, or until
  /// connected (`forever`).
  task<result<void>> ensure(bool forever);
  /// One connection pass over the candidates, with auth.
  task<result<void>> pass();
  void install(std::int32_t id, const endpoint& target);
  /// Closes the connection, failing every waiting caller with `why`.
  void drop(errc why);
  void wake_connect_waiters();
  /// Writes on the connection; a refused write drops it.
  bool write(payload bytes, std::vector<payload>* padding);
  void link(waiter& w);
  void unlink(waiter& w) noexcept;
  void complete(waiter& w, bool failed, errc error);
  void on_timeout(waiter& w);
  /// Hands the unread bytes to the readers (order) or the decoder (session).
  void pump();
  void pump_order();
  void pump_sessions();
  void on_closed(const detail::socket_state& s);
  void on_warning(std::int32_t kib);
  [[nodiscard]] std::vector<endpoint> candidates() const;
  [[nodiscard]] bool session_mode() const noexcept { return decoder_ != nullptr; }
  void log(std::string_view text) const { owner_.log(text); }

  actor& owner_;
  endpoint server_;
  std::vector<endpoint> backups_;
  auth_hook auth_;
  session_decoder* decoder_;
  bool nodelay_;
  std::int64_t timeout_;
  std::function<void(bool)> overload_;

  std::int32_t id_ = 0;                    // the connection's socket, when state_
  detail::socket_state* state_ = nullptr;  // its buffer and flags; null: no connection
  bool connecting_ = false;                // a pass (connect + auth) is running
  bool closed_ = false;                    // close() was called (sticky)
  bool overloaded_ = false;
  std::uint64_t generation_ = 0;  // change_host calls, to restart a pass
  std::string last_error_;
  std::vector<connect_wait*> connect_waiters_;  // parked until the running pass ends
  waiter* head_ = nullptr;                      // order mode: FIFO of readers
  waiter* tail_ = nullptr;
  detail::session_map<waiter> sessions_;  // session mode
  std::size_t waiting_ = 0;
  std::vector<const int*> retry_sleepers_;  // tokens of back-off sleeps, ended by close()
};

}  // namespace starling
