#include "actor/channel.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <stdexcept>
#include <utility>

#include "core/context.hpp"
#include "net/socket_server.hpp"

namespace starling {

// ---- waiting callers ---------------------------------------------------------------------

/// A caller waiting for its reply; lives in the caller's frame.
struct channel::waiter {
  actor* owner = nullptr;
  channel* ch = nullptr;  // set while linked: the channel may complete or fail it
  waiter* prev = nullptr;
  waiter* next = nullptr;
  reader* parse = nullptr;         // order mode
  session_reply* reply = nullptr;  // session mode
  std::int32_t session = 0;        // session mode
  detail::pending_op op;           // resumed through the actor's wakeups; its deadline

  explicit waiter(channel& c) noexcept : owner(&c.owner_) {}
  waiter(const waiter&) = delete;
  waiter& operator=(const waiter&) = delete;
  // A frame destroyed while waiting (its actor is going) must not stay reachable.
  ~waiter() {
    if (ch != nullptr) ch->unlink(*this);
    if (op.timer_session != 0) owner->pending_.take(op.timer_session);
  }

  /// Links into the channel and arms the deadline.
  void start(channel& c, std::coroutine_handle<> h, bool timed) {
    op.waiter = h;
    c.link(*this);
    if (timed && c.timeout_ > 0) {
      op.timer_session = owner->fresh_session();
      op.session = op.timer_session;
      owner->pending_.put(op.timer_session, &op);
      owner->context_->timeout(c.timeout_, op.timer_session);
    }
  }

  /// After resumption: the failure, if any. A deadline that fired left the waiter linked.
  result<void> outcome() {
    if (!op.failed) return {};
    if (op.error == errc::timeout) {
      op.timer_session = 0;  // the actor took it when the timer fired
      if (ch != nullptr) ch->on_timeout(*this);
    }
    return op.error;
  }
};

/// Order mode: writes (unless it only waits for a push), then waits for the reader.
class channel::reply_wait {
 public:
  reply_wait(channel& c, reader& r, payload bytes, bool write_first, bool timed) noexcept
      : channel_(c),
        waiter_(c),
        bytes_(std::move(bytes)),
        write_first_(write_first),
        timed_(timed) {
    waiter_.parse = &r;
  }
  bool await_ready() {
    if (channel_.state_ == nullptr ||
        (write_first_ && !channel_.write(std::move(bytes_), nullptr))) {
      waiter_.op.failed = true;
      waiter_.op.error = errc::socket_closed;
      return true;
    }
    return false;
  }
  void await_suspend(std::coroutine_handle<> h) {
    waiter_.start(channel_, h, timed_);
    // Bytes already buffered (a reply left by a send, or a push) may complete it at once;
    // it then resumes when this coroutine has suspended.
    if (channel_.head_ == &waiter_) channel_.pump();
  }
  result<void> await_resume() { return waiter_.outcome(); }

 private:
  channel& channel_;
  waiter waiter_;
  payload bytes_;
  bool write_first_;
  bool timed_;
};

/// Session mode: writes, then waits for the frames of its session.
class channel::session_wait {
 public:
  session_wait(channel& c, std::int32_t session, payload bytes, std::vector<payload>* padding)
      : channel_(c), waiter_(c), bytes_(std::move(bytes)), padding_(padding) {
    if (session <= 0) throw std::logic_error("a channel session must be positive");
    if (c.sessions_.find(session) != nullptr) {
      throw std::logic_error(fmt::format("channel session {} is already waiting", session));
    }
    waiter_.session = session;
    waiter_.reply = &reply_;
  }
  bool await_ready() {
    if (channel_.state_ == nullptr || !channel_.write(std::move(bytes_), padding_)) {
      waiter_.op.failed = true;
      waiter_.op.error = errc::socket_closed;
      return true;
    }
    return false;
  }
  void await_suspend(std::coroutine_handle<> h) { waiter_.start(channel_, h, true); }
  result<session_reply> await_resume() {
    result<void> r = waiter_.outcome();
    if (!r) return r.error();
    return std::move(reply_);
  }

 private:
  channel& channel_;
  waiter waiter_;
  payload bytes_;
  std::vector<payload>* padding_;
  session_reply reply_;
};

/// A caller parked while another coroutine runs a connection pass.
struct channel::connect_wait {
  channel* ch;
  detail::pending_op op;

