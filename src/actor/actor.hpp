#pragma once
// actor: the base class of native C++ services, with C++20 coroutines.
//
//   class echo final : public starling::actor {
//     starling::task<> on_request(starling::request req) override {
//       auto args = req.args();
//       req.reply("pong", args.at(1));
//       co_return;
//     }
//   };
//
// Every message of the "lua" protocol starts `on_request` in a new coroutine; the coroutines
// of one service never run in parallel, and they interleave only at `co_await`. Calls, sleeps
// and waits complete exactly once, always from a later message, never inside the operation
// that started them — except a call to an address that does not exist, which fails at once.
// Failures are values: `co_await call(...)` yields result<reply> (errc::call_failed,
// errc::invalid_address, errc::timeout).
//
// A PTYPE_SYSTEM call with an empty body asks an actor "has your start function returned?";
// it is answered then (newservice waits on it). A `debug` message "SHUTDOWN" starts
// `on_shutdown` in an actor that called `watch_shutdown` (docs/DESIGN.md, "Stopping").
//
// Thread contract: every protected member is for the service's own coroutines only.

#include <coroutine>
#include <cstdint>
#include <deque>
#include <exception>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "actor/address.hpp"
#include "actor/request.hpp"
#include "actor/session_map.hpp"
#include "actor/socket_table.hpp"
#include "actor/task.hpp"
#include "base/result.hpp"
#include "core/context.hpp"
#include "core/module_registry.hpp"
#include "core/service.hpp"
#include "net/failure.hpp"
#include "seri/reader.hpp"
#include "seri/writer.hpp"

namespace starling {

class actor;

namespace net {
class socket_server;
}

/// The body of a successful call.
class reply {
 public:
  explicit reply(payload body) noexcept : body_(std::move(body)) {}
  [[nodiscard]] std::span<const std::byte> body() const noexcept { return body_.bytes(); }
  /// The packed values, decoded. Throws seri::error on a malformed body.
  [[nodiscard]] seri::value_list values() const { return seri::unpack(body()); }
  [[nodiscard]] seri::reader reader() const { return seri::reader(body()); }
  /// Takes the raw body (forwarding it elsewhere costs no copy).
  [[nodiscard]] payload take() && noexcept { return std::move(body_); }

 private:
  payload body_;
};

namespace detail {

/// An operation a coroutine is suspended on: a call, a sleep or a wait.
struct pending_op {
  std::coroutine_handle<> waiter;
  std::int32_t session = 0;        ///< the call's, the sleep's timer's, or the wait's
  std::int32_t timer_session = 0;  ///< a call's deadline, when it has one
  handle_t watched = 0;            ///< the callee, to fail the call if it goes away
  const void* token = nullptr;     ///< sleep/wait: what `wakeup` names
  bool failed = false;
  errc error = errc::call_failed;
  payload body;
};

}  // namespace detail

class actor : public service, private detail::task_owner {
 public:
  actor() = default;
  ~actor() override;

  bool init(context& self, std::string_view param) final;
  void dispatch(context& self, message& msg) final;

  // ---- awaitables ----------------------------------------------------------------------

  /// `ticks` of a call_awaitable that waits without any deadline.
  static constexpr std::int64_t no_deadline = -1;

  class call_awaitable {
   public:
    /// `deadline` in ticks; 0: the node's call_timeout, if any; no_deadline: none.
    call_awaitable(actor& owner, address dest, ptype type, payload body, std::int64_t deadline)
        : owner_(owner), dest_(dest), type_(type), body_(std::move(body)), ticks_(deadline) {}
    bool await_ready();
    void await_suspend(std::coroutine_handle<> waiter) noexcept { op_.waiter = waiter; }
    result<reply> await_resume();

   private:
    actor& owner_;
    address dest_;
    ptype type_;
    payload body_;
    std::int64_t ticks_;
    detail::pending_op op_;
  };

  class sleep_awaitable {
   public:
    sleep_awaitable(actor& owner, std::int64_t delay, const void* token, bool timed)
        : owner_(owner), ticks_(delay), token_(token), timed_(timed) {}
    bool await_ready() noexcept { return false; }
    void await_suspend(std::coroutine_handle<> waiter);
    /// errc::interrupted when `wakeup` ended it early.
    result<void> await_resume() const noexcept;

   private:
    actor& owner_;
    std::int64_t ticks_;
    const void* token_;
    bool timed_;
    detail::pending_op op_;
  };

  struct exit_awaitable {
    actor& owner;
    bool await_ready() noexcept { return false; }
    void await_suspend(std::coroutine_handle<> waiter) noexcept;
    [[noreturn]] void await_resume() noexcept { std::terminate(); }  // never resumed
  };

