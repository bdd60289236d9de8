// The socket verbs of actor (actor.hpp), over the socket table and the node's socket thread.

#include <fmt/format.h>

#include <stdexcept>
#include <utility>

#include "actor/actor.hpp"
#include "core/node.hpp"
#include "core/socket_message.hpp"
#include "net/socket_server.hpp"

namespace starling {

namespace {

using want = detail::socket_state::want;

/// Suspends until the socket's condition holds; the table's `apply` resumes it.
struct socket_wait {
  detail::socket_state& state;
  bool await_ready() const noexcept { return state.ready(); }
  void await_suspend(std::coroutine_handle<> waiter) noexcept { state.waiter = waiter; }
  void await_resume() const noexcept {}
};

/// A read or accept that cannot complete: the socket is gone, with the text of the error that
/// closed it, if one did.
net::failure closed_failure(const detail::socket_state* s) {
  return net::failure{errc::socket_closed, s != nullptr ? s->error : std::string()};
}

}  // namespace

net::socket_server& actor::socket_thread() {
  if (socket_thread_ == nullptr) {
    socket_thread_ = net::socket_server::of(*node_);
    if (socket_thread_ == nullptr) throw std::logic_error("this node has no socket thread");
  }
  return *socket_thread_;
}

detail::socket_state* actor::reader_state(socket_id id) {
  detail::socket_state* s = sockets_.find(id);
  if (s != nullptr && s->waiter) {
    throw std::logic_error(fmt::format("socket {} already has a reading coroutine", id));
  }
  return s;
}

task<actor::socket_result<detail::socket_state*>> actor::opened(socket_result<socket_id> id) {
  if (!id) co_return id.error();
  detail::socket_state& s = sockets_.add(*id);
  s.wanted = want::connected;
  co_await socket_wait{s};
  if (s.closed) {
    net::failure why{errc::socket_failed, std::move(s.error)};
    sockets_.erase(*id);
    co_return why;
  }
  co_return &s;
}

task<actor::socket_result<actor::socket_id>> actor::connect(std::string host, int port) {
  const net::socket_server::opened id = socket_thread().connect(handle_, host, port);
  const socket_result<detail::socket_state*> s = co_await opened(id);
  if (!s) co_return s.error();
  co_return *id;
}

task<actor::socket_result<actor::listening>> actor::listen(std::string host, int port,
                                                           int backlog) {
  const net::socket_server::opened id = socket_thread().listen(handle_, host, port, backlog);
  const socket_result<detail::socket_state*> s = co_await opened(id);
  if (!s) co_return s.error();
  socket_thread().start(handle_, *id);
  co_return listening{*id, (*s)->address, (*s)->port};
}

task<actor::socket_result<actor::accepted_socket>> actor::accept(socket_id listener) {
  detail::socket_state* s = reader_state(listener);
  if (s == nullptr) co_return closed_failure(nullptr);
  s->wanted = want::accepted;
  co_await socket_wait{*s};
  if (s->backlog.empty()) co_return closed_failure(s);
  accepted_socket next = std::move(s->backlog.front());
  s->backlog.pop_front();
  detail::socket_state& c = sockets_.add(next.id);
  c.wanted = want::connected;
  socket_thread().start(handle_, next.id);
  co_await socket_wait{c};
  if (c.closed) {
    net::failure why = closed_failure(&c);
    sockets_.erase(next.id);
    co_return why;
  }
  co_return next;
}

void actor::resume_reading(detail::socket_state& s) {
  if (!s.paused || s.ready()) return;
  s.paused = false;
  socket_thread().start(handle_, s.id);
}

task<actor::socket_result<std::string>> actor::read(socket_id id, std::size_t n) {
  detail::socket_state* s = reader_state(id);
  if (s == nullptr) co_return closed_failure(nullptr);
  s->wanted = want::bytes;
  s->wanted_bytes = n;
  resume_reading(*s);
  co_await socket_wait{*s};
  if (s->unread() < n) co_return closed_failure(s);
  co_return s->take(n);
}

task<actor::socket_result<std::string>> actor::read_some(socket_id id) {
  detail::socket_state* s = reader_state(id);
  if (s == nullptr) co_return closed_failure(nullptr);
  s->wanted = want::bytes;
  s->wanted_bytes = 1;
  resume_reading(*s);
  co_await socket_wait{*s};
  if (s->unread() == 0) co_return closed_failure(s);
  co_return s->take(s->unread());
}

task<actor::socket_result<std::string>> actor::read_line(socket_id id, std::string separator) {
  detail::socket_state* s = reader_state(id);
  if (s == nullptr) co_return closed_failure(nullptr);
  s->wanted = want::line;
  s->separator = std::move(separator);
  resume_reading(*s);
  co_await socket_wait{*s};
  const std::size_t at = s->unread_view().find(s->separator);
  if (at == std::string_view::npos) co_return closed_failure(s);
  std::string line = s->take(at);
  (void)s->take(s->separator.size());
  co_return line;
}

bool actor::write(socket_id id, payload bytes) {
  return socket_thread().send(id, std::move(bytes));
}

void actor::close(socket_id id) {
  socket_thread().close(handle_, id);
  detail::socket_state* s = sockets_.find(id);
  if (s == nullptr) return;
  if (s->closed) {
    sockets_.erase(id);  // nothing waits on a closed socket: a wait on it returns at once
  } else {
    s->closing = true;  // forgotten when its CLOSE comes, after the reader has been told
  }
}

void actor::on_socket(message& msg) {
  detail::socket_table::outcome out = sockets_.apply(msg);
  if (!out.handled) {
    on_message(msg);
    return;
  }
  const socket_message* head = read_socket_message(msg.data.data(), msg.data.size());
  const socket_id id = head->id;
  if (detail::socket_state* s = sockets_.find(id); s != nullptr && s->listener != nullptr) {
    if (out.shut_down) socket_thread().shutdown(handle_, id);
    s->listener->on_socket_event(*s, head->type, head->ud);  // may close and forget `s`
    run_wakeups();
    return;
  }
  if (!out.warning.empty()) log(out.warning);
  if (out.shut_down) socket_thread().shutdown(handle_, id);
  if (out.pause) socket_thread().pause(handle_, id);
  if (out.resume) resume(out.resume);
  if (detail::socket_state* s = sockets_.find(id); s != nullptr && s->closing && s->closed) {
    sockets_.erase(id);
  }
}

}  // namespace starling
