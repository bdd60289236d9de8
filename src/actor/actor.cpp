#include "actor/actor.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <utility>

#include "core/node.hpp"
#include "core/socket_message.hpp"
#include "net/socket_server.hpp"

namespace starling {

namespace {

std::vector<std::string> split_words(std::string_view text) {
  std::vector<std::string> words;
  std::size_t i = 0;
  while (i < text.size()) {
    i = text.find_first_not_of(" \t\r\n", i);
    if (i == std::string_view::npos) break;
    std::size_t end = text.find_first_of(" \t\r\n", i);
    if (end == std::string_view::npos) end = text.size();
    words.emplace_back(text.substr(i, end - i));
    i = end;
  }
  return words;
}

}  // namespace

actor::~actor() {
  // Destroying a suspended frame destroys what it awaits and the requests it holds, which
  // fail their calls: the service's callers are told it is gone.
  while (live_head_ != nullptr) {
    detail::promise_base* p = live_head_;
    live_head_ = p->live_next;
    p->frame().destroy();
  }
  // A registered socket implies the server was found.
  if (socket_thread_ != nullptr) {
    for (socket_id id : sockets_.release_all())
      socket_thread_->close(handle_, id);
  }
}

bool actor::init(context& self, std::string_view param) {
  node_ = &self.owner();
  context_ = &self;
  handle_ = self.handle();
  args_ = split_words(param);
  // Like skynet.start: the start coroutine runs as the first message, on a worker.
  start_session_ = fresh_session();
  self.timeout(0, start_session_);
  return true;
}

task<> actor::start(std::vector<std::string> args) {
  (void)args;
  co_return;
}

task<> actor::run_start(std::vector<std::string> args) {
  std::string failure;
  try {
    co_await start(std::move(args));
  } catch (const std::exception& e) {
    failure = e.what();
  }
  if (!failure.empty()) {
    log(fmt::format("init service failed: {}", failure));
    co_await exit();  // the waiters' calls fail when the service goes
  }
  started_ = true;
  for (request& waiter : start_waiters_)
    waiter.reply_raw({});
  start_waiters_.clear();
}

task<result<handle_t>> actor::newservice(std::string module, std::string param) {
  const handle_t h = launch(module, param);
  if (h == 0) co_return errc::call_failed;
  // A start function may take as long as it needs: no deadline, not even call_timeout.
  auto started = co_await call_awaitable(*this, h, ptype::system, {}, no_deadline);
  if (!started) co_return errc::call_failed;
  co_return h;
}

task<> actor::on_request(request req) {
  req.fail();
  co_return;
}

task<> actor::on_shutdown(std::string reason) {
  (void)reason;
  co_return;
}

task<> actor::run_shutdown(std::string reason) {
  try {
    co_await on_shutdown(std::move(reason));
  } catch (const std::exception& e) {
    log(fmt::format("error: on_shutdown: {}", e.what()));
  }
  node_->shutdown().done(handle_);
}

void actor::watch_shutdown() {
  node_->shutdown().watch(handle_);
}

void actor::on_debug(message& msg) {
  try {
    const seri::value_list values = seri::unpack(msg.data.bytes());
    if (msg.session == 0 && !values.empty() && values[0].is_string() &&
        values[0].as_string() == "SHUTDOWN") {
      std::string reason;
      if (values.size() > 1 && values[1].is_string()) reason = values[1].as_string();
      adopt(run_shutdown(std::move(reason)));
      return;
    }
  } catch (const seri::error&) {
    // Not ours: treated as any unknown message.
  }
  on_message(msg);
}

void actor::on_message(message& msg) {
  release_socket_buffer(msg);  // nobody here takes the bytes
  if (msg.session != 0) {
    node_->send(handle_, msg.source, ptype::error, msg.session, {});
    return;
  }
  log(fmt::format("Unknown message type {} from {}", static_cast<int>(msg.type),
                  format_handle(msg.source)));
}

void actor::dispatch(context& self, message& msg) {
  (void)self;
  switch (msg.type) {
    case ptype::response:
      on_response(msg);
      break;
    case ptype::error:
      on_error(msg);
      break;
    case ptype::lua:
      adopt(on_request(request(*node_, handle_, std::move(msg))));
      break;
    case ptype::socket:
      on_socket(msg);
      break;
    case ptype::debug:
      on_debug(msg);
      break;
    case ptype::system:
      if (msg.session != 0 && msg.data.empty()) {
        request asking(*node_, handle_, std::move(msg));
        if (started_) {
          asking.reply_raw({});
        } else {
          start_waiters_.push_back(std::move(asking));
        }
        break;
      }
      on_message(msg);
      break;
    default:
      on_message(msg);
      break;
  }
  while (!forks_.empty() && !exiting_) {
    task<> next = std::move(forks_.front());
    forks_.pop_front();
    adopt(std::move(next));
  }
}

void actor::on_response(message& msg) {
  if (msg.session == start_session_ && start_session_ != 0) {
    start_session_ = 0;
    adopt(run_start(std::move(args_)));
    return;
  }
  detail::pending_op* op = pending_.take(msg.session);
  if (op == nullptr) return;  // a late answer to a call that timed out, or a woken sleep
  if (msg.session == op->timer_session) {
    op->failed = true;
    op->error = errc::timeout;
    pending_.take(op->session);
  } else {
    if (op->timer_session != 0) pending_.take(op->timer_session);
    op->body = std::move(msg.data);
  }
  if (op->token != nullptr) sleeping_.erase(op->token);
  resume(op->waiter);
}

void actor::on_error(message& msg) {
  if (msg.session != 0) {
    detail::pending_op* op = pending_.find(msg.session);
    if (op == nullptr || op->session != msg.session || op->token != nullptr) return;
    pending_.take(msg.session);
    if (op->timer_session != 0) pending_.take(op->timer_session);
    op->failed = true;
    op->error = errc::call_failed;
    resume(op->waiter);
    return;
  }
  // Session 0: the source is gone; every call waiting on it fails.
  std::vector<detail::pending_op*> orphaned;
  pending_.for_each([&](std::int32_t session, detail::pending_op* op) {
    if (op->watched == msg.source && op->session == session) orphaned.push_back(op);
  });
  for (detail::pending_op* op : orphaned) {
    pending_.take(op->session);
    if (op->timer_session != 0) pending_.take(op->timer_session);
    op->failed = true;
    op->error = errc::call_failed;
  }
  for (detail::pending_op* op : orphaned)
    resume(op->waiter);
}

void actor::adopt(task<> t) {
  auto frame = t.release();
  detail::promise_base& p = frame.promise();
  p.detach_to(this, frame);
  p.live_next = live_head_;
  if (live_head_ != nullptr) live_head_->live_prev = &p;
  live_head_ = &p;
  resume(frame);
}

void actor::on_task_done(detail::promise_base& done, std::exception_ptr error) noexcept {
  if (done.live_prev != nullptr) {
    done.live_prev->live_next = done.live_next;
  } else {
    live_head_ = done.live_next;
  }
  if (done.live_next != nullptr) done.live_next->live_prev = done.live_prev;
  if (error) {
    try {
      std::rethrow_exception(error);
    } catch (const std::exception& e) {
      log(fmt::format("error: {}", e.what()));
    } catch (...) {
      log("error: unknown exception");
    }
  }
  done.frame().destroy();
}

void actor::resume(std::coroutine_handle<> waiter) {
  waiter.resume();
  run_wakeups();
}

void actor::run_wakeups() {
  // Woken coroutines run as soon as the one that woke them suspends, in wakeup order.
  while (!wakeups_.empty() && !exiting_) {
    detail::pending_op* op = wakeups_.front();
    wakeups_.pop_front();
    op->waiter.resume();
  }
}

std::int32_t actor::fresh_session() {
  // Skip sessions still awaited: after the counter wraps, one may still be pending.
  std::int32_t session = context_->new_session();
  while (pending_.find(session) != nullptr)
    session = context_->new_session();
  return session;
}

// ---- verbs ---------------------------------------------------------------------------

bool actor::send_raw(address dest, ptype type, payload body) {
  if (dest.is_handle()) return node_->send(handle_, dest.handle(), type, 0, std::move(body));
  return node_->send(handle_, dest.text(), type, 0, std::move(body));
}

bool actor::wakeup(const void* token) {
  auto it = sleeping_.find(token);
  if (it == sleeping_.end()) {
    // Already woken but not resumed yet still counts, as in skynet.
    return std::any_of(wakeups_.begin(), wakeups_.end(),
                       [token](const detail::pending_op* op) { return op->token == token; });
  }
  detail::pending_op* op = it->second;
  sleeping_.erase(it);
  pending_.take(op->session);
  op->failed = true;
  op->error = errc::interrupted;
  wakeups_.push_back(op);
  return true;
}

handle_t actor::launch(std::string_view module, std::string_view param) {
  return node_->launch(module, param);
}

void actor::log(std::string_view text) const {
  node_->log(handle_, text);
}

// ---- awaitables ----------------------------------------------------------------------

bool actor::call_awaitable::await_ready() {
  const std::int32_t session = owner_.fresh_session();
  node& runtime = *owner_.node_;
  bool sent = false;
  if (dest_.is_handle()) {
    op_.watched = dest_.handle();
    sent = runtime.send(owner_.handle_, dest_.handle(), type_, session, std::move(body_));
  } else {
    op_.watched = runtime.resolve(dest_.text()).value_or(0);
    sent = runtime.send(owner_.handle_, dest_.text(), type_, session, std::move(body_));
  }
  if (!sent) {
    op_.failed = true;
    op_.error = errc::invalid_address;
    return true;
  }
  op_.session = session;
  owner_.pending_.put(session, &op_);
  const std::int64_t deadline = ticks_ == 0 ? runtime.options().call_timeout : ticks_;
  if (deadline > 0) {
    op_.timer_session = owner_.fresh_session();
    owner_.pending_.put(op_.timer_session, &op_);
    owner_.context_->timeout(deadline, op_.timer_session);
  }
  return false;
}

result<reply> actor::call_awaitable::await_resume() {
  if (op_.failed) return op_.error;
  return reply(std::move(op_.body));
}

void actor::sleep_awaitable::await_suspend(std::coroutine_handle<> waiter) {
  op_.waiter = waiter;
  op_.session = owner_.fresh_session();
  op_.token = token_ != nullptr ? token_ : waiter.address();
  owner_.pending_.put(op_.session, &op_);
  owner_.sleeping_[op_.token] = &op_;
  if (timed_) owner_.context_->timeout(ticks_, op_.session);
}

result<void> actor::sleep_awaitable::await_resume() const noexcept {
  if (op_.failed) return op_.error;
  return {};
}

void actor::exit_awaitable::await_suspend(std::coroutine_handle<> waiter) noexcept {
  (void)waiter;  // never resumed: destroyed with the service
  owner.exiting_ = true;
  owner.forks_.clear();
  owner.wakeups_.clear();
  owner.context_->exit();
}

}  // namespace starling