  /// The messaging verbs of a service for library code that acts for it from its coroutines
  /// (cluster::client): what a service can do itself, reachable from outside the class.
  class delegate {
   public:
    explicit delegate(actor& owner) noexcept : owner_(owner) {}
    [[nodiscard]] handle_t self() const noexcept { return owner_.self(); }
    [[nodiscard]] call_awaitable rawcall(address dest, ptype type, payload body) {
      return owner_.rawcall(dest, type, std::move(body));
    }
    template <class... Values>
    [[nodiscard]] call_awaitable call(address dest, const Values&... values) {
      return owner_.call(dest, values...);
    }
    bool send_raw(address dest, ptype type, payload body) {
      return owner_.send_raw(dest, type, std::move(body));
    }

   private:
    actor& owner_;
  };

 protected:
  // ---- what a service overrides --------------------------------------------------------

  /// Runs in a coroutine as the service's first message, with the launch arguments split on
  /// blanks (skynet.start). Requests that arrive meanwhile run concurrently with it.
  virtual task<> start(std::vector<std::string> args);
  /// Handles one "lua" request or send. The default fails calls.
  virtual task<> on_request(request req);
  /// Any other message type (text, client, socket, ...). The default fails calls and logs.
  virtual void on_message(message& msg);
  /// Runs in a coroutine when a graceful shutdown starts (SIGTERM, SIGINT or a stop asked by
  /// a service), if `watch_shutdown` was called; `reason` is e.g. "SIGTERM". The node waits
  /// until it returns (at most `shutdown_timeout`), then stops. The default does nothing.
  virtual task<> on_shutdown(std::string reason);

  // ---- verbs ---------------------------------------------------------------------------

  [[nodiscard]] handle_t self() const noexcept { return handle_; }
  [[nodiscard]] node& runtime() const noexcept { return *node_; }

  /// Sends packed values (session 0). False when `dest` does not exist.
  template <class... Values>
  bool send(address dest, const Values&... values) {
    return send_raw(dest, ptype::lua, seri::pack(values...));
  }
  bool send_raw(address dest, ptype type, payload body);

  /// Calls with packed values; `co_await` gives result<reply>.
  template <class... Values>
  [[nodiscard]] call_awaitable call(address dest, const Values&... values) {
    return call_awaitable(*this, dest, ptype::lua, seri::pack(values...), 0);
  }
  /// As `call`, failing with errc::timeout if no answer comes within `ticks`. A call without
  /// a deadline of its own gets the node's (config `call_timeout`), if it has one.
  template <class... Values>
  [[nodiscard]] call_awaitable call_within(std::int64_t deadline, address dest,
                                           const Values&... values) {
    return call_awaitable(*this, dest, ptype::lua, seri::pack(values...), deadline);
  }
  [[nodiscard]] call_awaitable rawcall(address dest, ptype type, payload body) {
    return call_awaitable(*this, dest, type, std::move(body), 0);
  }

  /// Suspends for `delay` ticks (<= 0: behind the messages already queued). `token` (default:
  /// the coroutine) lets `wakeup` end it early with errc::interrupted.
  [[nodiscard]] sleep_awaitable sleep(std::int64_t delay, const void* token = nullptr) {
    return sleep_awaitable(*this, delay, token, true);
  }
  [[nodiscard]] sleep_awaitable yield() { return sleep(0); }
  /// Suspends until `wakeup(token)`.
  [[nodiscard]] sleep_awaitable wait(const void* token) {
    return sleep_awaitable(*this, 0, token, false);
  }
  /// Schedules the sleeper or waiter on `token` to resume as soon as the running coroutine
  /// suspends, in the order of the wakeups. False if nothing sleeps on `token`.
  bool wakeup(const void* token);

  /// Runs `t` after the current message has been handled (skynet.fork).
  void fork(task<> t) { forks_.push_back(std::move(t)); }

  /// Retires the service: answers its queued and suspended calls with errors. Never resumes.
  [[nodiscard]] exit_awaitable exit() { return exit_awaitable{*this}; }

  /// Launches a service of `module` on this node; 0 on failure. Returns after its init, before
  /// its start function has run.
  handle_t launch(std::string_view module, std::string_view param);
  /// Launches and waits until the new service's start function has returned (skynet's
  /// newservice), without a deadline (config `call_timeout` does not apply). errc::call_failed if
  /// the launch failed, the start function threw (the new service then exits), or the module is not
  /// a native actor that reports its start.
  task<result<handle_t>> newservice(std::string module, std::string param);

  void log(std::string_view text) const;
  /// Refuses requests while `length` messages are queued (0: no limit): a call then fails at
  /// once with PTYPE_ERROR, a send is dropped (docs/DESIGN.md, "Mailboxes").
  void limit_mailbox(std::size_t length) { context_->inbox().set_limit(length); }

  /// Asks for `on_shutdown` to run when a graceful shutdown starts.
  void watch_shutdown();