  explicit connect_wait(channel& c) noexcept : ch(&c) {}
  connect_wait(const connect_wait&) = delete;
  connect_wait& operator=(const connect_wait&) = delete;
  ~connect_wait() {
    if (ch != nullptr) std::erase(ch->connect_waiters_, this);
  }
  bool await_ready() const noexcept { return false; }
  void await_suspend(std::coroutine_handle<> h) {
    op.waiter = h;
    ch->connect_waiters_.push_back(this);
  }
  void await_resume() const noexcept {}
};

// ---- construction ------------------------------------------------------------------------

std::int64_t channel::backoff::next() noexcept {
  if (counter_ > 1000) {
    counter_ = 100;
    long_pause_ = true;
    return 1100;
  }
  long_pause_ = false;
  const std::int64_t delay = counter_;
  counter_ += 100;
  return delay;
}

channel::channel(actor& owner, options opts)
    : owner_(owner),
      server_(std::move(opts.server)),
      backups_(std::move(opts.backups)),
      auth_(std::move(opts.auth)),
      decoder_(opts.decoder),
      nodelay_(opts.nodelay),
      timeout_(opts.timeout),
      overload_(std::move(opts.overload)) {}

channel::~channel() {
  // Forget the callers without resuming them: this runs with the actor, whose frames are
  // destroyed next, or after every call has finished.
  for (waiter* w = head_; w != nullptr; w = w->next)
    w->ch = nullptr;
  sessions_.for_each([](std::int32_t, waiter* w) { w->ch = nullptr; });
  for (connect_wait* w : connect_waiters_)
    w->ch = nullptr;
  if (state_ != nullptr) {
    state_->listener = nullptr;
    owner_.close(id_);
  }
}

// ---- calls -------------------------------------------------------------------------------

task<result<void>> channel::connect(bool once) {
  closed_ = false;
  co_return co_await ensure(!once);
}

task<result<void>> channel::request(payload bytes, reader& r) {
  if (session_mode()) throw std::logic_error("request() is for order mode; use call()");
  if (!connected()) {
    result<void> ready = co_await ensure(false);
    if (!ready) co_return ready.error();
  }
  co_return co_await reply_wait(*this, r, std::move(bytes), true, true);
}

task<result<void>> channel::response(reader& r) {
  if (session_mode()) throw std::logic_error("response() is for order mode");
  if (!connected()) {
    result<void> ready = co_await ensure(true);
    if (!ready) co_return ready.error();
  }
  co_return co_await reply_wait(*this, r, {}, false, false);
}

task<result<void>> channel::send(payload bytes) {
  if (!connected()) {
    result<void> ready = co_await ensure(false);
    if (!ready) co_return ready.error();
  }
  if (!write(std::move(bytes), nullptr)) co_return errc::socket_closed;
  co_return result<void>{};
}

task<result<channel::session_reply>> channel::call(payload bytes, std::int32_t session,
                                                   std::vector<payload> padding) {
  if (!session_mode()) throw std::logic_error("call() is for session mode; use request()");
  if (!connected()) {
    result<void> ready = co_await ensure(false);
    if (!ready) co_return ready.error();
  }
  co_return co_await session_wait(*this, session, std::move(bytes), &padding);
}

task<result<void>> channel::handshake::request(payload bytes, reader& r) {
  co_return co_await reply_wait(channel_, r, std::move(bytes), true, true);
}

task<result<channel::session_reply>> channel::handshake::call(payload bytes, std::int32_t session) {
  co_return co_await session_wait(channel_, session, std::move(bytes), nullptr);
}

result<void> channel::handshake::send(payload bytes) {
  if (channel_.state_ == nullptr || !channel_.write(std::move(bytes), nullptr)) {
    return errc::socket_closed;
  }
  return {};
}

errc channel::handshake::fail(std::string why) {
  why_ = std::move(why);
  return errc::call_failed;
}

void channel::close() {
  if (closed_) return;
  closed_ = true;
  last_error_ = "closed";
  drop(errc::socket_closed);
  wake_connect_waiters();
  for (const int* token : retry_sleepers_)
    owner_.wakeup(token);
}

void channel::change_host(endpoint server) {
  server_ = std::move(server);
  ++generation_;
  if (!closed_ && state_ != nullptr) drop(errc::socket_closed);
}

void channel::change_backups(std::vector<endpoint> backups) {
  backups_ = std::move(backups);
}

// ---- connecting --------------------------------------------------------------------------

task<result<void>> channel::ensure(bool forever) {
  backoff delays;
  for (;;) {
    if (closed_) co_return errc::channel_closed;
    if (connected()) co_return result<void>{};
    if (connecting_) {
      connect_wait parked(*this);
      co_await parked;
      if (closed_) co_return errc::channel_closed;
      if (connected()) co_return result<void>{};
      if (forever) continue;
      log(fmt::format("Connect failed {} {} {}", last_error_, server_.host, server_.port));
      co_return errc::socket_failed;
    }
    connecting_ = true;
    const result<void> done = co_await pass();
    connecting_ = false;
    wake_connect_waiters();
    if (done) {
      if (forever) log(fmt::format("socket: connect to {} {}", server_.host, server_.port));
      co_return done;
    }
    if (closed_ || done.error() == errc::channel_closed) co_return errc::channel_closed;
    if (!forever) {
      log(fmt::format("Connect failed {} {} {}", last_error_, server_.host, server_.port));
      co_return errc::socket_failed;
    }
    log(fmt::format("socket: connect {}", last_error_));
    const std::int64_t delay = delays.next();
    if (delays.long_pause()) {
      log(fmt::format("socket: try to reconnect {} {}", server_.host, server_.port));
    }
    const int token = 0;
    retry_sleepers_.push_back(&token);
    (void)co_await owner_.sleep(delay, &token);
    std::erase(retry_sleepers_, &token);
  }
}

std::vector<endpoint> channel::candidates() const {
  // The primary is not part of the duplicate check, as in skynet: it may be tried twice.
  std::vector<endpoint> list{server_};
  for (endpoint e : backups_) {
    if (e.port == 0) e.port = server_.port;
    if (std::find(list.begin() + 1, list.end(), e) == list.end()) list.push_back(std::move(e));
  }
  return list;
}

task<result<void>> channel::pass() {
  for (;;) {
    const std::uint64_t generation = generation_;
    const std::vector<endpoint> list = candidates();
    bool restart = false;
    for (std::size_t i = 0; i < list.size() && !restart; ++i) {
      const endpoint& target = list[i];
      if (i > 0) log(fmt::format("socket: connect to backup host {} {}", target.host, target.port));
      actor::socket_result<actor::socket_id> id = co_await owner_.connect(target.host, target.port);
      if (closed_) {
        if (id) owner_.close(*id);
        co_return errc::channel_closed;
      }
      if (!id) {
        last_error_ = id.error().detail;
        continue;
      }
      install(*id, target);
      if (!auth_) co_return result<void>{};

      handshake shake(*this);
      const result<void> authed = co_await auth_(shake);
      if (closed_) co_return errc::channel_closed;
      if (generation != generation_) {
        restart = true;  // change_host during auth: start over with the new server
        continue;
      }
      if (authed && state_ != nullptr) co_return result<void>{};
      if (state_ != nullptr) drop(errc::socket_closed);
      if (!authed && authed.error() != errc::socket_closed) {
        const std::string why =
            shake.why_.empty() ? std::string(describe(authed.error())) : shake.why_;
        log(fmt::format("socket: auth failed {}", why));
      }
      last_error_ = "no more backup host";
    }
    if (!restart) co_return errc::socket_failed;
  }
}

void channel::install(std::int32_t id, const endpoint& target) {
  id_ = id;
  state_ = owner_.sockets_.find(id);
  state_->listener = this;
  if (nodelay_) owner_.socket_thread().nodelay(id);
  server_ = target;  // a backup that connected becomes the primary
  if (decoder_ != nullptr) decoder_->reset();
  if (overloaded_) {  // the old connection's backlog is gone with it
    overloaded_ = false;
    if (overload_) overload_(false);
  }
}

void channel::wake_connect_waiters() {
  std::vector<connect_wait*> woken;
  woken.swap(connect_waiters_);
  for (connect_wait* w : woken) {
    w->ch = nullptr;
    owner_.wakeups_.push_back(&w->op);
  }
}

// ---- the connection ----------------------------------------------------------------------

bool channel::write(payload bytes, std::vector<payload>* padding) {
  bool written = false;
  if (padding == nullptr || padding->empty()) {
    written = owner_.write(id_, std::move(bytes));
  } else {
    net::socket_server& sockets = owner_.socket_thread();
    written = sockets.send_lowpriority(id_, std::move(bytes));
    for (payload& part : *padding)
      written = written && sockets.send_lowpriority(id_, std::move(part));
  }
  if (!written) {
    last_error_ = "write refused";
    drop(errc::socket_closed);
  }
  return written;
}

void channel::drop(errc why) {
  if (state_ != nullptr) {
    state_->listener = nullptr;
    owner_.close(id_);  // may forget the state at once
    state_ = nullptr;
    id_ = 0;
  }
  while (head_ != nullptr)
    complete(*head_, true, why);
  if (!sessions_.empty()) {
    std::vector<waiter*> failed;
    sessions_.for_each([&failed](std::int32_t, waiter* w) { failed.push_back(w); });
    std::sort(failed.begin(), failed.end(),
              [](const waiter* a, const waiter* b) { return a->session < b->session; });
    for (waiter* w : failed)
      complete(*w, true, why);
  }
}

void channel::link(waiter& w) {
  w.ch = this;
  ++waiting_;
  if (session_mode()) {
    sessions_.put(w.session, &w);
    return;
  }
  w.prev = tail_;
  w.next = nullptr;
  if (tail_ != nullptr) {
    tail_->next = &w;
  } else {
    head_ = &w;
  }
  tail_ = &w;
}

void channel::unlink(waiter& w) noexcept {
  if (w.ch == nullptr) return;
  w.ch = nullptr;
  --waiting_;
  if (session_mode()) {
    sessions_.take(w.session);
    return;
  }
  (w.prev != nullptr ? w.prev->next : head_) = w.next;
  (w.next != nullptr ? w.next->prev : tail_) = w.prev;
  w.prev = w.next = nullptr;
}

void channel::complete(waiter& w, bool failed, errc error) {
  unlink(w);
  w.op.failed = failed;
  w.op.error = error;
  if (w.op.timer_session != 0) {
    owner_.pending_.take(w.op.timer_session);  // its timer will find nobody
    w.op.timer_session = 0;
  }
  owner_.wakeups_.push_back(&w.op);
}

void channel::on_timeout(waiter& w) {
  unlink(w);
  if (session_mode()) return;  // its late reply will be an unknown session
  // The replies still due would go to the wrong callers: start over on a new connection.
  log(fmt::format("socket: request timed out, closing {} {}", server_.host, server_.port));
  last_error_ = "timeout";
  drop(errc::socket_closed);
}

void channel::on_socket_event(detail::socket_state& s, socket_event type, std::int32_t ud) {
  switch (type) {
    case socket_event::data:
      pump();
      break;
    case socket_event::close:
    case socket_event::error:
      on_closed(s);
      break;
    case socket_event::warning:
      on_warning(ud);
      break;
    default:
      break;
  }
}

void channel::on_closed(const detail::socket_state& s) {
  last_error_ = s.error.empty() ? "closed by peer" : s.error;
  if (waiting_ == 0) {
    log(fmt::format("socket closed by peer : {} {}", server_.host, server_.port));
  }
  drop(errc::socket_closed);
}

void channel::on_warning(std::int32_t kib) {
  if (!overload_) {
    if (kib > 0) log(fmt::format("WARNING: {} K bytes need to send out (fd = {})", kib, id_));
    return;
  }
  if (kib > 0 && !overloaded_) {
    overloaded_ = true;
    overload_(true);
  } else if (kib > 0) {
    log(fmt::format("WARNING: {} K bytes need to send out (fd = {}) {} {}", kib, id_, server_.host,
                    server_.port));
  } else if (kib == 0 && overloaded_) {
    overloaded_ = false;
    overload_(false);
  }
}

void channel::pump() {
  if (state_ == nullptr) return;
  if (session_mode()) {
    pump_sessions();
  } else {
    pump_order();
  }
}

void channel::pump_order() {
  while (head_ != nullptr && state_ != nullptr) {
    std::size_t used = 0;
    const parse_status status = head_->parse->parse(state_->unread_view(), used);
    state_->skip(used);
    if (status == parse_status::need_more) return;
    if (status == parse_status::failed) {
      last_error_ = head_->parse->failure();
      log(fmt::format("socket: protocol error {} {} {}", last_error_, server_.host, server_.port));
      drop(errc::protocol_error);
      return;
    }
    complete(*head_, false, {});
  }
}

void channel::pump_sessions() {
  while (state_ != nullptr) {
    frame f;
    std::size_t used = 0;
    const parse_status status = decoder_->parse(state_->unread_view(), used, f);
    if (status == parse_status::need_more) return;
    if (status == parse_status::failed || f.session <= 0) {
      last_error_ =
          status == parse_status::failed ? decoder_->failure() : "a reply without a session";
      log(fmt::format("socket: protocol error {} {} {}", last_error_, server_.host, server_.port));
      drop(errc::protocol_error);
      return;
    }
    if (waiter* w = sessions_.find(f.session); w == nullptr) {
      log(fmt::format("socket: unknown session : {}", f.session));
    } else if (f.ok && f.more) {
      w->reply->data.append(f.body);
    } else {
      if (f.ok) {
        w->reply->data.append(f.body);
      } else {
        w->reply->data.assign(f.body);  // a failure replaces the parts so far
      }
      w->reply->ok = f.ok;
      complete(*w, false, {});
    }
    state_->skip(used);  // the body pointed into the buffer until here
  }
}

}  // namespace starling
