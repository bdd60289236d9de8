// net::socket_server, the socket thread's half: the poll's leader runs the requests the
// calling threads queued, handles the poller's events, and paces throttled sockets.
#include "net/socket_server_impl.hpp"

namespace starling::net {

// ---- the socket thread: loop and requests ------------------------------------------------

bool socket_server::impl::poll(std::uint64_t deadline_ns) {
  bool resumed = false;
  if (!throttled_.empty()) {
    const std::uint64_t now = monotonic_ns();
    if (now - paced_at_ns_ >= pace_interval_ns) resumed = pace(now);
  }
  const int n = poller_.wait(events_, deadline_ns);
  bool handled = false;
  for (int i = 0; i < n;) {
    const poll_event& event = events_[static_cast<std::size_t>(i)];
    // Cleared before the queue is read, so a request pushed meanwhile signals again.
    if (event.key == wakeup_key) {
      requests_.clear_signal();
    } else {
      handled = true;
    }
    // Requests first: a close among them turns the socket's pending events stale.
    drain_requests();
    if (event.key == wakeup_key || !handle(event)) ++i;
  }
  // A resumed socket is I/O to come: the caller treats it as an event.
  return handled || resumed;
}

void socket_server::impl::drain_requests() {
  requests_.take(batch_);
  for (request& r : batch_)
    std::visit([this](auto& item) { on(item); }, r);
  batch_.clear();
}

socket_slot* socket_server::impl::reserved(std::int32_t id) {
  socket_slot* s = table_.find(id);
  return s != nullptr && s->state.load(std::memory_order_relaxed) == socket_state::reserved
             ? s
             : nullptr;
}

bool socket_server::impl::open_slot(socket_slot& s, unique_fd fd, handle_t owner,
                                    socket_state state, bool read, bool write) {
  const std::int32_t id = s.id.load(std::memory_order_relaxed);
  s.owner = owner;
  s.family = AF_INET;
  s.reading = read;
  s.writing = write;
  s.close_sent = false;
  s.throttled = false;
  s.sink = 0;
  s.read_size = min_read_size;
  s.warn_size = 0;
  s.bytes_read = 0;
  s.read_time = 0;
  s.endpoint.clear();
  s.udp_peer.reset();
  s.bytes_written.store(0, std::memory_order_relaxed);
  s.write_time.store(0, std::memory_order_relaxed);
  if (!poller_.add(fd.get(), static_cast<std::uint64_t>(id), read, write)) {
    const int error = errno;
    if (!s.owns_fd) (void)fd.release();
    s.owns_fd = true;
    set_state(s, socket_state::invalid);
    post(owner, socket_event::error, id, 0, error_text(error));
    return false;
  }
  std::lock_guard lock(s.lock);
  s.fd = std::move(fd);
  s.state.store(state, std::memory_order_release);
  return true;
}

void socket_server::impl::set_state(socket_slot& s, socket_state state) {
  std::lock_guard lock(s.lock);
  s.state.store(state, std::memory_order_release);
}

void socket_server::impl::set_reading(socket_slot& s, bool on) {
  if (s.reading == on) return;
  s.reading = on;
  // A throttled socket stays out of epoll's read set: its pace decides when it reads.
  if (!s.throttled) update_events(s, on ? "enable read failed" : std::string_view());
}

void socket_server::impl::set_writing(socket_slot& s, bool on) {
  if (s.writing == on) return;
  s.writing = on;
  update_events(s, on ? "enable write failed" : "disable write failed");
}

bool socket_server::impl::update_events(socket_slot& s, std::string_view failure) {
  if (poller_.modify(s.fd.get(), static_cast<std::uint64_t>(s.id.load()), s.reading && !s.throttled,
                     s.writing)) {
    return true;
  }
  if (!failure.empty()) post(s.owner, socket_event::error, s.id.load(), 0, failure);
  return false;
}

void socket_server::impl::force_close(socket_slot& s) {
  poller_.remove(s.fd.get());
  s.datagrams.clear();
  s.datagram_bytes = 0;
  std::lock_guard lock(s.lock);
  s.queue.clear();
  if (s.owns_fd) {
    s.fd.reset();
  } else {
    (void)s.fd.release();
    s.owns_fd = true;
  }
  s.closing.store(false, std::memory_order_relaxed);
  s.state.store(socket_state::invalid, std::memory_order_release);
}

void socket_server::impl::send_close(socket_slot& s) {
  if (s.close_sent) return;
  s.close_sent = true;
  post(s.owner, socket_event::close, s.id.load(), 0, malloc_ptr<>());
}

void socket_server::impl::close_and_report(socket_slot& s) {
  const bool report = !s.close_sent;
  const handle_t owner = s.owner;
  const std::int32_t id = s.id.load();
  force_close(s);
  if (report) post(owner, socket_event::close, id, 0, malloc_ptr<>());
}

void socket_server::impl::close_read(socket_slot& s) {
  ::shutdown(s.fd.get(), SHUT_RD);
  set_reading(s, false);
  set_state(s, socket_state::half_close_read);
  send_close(s);
}

void socket_server::impl::on(req::listen& r) {
  socket_slot* s = reserved(r.id);
  if (s == nullptr) return;
  const std::optional<socket_address> bound = local_address(r.fd.get());
  if (!open_slot(*s, std::move(r.fd), r.owner, socket_state::plisten, false, false)) return;
  if (bound) {
    s->family = bound->family();
    s->endpoint = endpoint_text(*bound);
  }
  post(r.owner, socket_event::connect, r.id, bound ? port_of(*bound) : 0,
       bound ? ip_text(*bound) : std::string());
}

void socket_server::impl::on(req::connect& r) {
  socket_slot* s = reserved(r.id);
  if (s == nullptr) return;
  const auto addresses = resolve_endpoint(r.host, r.port, SOCK_STREAM, false);
  std::string why = addresses ? std::string() : addresses.error().detail;
  const std::vector<socket_address> none;
  unique_fd fd;
  bool done = false;
  int family = AF_INET;
  for (const socket_address& a : addresses ? addresses.value() : none) {
    fd.reset(::socket(a.family(), SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
    if (!fd) {
      why = error_text(errno);
      continue;
    }
    set_option(fd.get(), SOL_SOCKET, SO_KEEPALIVE);
    if (::connect(fd.get(), a.get(), a.length) == 0 || errno == EINPROGRESS) {
      done = errno != EINPROGRESS;
      family = a.family();
      break;
    }
    why = error_text(errno);
    fd.reset();
  }
  if (!fd) {
    set_state(*s, socket_state::invalid);
    post(r.owner, socket_event::error, r.id, 0, why);
    return;
  }
  // Connecting: wait for writability, which tells the outcome (finish_connect).
  if (!open_slot(*s, std::move(fd), r.owner,
                 done ? socket_state::connected : socket_state::connecting, done, !done)) {
    return;
  }
  s->family = family;
  if (done) finish_connect(*s);
}

void socket_server::impl::on(req::bind& r) {
  socket_slot* s = reserved(r.id);
  if (s == nullptr) return;
  if (const int flags = ::fcntl(r.fd, F_GETFL); flags >= 0) {
    ::fcntl(r.fd, F_SETFL, flags | O_NONBLOCK);
  }
  s->owns_fd = false;
  if (!open_slot(*s, unique_fd(r.fd), r.owner, socket_state::bind, true, false)) return;
  post(r.owner, socket_event::connect, r.id, 0, "binding");
}

void socket_server::impl::on(req::start& r) {
  socket_slot* s = table_.find(r.id);
  const socket_state state =
      s != nullptr ? s->state.load(std::memory_order_relaxed) : socket_state::invalid;
  if (state == socket_state::invalid || state == socket_state::reserved) {
    post(r.owner, socket_event::error, r.id, 0, "invalid socket");
    return;
  }
  if (state == socket_state::half_close_read) {
    post(r.owner, socket_event::error, r.id, 0, "socket closed");
    return;
  }
  s->owner = r.owner;
  switch (state) {
    case socket_state::paccept:
      set_state(*s, socket_state::connected);
      set_reading(*s, true);
      post(r.owner, socket_event::connect, r.id, 0, "start");
      break;
    case socket_state::plisten:
      set_state(*s, socket_state::listen);
      set_reading(*s, true);
      post(r.owner, socket_event::connect, r.id, 0, "start");
      break;
    case socket_state::connected:
      set_reading(*s, true);
      post(r.owner, socket_event::connect, r.id, 0, "transfer");
      break;
    case socket_state::connecting:
      break;  // reading starts with the connection
    default:
      set_reading(*s, true);
      break;
  }
}

void socket_server::impl::on(req::pause& r) {
  socket_slot* s = table_.find(r.id);
  if (s == nullptr || s->state.load(std::memory_order_relaxed) == socket_state::reserved) return;
  set_reading(*s, false);
}

void socket_server::impl::on(req::close& r) {
  socket_slot* s = table_.find(r.id);
  if (s == nullptr) return;
  const socket_state state = s->state.load(std::memory_order_relaxed);
  // Not set up yet: the request that sets it up is still ahead in the FIFO of some thread.
  if (state == socket_state::reserved) return;
  bool pending = false;
  {
    std::lock_guard lock(s->lock);
    pending = !s->queue.empty();
  }
  const bool graceful = !r.abortive && pending &&
                        (state == socket_state::connected ||
                         state == socket_state::half_close_read || state == socket_state::bind);
  if (!graceful) {
    close_and_report(*s);
    return;
  }
  // Keep flushing; the fd is closed once the queue drains (flush).
  s->closing.store(true, std::memory_order_release);
  if (state != socket_state::half_close_read) close_read(*s);
}

void socket_server::impl::on(req::nodelay& r) {
  socket_slot* s = table_.find(r.id);
  if (s == nullptr || s->protocol.load(std::memory_order_relaxed) != socket_protocol::tcp ||
      !s->fd) {
    return;
  }
  set_option(s->fd.get(), IPPROTO_TCP, TCP_NODELAY);
}

void socket_server::impl::on(req::send& r) {
  // Every send request leaves the FIFO here, for whatever id now holds the slot.
  socket_slot& counted = *table_.slot_of(r.id);
  struct leave {
    socket_slot& slot;
    std::size_t bytes;
    ~leave() { slot.in_flight.fetch_sub(bytes, std::memory_order_acq_rel); }
  } on_exit{counted, r.data.size()};

  socket_slot* s = table_.find(r.id);
  if (s == nullptr) return;
  if (s->protocol.load(std::memory_order_relaxed) == socket_protocol::udp) {
    queue_datagram(*s, datagram{std::move(r.data), std::nullopt});
    return;
  }
  const socket_state state = s->state.load(std::memory_order_relaxed);
  if (state == socket_state::plisten || state == socket_state::listen) {
    runtime_.log(0, fmt::format("socket-server error: write to listen fd {}.", r.id));
    return;
  }
  if (state == socket_state::half_close_write || state == socket_state::paccept ||
      state == socket_state::reserved || s->closing.load(std::memory_order_relaxed)) {
    return;  // dropped; the caller was told yes, as skynet tells it
  }
  std::size_t backlog = 0;
  {
    std::lock_guard lock(s->lock);
    s->queue.push(std::move(r.data), r.level);
    backlog = s->queue.bytes();
  }
  if (state != socket_state::connecting) set_writing(*s, true);
  check_backlog(*s, backlog);
}

void socket_server::impl::on(req::flush_rest& r) {
  socket_slot* s = table_.find(r.id);
  if (s == nullptr) return;
  std::size_t backlog = 0;
  {
    std::lock_guard lock(s->lock);
    backlog = s->queue.bytes();
  }
  if (backlog == 0) return;
  set_writing(*s, true);
  check_backlog(*s, backlog);
}

void socket_server::impl::on(req::over_limit& r) {
  socket_slot* s = table_.find(r.id);
  if (s == nullptr) return;
  runtime_.log(0, fmt::format("socket-server: close socket {} ({}): {} bytes to send would pass "
                              "socket_write_limit ({})",
                              r.id, s->endpoint, r.unsent, write_limit_));
  const handle_t owner = s->owner;
  force_close(*s);
  runtime_.release_memory_soon();
  post(owner, socket_event::error, r.id, 0, "write buffer over socket_write_limit");
}

void socket_server::impl::on(req::sink& r) {
  if (socket_slot* s = table_.find(r.id)) s->sink = r.service;
}

void socket_server::impl::check_backlog(socket_slot& s, std::size_t bytes) {
  if (bytes < warn_threshold || bytes < s.warn_size) return;
  s.warn_size = s.warn_size == 0 ? 2 * warn_threshold : 2 * s.warn_size;
  post(s.owner, socket_event::warning, s.id.load(),
       static_cast<std::int32_t>((bytes + 1023) / 1024), malloc_ptr<>());
}

void socket_server::impl::on(req::udp_open& r) {
  socket_slot* s = reserved(r.id);
  if (s == nullptr) return;
  if (!open_slot(*s, std::move(r.fd), r.owner, socket_state::connected, true, false)) return;
  s->family = r.family;
  s->udp_peer = r.peer;
  if (r.peer) s->endpoint = endpoint_text(*r.peer);
}

void socket_server::impl::on(req::udp_connect& r) {
  socket_slot* s = table_.find(r.id);
  if (s == nullptr || s->protocol.load(std::memory_order_relaxed) != socket_protocol::udp ||
      s->state.load(std::memory_order_relaxed) == socket_state::reserved) {
    return;
  }
  if (r.peer.family() != s->family) {
    post(s->owner, socket_event::error, r.id, 0, "protocol mismatch");
    return;
  }
  s->udp_peer = r.peer;
  s->endpoint = endpoint_text(r.peer);
}

void socket_server::impl::on(req::udp_send& r) {
  socket_slot* s = table_.find(r.id);
  if (s == nullptr || s->protocol.load(std::memory_order_relaxed) != socket_protocol::udp ||
      s->state.load(std::memory_order_relaxed) == socket_state::reserved) {
    return;
  }
  if (r.to.family() != s->family) {
    runtime_.log(0, fmt::format("socket-server : udp ({}) type mismatch.", r.id));
    return;
  }
  queue_datagram(*s, datagram{std::move(r.data), r.to});
}

std::vector<socket_info> socket_server::impl::collect_info() {
  std::vector<socket_info> lines;
  table_.for_each([&](socket_slot& s) {
    const socket_state state = s.state.load(std::memory_order_relaxed);
    socket_info line;
    switch (state) {
      case socket_state::listen:
        line.type = socket_info::kind::listen;
        break;
      case socket_state::connected:
        line.type = s.protocol.load() == socket_protocol::udp ? socket_info::kind::udp
                                                              : socket_info::kind::tcp;
        break;
      case socket_state::half_close_read:
      case socket_state::half_close_write:
        line.type = socket_info::kind::closing;
        break;
      case socket_state::bind:
        line.type = socket_info::kind::bind;
        break;
      default:
        return;
    }
    line.id = s.id.load(std::memory_order_relaxed);
    line.owner = s.owner;
    line.read = s.bytes_read;
    line.write = s.bytes_written.load(std::memory_order_relaxed);
    {
      std::lock_guard lock(s.lock);
      line.wbuffer = s.queue.bytes() + s.datagram_bytes;
    }
    line.rtime = s.read_time;
    line.wtime = s.write_time.load(std::memory_order_relaxed);
    line.reading = s.reading;
    line.writing = s.writing;
    line.throttled = s.throttled;
    line.endpoint = s.endpoint;
    lines.push_back(std::move(line));
  });
  return lines;
}

// ---- the socket thread: events -------------------------------------------------------------

bool socket_server::impl::handle(const poll_event& event) {
  socket_slot* s = table_.find(static_cast<std::int32_t>(event.key));
  if (s == nullptr) return false;  // closed since the wait returned
  switch (s->state.load(std::memory_order_relaxed)) {
    case socket_state::connecting:
      finish_connect(*s);
      return false;
    case socket_state::listen:
      if (event.readable) accept_one(*s);
      return false;
    case socket_state::invalid:
    case socket_state::reserved:
    case socket_state::plisten:
      return false;
    default:
      break;
  }
  const bool readable = event.readable && s->reading && !s->throttled;
  if (s->protocol.load(std::memory_order_relaxed) == socket_protocol::udp) {
    if (readable) receive_datagram(*s);
    if (event.writable && s->writing && table_.find(static_cast<std::int32_t>(event.key))) {
      flush_datagrams(*s);
    }
    if (event.error && !event.readable && !event.writable) report_socket_error(*s);
    return false;
  }
  // One action per event, as skynet: a read (then a write on the same event), else a write,
  // else the error, else the hangup. Level triggering brings back what was left.
  bool acted = false;
  if (readable) {
    acted = true;
    switch (read_stream(*s)) {
      case read_result::more:
        return true;
      case read_result::stop:
        return false;
      case read_result::idle:
        break;
    }
  }
  if (event.writable && s->writing) {
    flush(*s);
    return false;
  }
  if (acted) return false;
  if (event.error) {
    report_socket_error(*s);
  } else if (event.hangup) {
    // A read-closed socket has sent its CLOSE already; close_and_report knows.
    close_and_report(*s);
  }
  return false;
}

void socket_server::impl::report_socket_error(socket_slot& s) {
  int error = 0;
  socklen_t length = sizeof error;
  std::string text;
  if (::getsockopt(s.fd.get(), SOL_SOCKET, SO_ERROR, &error, &length) != 0) {
    text = error_text(errno);
  } else {
    text = error != 0 ? error_text(error) : "Unknown error";
  }
  post(s.owner, socket_event::error, s.id.load(), 0, text);
}

void socket_server::impl::accept_one(socket_slot& listener) {
  socket_address peer;
  peer.length = sizeof peer.storage;
  unique_fd fd(
      ::accept4(listener.fd.get(), peer.get(), &peer.length, SOCK_NONBLOCK | SOCK_CLOEXEC));
  const std::int32_t listener_id = listener.id.load();
  if (!fd) {
    const int error = errno;
    if (error == EMFILE || error == ENFILE) {
      // Out of fds: the pending connection would wake us forever. Give up the spare fd to
      // take it and drop it, then tell the owner.
      spare_.reset();
      unique_fd(::accept(listener.fd.get(), nullptr, nullptr)).reset();
      spare_.reset(::open("/dev/null", O_RDONLY | O_CLOEXEC));
      post(listener.owner, socket_event::error, listener_id, 0, error_text(error));
    } else if (error != EAGAIN && error != EWOULDBLOCK && error != EINTR && error != ECONNABORTED) {
      post(listener.owner, socket_event::error, listener_id, 0, error_text(error));
    }
    return;
  }
  set_option(fd.get(), SOL_SOCKET, SO_KEEPALIVE);
  const std::int32_t id = table_.reserve(socket_protocol::tcp);
  if (id < 0) return;  // no free slot: the connection is dropped
  socket_slot& s = *table_.slot_of(id);
  if (!open_slot(s, std::move(fd), listener.owner, socket_state::paccept, false, false)) return;
  s.family = peer.family();
  s.endpoint = endpoint_text(peer);
  ++listener.bytes_read;
  listener.read_time = runtime_.now();
  post(listener.owner, socket_event::accept, listener_id, id, s.endpoint);
}

void socket_server::impl::finish_connect(socket_slot& s) {
  int error = 0;
  socklen_t length = sizeof error;
  if (::getsockopt(s.fd.get(), SOL_SOCKET, SO_ERROR, &error, &length) != 0) error = errno;
  std::optional<socket_address> peer;
  if (error == 0) {
    peer = peer_address(s.fd.get());
    if (!peer) error = errno;
  }
  if (error != 0) {
    const handle_t owner = s.owner;
    const std::int32_t id = s.id.load();
    force_close(s);
    post(owner, socket_event::error, id, 0, error_text(error));
    return;
  }
  s.endpoint = endpoint_text(*peer);
  bool pending = false;
  {
    std::lock_guard lock(s.lock);
    pending = !s.queue.empty();
    s.state.store(socket_state::connected, std::memory_order_release);
  }
  set_reading(s, true);
  set_writing(s, pending);
  post(s.owner, socket_event::connect, s.id.load(), 0, ip_text(*peer));
}

socket_server::impl::read_result socket_server::impl::read_stream(socket_slot& s) {
  const std::size_t size = s.read_size;
  // NOLINTNEXTLINE(*-no-malloc): message bodies are malloc'd (base/payload.hpp)
  malloc_ptr<> buffer(std::malloc(size));
  const ssize_t n = ::read(s.fd.get(), buffer.get(), size);
  if (n < 0) {
    if (errno == EINTR || errno == EAGAIN || errno == EWOULDBLOCK) return read_result::idle;
    post(s.owner, socket_event::error, s.id.load(), 0, error_text(errno));
    return read_result::stop;
  }
  if (n == 0) {
    peer_eof(s);
    return read_result::stop;
  }
  const auto got = static_cast<std::size_t>(n);
  s.bytes_read += got;
  s.read_time = runtime_.now();
  if (got == size) {
    s.read_size = size * 2;
  } else if (size > min_read_size && got * 2 < size) {
    s.read_size = size / 2;
  }
  post(s.owner, socket_event::data, s.id.load(), static_cast<std::int32_t>(got), std::move(buffer));
  if (throttle_if_crowded(s)) return read_result::idle;
  return got == size ? read_result::more : read_result::idle;
}

void socket_server::impl::peer_eof(socket_slot& s) {
  // Closing: the read side is shut already and the fd goes when the queue drains.
  if (s.closing.load(std::memory_order_relaxed)) return;
  if (s.state.load(std::memory_order_relaxed) == socket_state::half_close_write) {
    close_and_report(s);
  } else {
    close_read(s);
  }
}

void socket_server::impl::flush(socket_slot& s) {
  std::unique_lock lock(s.lock);
  const write_queue::flush_result result = s.queue.flush(s.fd.get());
  const bool drained = s.queue.empty();
  lock.unlock();
  if (result.written > 0) {
    s.bytes_written.fetch_add(result.written, std::memory_order_relaxed);
    s.write_time.store(runtime_.now(), std::memory_order_relaxed);
  }
  if (result.error != 0) {
    write_failed(s, result.error);
    return;
  }
  if (!drained) return;
  if (s.closing.load(std::memory_order_relaxed)) {
    force_close(s);
    return;
  }
  set_writing(s, false);
  if (s.warn_size != 0) {
    s.warn_size = 0;
    post(s.owner, socket_event::warning, s.id.load(), 0, malloc_ptr<>());
    runtime_.release_memory_soon();  // a backlog of a MiB or more has just been freed
  }
}

void socket_server::impl::write_failed(socket_slot& s, int error) {
  if (s.closing.load(std::memory_order_relaxed) ||
      s.state.load(std::memory_order_relaxed) == socket_state::half_close_read) {
    force_close(s);  // its CLOSE went out already
    return;
  }
  {
    std::lock_guard lock(s.lock);
    s.queue.clear();
    s.state.store(socket_state::half_close_write, std::memory_order_release);
  }
  ::shutdown(s.fd.get(), SHUT_WR);
  set_writing(s, false);
  post(s.owner, socket_event::error, s.id.load(), 0, error_text(error));
}

// ---- the socket thread: UDP ------------------------------------------------------------------

void socket_server::impl::receive_datagram(socket_slot& s) {
  socket_address from;
  from.length = sizeof from.storage;
  const ssize_t n =
      ::recvfrom(s.fd.get(), udp_buffer_.data(), udp_buffer_.size(), 0, from.get(), &from.length);
  if (n < 0) {
    const int error = errno;
    if (error == EINTR || error == EAGAIN || error == EWOULDBLOCK) return;
    const handle_t owner = s.owner;
    const std::int32_t id = s.id.load();
    force_close(s);
    post(owner, socket_event::error, id, 0, error_text(error));
    return;
  }
  if (from.family() != s.family) return;
  const udp_blob blob = encode_udp_address(from);
  const auto size = static_cast<std::size_t>(n);
  // The sender's address follows the data; ud tells where the data ends.
  // NOLINTNEXTLINE(*-no-malloc): message bodies are malloc'd (base/payload.hpp)
  malloc_ptr<> buffer(std::malloc(size + blob.size));
  if (size > 0) std::memcpy(buffer.get(), udp_buffer_.data(), size);
  std::memcpy(static_cast<std::byte*>(buffer.get()) + size, blob.bytes.data(), blob.size);
  s.bytes_read += size;
  s.read_time = runtime_.now();
  post(s.owner, socket_event::udp, s.id.load(), static_cast<std::int32_t>(size), std::move(buffer));
  throttle_if_crowded(s);
}

void socket_server::impl::queue_datagram(socket_slot& s, datagram d) {
  if (s.datagrams.empty() && send_datagram(s, d)) return;
  s.datagram_bytes += d.data.size();
  s.datagrams.push_back(std::move(d));
  set_writing(s, true);
}

bool socket_server::impl::send_datagram(socket_slot& s, const datagram& d) {
  const std::optional<socket_address>& to = d.to ? d.to : s.udp_peer;
  const ssize_t n = ::sendto(s.fd.get(), d.data.data(), d.data.size(), 0, to ? to->get() : nullptr,
                             to ? to->length : 0);
  if (n < 0) {
    const int error = errno;
    if (error == EAGAIN || error == EWOULDBLOCK || error == EINTR) return false;
    runtime_.log(0, fmt::format("socket-server : udp ({}) sendto error {}.", s.id.load(),
                                error_text(error)));
    return true;  // dropped
  }
  s.bytes_written.fetch_add(d.data.size(), std::memory_order_relaxed);
  s.write_time.store(runtime_.now(), std::memory_order_relaxed);
  return true;
}

void socket_server::impl::flush_datagrams(socket_slot& s) {
  while (!s.datagrams.empty()) {
    if (!send_datagram(s, s.datagrams.front())) return;
    s.datagram_bytes -= s.datagrams.front().data.size();
    s.datagrams.pop_front();
  }
  set_writing(s, false);
}

// ---- the socket thread: backpressure ----------------------------------------------------------

bool socket_server::impl::crowded(handle_t service, std::size_t length, std::size_t weight) const {
  if (service == 0) return false;
  const std::optional<std::size_t> queued = runtime_.queue_length(service);
  return queued && *queued * weight >= length;
}

bool socket_server::impl::throttle_if_crowded(socket_slot& s) {
  // The owner's mailbox holds this socket's reads, the sink's what the owner made of them.
  const std::size_t weight = read_weight(s);
  if (pause_mqlen_ == 0 ||
      (!crowded(s.owner, pause_mqlen_, weight) && !crowded(s.sink, pause_mqlen_, weight))) {
    return false;
  }
  s.throttled = true;
  if (s.reading) update_events(s, std::string_view());
  throttled_.push_back(s.id.load(std::memory_order_relaxed));
  return true;
}

bool socket_server::impl::pace(std::uint64_t now) {
  paced_at_ns_ = now;
  const std::size_t drained = pause_mqlen_ / 2;
  bool resumed = false;
  std::erase_if(throttled_, [&](std::int32_t id) {
    socket_slot* s = table_.find(id);
    if (s == nullptr || !s->throttled) return true;  // closed (the slot may be another's now)
    const std::size_t weight = read_weight(*s);
    if (crowded(s->owner, drained + 1, weight) || crowded(s->sink, drained + 1, weight)) {
      return false;
    }
    s->throttled = false;
    if (s->reading) update_events(*s, "enable read failed");
    resumed = true;
    return true;
  });
  return resumed;
}

}  // namespace starling::net