  // ---- sockets (docs/NET.md) -----------------------------------------------------------
  // TCP over the node's socket thread. Each socket has at most one reading coroutine; a
  // read of bytes already buffered completes at once. A socket whose unread bytes pass
  // detail::read_buffer_limit is not read until a coroutine waits for more. The actor closes
  // what it opened when it goes. Socket messages for ids these verbs did not register reach
  // `on_message`.

  using socket_id = std::int32_t;
  using accepted_socket = detail::accepted_socket;
  /// What a socket verb gives: the value, or net::failure (an errc and the system's text).
  template <class T>
  using socket_result = result<T, net::failure>;
  struct listening {
    socket_id id = 0;
    std::string address;  ///< the bound ip
    int port = 0;         ///< the bound port (the real one when 0 was asked)
  };

  /// Connects; the socket is then read by this actor. errc::socket_failed, with the reason
  /// ("Connection refused", "Name or service not known").
  task<socket_result<socket_id>> connect(std::string host, int port);
  /// Listens and starts accepting (backlog 0: the system's maximum). errc::socket_failed, with
  /// the reason ("Address already in use").
  task<socket_result<listening>> listen(std::string host, int port, int backlog = 0);
  /// The next connection accepted on `listener`, started: this actor reads it.
  /// errc::socket_closed when the listener closes.
  task<socket_result<accepted_socket>> accept(socket_id listener);
  /// Exactly `n` bytes. errc::socket_closed if the socket closes first (what did arrive
  /// stays for read_some), with the socket's error text when an error closed it.
  task<socket_result<std::string>> read(socket_id id, std::size_t n);
  /// What has arrived, waiting for at least one byte.
  task<socket_result<std::string>> read_some(socket_id id);
  /// One line, without the separator.
  task<socket_result<std::string>> read_line(socket_id id, std::string separator = "\n");
  /// Queues bytes for writing; never blocks. False when the socket is gone or closing (as
  /// socket_server::send: no reason to give, and no string on the write path).
  bool write(socket_id id, payload bytes);
  bool write(socket_id id, std::string_view bytes) { return write(id, payload::copy_of(bytes)); }
  /// Graceful close: queued bytes still go out; a read waiting on it fails with
  /// errc::socket_closed.
  void close(socket_id id);

 private:
  // A channel (actor/channel.hpp) is this actor's socket client: it parses replies in the
  // socket's dispatch and resumes its callers through the same sessions, timers and wakeups.
  friend class channel;

  void on_task_done(detail::promise_base& done, std::exception_ptr error) noexcept override;
  /// Runs `start`, then answers whoever waits for it; a start that throws exits the service.
  task<> run_start(std::vector<std::string> args);
  /// Runs `on_shutdown`, then tells the node this service is done.
  task<> run_shutdown(std::string reason);
  /// A `debug` message: "SHUTDOWN" starts run_shutdown; anything else goes to on_message.
  void on_debug(message& msg);
  void adopt(task<> t);
  void resume(std::coroutine_handle<> waiter);
  /// Resumes the coroutines woken meanwhile, in wakeup order.
  void run_wakeups();
  void on_response(message& msg);
  void on_error(message& msg);
  std::int32_t fresh_session();
  void on_socket(message& msg);
  net::socket_server& socket_thread();
  /// The state of a registered socket that no other coroutine reads; throws otherwise.
  detail::socket_state* reader_state(socket_id id);
  /// Waits until the socket `id` (a connect's or a listen's) is open: its state, or the
  /// failure that closed it.
  task<socket_result<detail::socket_state*>> opened(socket_result<socket_id> id);
  /// Starts reading a socket paused for its full buffer again, if the reader must wait.
  void resume_reading(detail::socket_state& s);

  node* node_ = nullptr;
  context* context_ = nullptr;
  handle_t handle_ = 0;
  std::vector<std::string> args_;
  std::int32_t start_session_ = 0;
  bool started_ = false;
  std::vector<request> start_waiters_;  // PTYPE_SYSTEM calls asking "has start returned?"
  bool exiting_ = false;

  detail::session_map<detail::pending_op, detail::sequential_keys> pending_;
  std::unordered_map<const void*, detail::pending_op*> sleeping_;
  std::deque<detail::pending_op*> wakeups_;
  std::deque<task<>> forks_;
  // Detached frames still running, destroyed with the service (their requests then fail).
  detail::promise_base* live_head_ = nullptr;

  net::socket_server* socket_thread_ = nullptr;  // looked up on first use
  detail::socket_table sockets_;
};

/// Registers `T` (default-constructible actor) under `name`, for LAUNCH and configs.
template <class T>
void register_actor(module_registry& modules, std::string_view name) {
  modules.add(std::string(name), [] { return std::make_unique<T>(); });
}

}  // namespace starling
