#include "net/socket_server.hpp"

#include "net/socket_server_impl.hpp"

namespace starling::net {

namespace {

// ---- the registry behind socket_server::of --------------------------------------------

std::mutex& registry_mutex() {
  static std::mutex m;
  return m;
}
std::unordered_map<const node*, socket_server*>& registry() {
  static std::unordered_map<const node*, socket_server*> servers;
  return servers;
}

}  // namespace

// ---- construction ----------------------------------------------------------------------

socket_server::impl::impl(node& runtime)
    : runtime_(runtime),
      write_limit_(size_setting(runtime.env(), "socket_write_limit", default_write_limit)),
      pause_mqlen_(size_setting(runtime.env(), "socket_pause_mqlen", default_pause_mqlen)),
      udp_buffer_(max_datagram),
      spare_(::open("/dev/null", O_RDONLY | O_CLOEXEC)) {
  if (!poller_.add(requests_.wakeup_fd(), wakeup_key, true, false)) {
    throw std::system_error(errno, std::generic_category(), "epoll_ctl");
  }
  runtime_.set_io_poller(this);
}

socket_server::impl::~impl() {
  runtime_.set_io_poller(nullptr);
}

socket_server::socket_server(node& runtime) {
  // A write to a reset peer must fail with EPIPE, not kill the process.
  struct sigaction current {};
  if (::sigaction(SIGPIPE, nullptr, &current) == 0 && current.sa_handler == SIG_DFL) {
    std::signal(SIGPIPE, SIG_IGN);
  }
  impl_ = std::make_unique<impl>(runtime);
  std::lock_guard lock(registry_mutex());
  registry()[&runtime] = this;
}

socket_server::~socket_server() {
  {
    std::lock_guard lock(registry_mutex());
    registry().erase(&impl_->runtime_);
  }
  impl_.reset();
}

socket_server* socket_server::of(const node& runtime) noexcept {
  std::lock_guard lock(registry_mutex());
  auto it = registry().find(&runtime);
  return it == registry().end() ? nullptr : it->second;
}

// ---- TCP calls (any thread) --------------------------------------------------------------

socket_server::opened socket_server::listen(handle_t owner, std::string_view host, int port,
                                            int backlog) {
  const auto addresses =
      resolve_endpoint(host.empty() ? std::string_view("0.0.0.0") : host, port, SOCK_STREAM, true);
  if (!addresses) return addresses.error();
  result<unique_fd, failure> fd =
      open_bound(addresses->front(), SOCK_STREAM, backlog > 0 ? backlog : system_backlog());
  if (!fd) return std::move(fd).error();
  const std::int32_t id = impl_->table_.reserve(socket_protocol::tcp);
  if (id < 0) return no_free_id();
  impl_->requests_.push(req::listen{id, owner, std::move(fd).value()});
  return id;
}

socket_server::opened socket_server::connect(handle_t owner, std::string_view host, int port) {
  if (host.size() > max_host_length) return failure{errc::socket_failed, "host name too long"};
  const std::int32_t id = impl_->table_.reserve(socket_protocol::tcp);
  if (id < 0) return no_free_id();
  impl_->requests_.push(req::connect{id, owner, std::string(host), port});
  return id;
}

socket_server::opened socket_server::bind(handle_t owner, int fd) {
  const std::int32_t id = impl_->table_.reserve(socket_protocol::tcp);
  if (id < 0) return no_free_id();
  impl_->requests_.push(req::bind{id, owner, fd});
  return id;
}

void socket_server::start(handle_t owner, std::int32_t id) {
  impl_->requests_.push(req::start{id, owner});
}

void socket_server::pause(handle_t, std::int32_t id) {
  impl_->requests_.push(req::pause{id});
}

void socket_server::close(handle_t, std::int32_t id) {
  impl::uncork_all();
  impl_->requests_.push(req::close{id, false});
}

void socket_server::shutdown(handle_t, std::int32_t id) {
  impl::uncork_all();
  impl_->requests_.push(req::close{id, true});
}

void socket_server::nodelay(std::int32_t id) {
  impl_->requests_.push(req::nodelay{id});
}

void socket_server::set_sink(std::int32_t id, handle_t sink) {
  impl_->requests_.push(req::sink{id, sink});
}

bool socket_server::send(std::int32_t id, payload data) {
  socket_slot* s = impl_->table_.find(id);
  if (s == nullptr || s->closing.load(std::memory_order_acquire)) return false;
  const bool udp = s->protocol.load(std::memory_order_relaxed) == socket_protocol::udp;
  if (!udp && data.empty()) return true;
  if (!udp && !impl_->admit(*s, id, data.size())) return false;
  if (!udp && data.size() <= impl::cork_write_max && dispatch_turn::goes_on() && impl_->touch(id) &&
      impl_->cork(*s, id, data)) {
    return true;
  }
  if (!udp && impl_->try_direct_write(*s, id, data)) return true;
  impl_->post_send(*s, id, std::move(data), write_queue::priority::high);
  return true;
}

bool socket_server::send_lowpriority(std::int32_t id, payload data) {
  socket_slot* s = impl_->table_.find(id);
  if (s == nullptr) return false;
  if (s->protocol.load(std::memory_order_relaxed) == socket_protocol::tcp) {
    if (data.empty()) return true;
    if (!impl_->admit(*s, id, data.size())) return false;
  }
  impl_->post_send(*s, id, std::move(data), write_queue::priority::low);
  return true;
}

bool socket_server::impl::try_direct_write(socket_slot& s, std::int32_t id, payload& data) {
  // Never wait for the socket thread: if it holds the lock, the request FIFO is as good.
  std::unique_lock lock(s.lock, std::try_to_lock);
  if (!lock.owns_lock() || s.id.load(std::memory_order_relaxed) != id ||
      s.state.load(std::memory_order_relaxed) != socket_state::connected ||
      s.closing.load(std::memory_order_relaxed) ||
      s.in_flight.load(std::memory_order_acquire) != 0 || !s.queue.empty()) {
    return false;
  }
  ssize_t n = 0;
  do {
    n = ::write(s.fd.get(), data.data(), data.size());
  } while (n < 0 && errno == EINTR);
  // A failed write queues everything: the socket thread meets the error and reports it.
  const std::size_t sent = n > 0 ? static_cast<std::size_t>(n) : 0;
  if (sent > 0) {
    s.bytes_written.fetch_add(sent, std::memory_order_relaxed);
    s.write_time.store(runtime_.now(), std::memory_order_relaxed);
  }
  if (sent == data.size()) return true;
  s.queue.push_partial(std::move(data), sent);
  lock.unlock();
  requests_.push(req::flush_rest{id});
  return true;
}

bool socket_server::impl::admit(socket_slot& s, std::int32_t id, std::size_t size) {
  if (s.over_limit.load(std::memory_order_relaxed) == id) return false;
  if (write_limit_ == 0) return true;
  // Both counts are read without the lock: a write racing with a flush may be judged on a
  // backlog a moment old, which moves the limit by at most that flush.
  const std::size_t unsent = s.queue.bytes() + s.in_flight.load(std::memory_order_relaxed) + size;
  if (unsent <= write_limit_) return true;
  if (s.over_limit.exchange(id, std::memory_order_relaxed) != id) {
    requests_.push(req::over_limit{id, unsent});
  }
  return false;
}

thread_local std::vector<socket_server::impl::touched_socket> socket_server::impl::touched;

bool socket_server::impl::touch(std::int32_t id) {
  const bool seen = std::any_of(touched.begin(), touched.end(), [&](const touched_socket& t) {
    return t.server == this && t.id == id;
  });
  if (seen) return true;
  if (touched.empty()) dispatch_turn::at_end(&uncork_all_hook, nullptr);
  touched.push_back(touched_socket{this, id});
  return false;
}

bool socket_server::impl::cork(socket_slot& s, std::int32_t id, payload& data) {
  std::unique_lock lock(s.lock, std::try_to_lock);
  // Behind bytes still travelling through the request FIFO, the queue is not the end of the
  // line: those would pass ours.
  if (!lock.owns_lock() || s.id.load(std::memory_order_relaxed) != id ||
      s.state.load(std::memory_order_relaxed) != socket_state::connected ||
      s.closing.load(std::memory_order_relaxed) ||
      s.in_flight.load(std::memory_order_acquire) != 0) {
    return false;
  }
  s.queue.push(std::move(data), write_queue::priority::high);
  const bool full = s.queue.bytes() >= cork_limit;
  lock.unlock();
  if (full) uncork(id);
  return true;
}

void socket_server::impl::uncork_all() {
  if (touched.empty()) return;
  std::vector<touched_socket> sockets;
  sockets.swap(touched);
  for (const touched_socket& t : sockets)
    t.server->uncork(t.id);
  sockets.clear();
  if (touched.empty()) touched.swap(sockets);  // keeps the capacity for the next turn
}

void socket_server::impl::uncork(std::int32_t id) {
  socket_slot* s = table_.find(id);
  if (s == nullptr) return;
  std::unique_lock lock(s->lock, std::try_to_lock);
  // Only touched, nothing corked (or the socket thread wrote it already).
  if (lock.owns_lock() && s->queue.empty()) return;
  if (lock.owns_lock() && s->id.load(std::memory_order_relaxed) == id &&
      s->state.load(std::memory_order_relaxed) == socket_state::connected &&
      !s->closing.load(std::memory_order_relaxed)) {
    const write_queue::flush_result result = s->queue.flush(s->fd.get());
    const bool drained = s->queue.empty();
    lock.unlock();
    if (result.written > 0) {
      s->bytes_written.fetch_add(result.written, std::memory_order_relaxed);
      s->write_time.store(runtime_.now(), std::memory_order_relaxed);
    }
    if (drained && result.error == 0) return;
  } else if (lock.owns_lock()) {
    lock.unlock();
  }
  // The rest (or an error to report, or a socket the socket thread holds now) is the socket
  // thread's: it writes what is queued when the fd takes it.
  requests_.push(req::flush_rest{id});
}

void socket_server::impl::post_send(socket_slot& s, std::int32_t id, payload data,
                                    write_queue::priority level) {
  s.in_flight.fetch_add(data.size(), std::memory_order_acq_rel);
  requests_.push(req::send{id, std::move(data), level});
}

// ---- UDP calls (any thread) ----------------------------------------------------------------

socket_server::opened socket_server::impl::open_udp(handle_t owner, result<unique_fd, failure> fd,
                                                    int family,
                                                    std::optional<socket_address> peer) {
  if (!fd) return std::move(fd).error();
  const std::int32_t id = table_.reserve(socket_protocol::udp);
  if (id < 0) return no_free_id();
  requests_.push(req::udp_open{id, owner, std::move(fd).value(), family, peer});
  return id;
}

socket_server::opened socket_server::udp(handle_t owner, std::string_view host, int port) {
  if (host.empty() && port == 0) {
    socket_address any;
    any.storage.ss_family = AF_INET;
    return impl_->open_udp(owner, open_socket(any, SOCK_DGRAM), AF_INET, std::nullopt);
  }
  const auto addresses = resolve_endpoint(host, port, SOCK_DGRAM, true);
  if (!addresses) return addresses.error();
  const socket_address& a = addresses->front();
  return impl_->open_udp(owner, open_bound(a, SOCK_DGRAM, std::nullopt), a.family(), std::nullopt);
}

socket_server::opened socket_server::udp_dial(handle_t owner, std::string_view host, int port) {
  const auto addresses = resolve_endpoint(host, port, SOCK_DGRAM, false);
  if (!addresses) return addresses.error();
  const socket_address& a = addresses->front();
  return impl_->open_udp(owner, open_socket(a, SOCK_DGRAM), a.family(), a);
}

socket_server::opened socket_server::udp_listen(handle_t owner, std::string_view host, int port) {
  if (port == 0) return failure{errc::socket_failed, "a UDP listener needs a port"};
  const auto addresses = resolve_endpoint(host, port, SOCK_DGRAM, true);
  if (!addresses) return addresses.error();
  const socket_address& a = addresses->front();
  return impl_->open_udp(owner, open_bound(a, SOCK_DGRAM, std::nullopt), a.family(), std::nullopt);
}

result<void, failure> socket_server::udp_connect(std::int32_t id, std::string_view host, int port) {
  const auto addresses = resolve_endpoint(host, port, SOCK_DGRAM, false);
  if (!addresses) return addresses.error();
  impl_->requests_.push(req::udp_connect{id, addresses->front()});
  return {};
}

bool socket_server::udp_send(std::int32_t id, std::span<const std::byte> address, payload data) {
  const std::optional<socket_address> to = decode_udp_address(address);
  if (!to) return false;
  socket_slot* s = impl_->table_.find(id);
  if (s == nullptr || s->closing.load(std::memory_order_acquire)) return false;
  impl_->requests_.push(req::udp_send{id, *to, std::move(data)});
  return true;
}

// ---- information -------------------------------------------------------------------------

std::vector<socket_info> socket_server::info() const {
  std::vector<socket_info> lines;
  impl_->runtime_.with_io_lead([&] {
    // The caller's earlier requests (a listen, a close) show in the answer.
    impl_->drain_requests();
    lines = impl_->collect_info();
  });
  return lines;
}

std::optional<std::pair<std::string, int>> socket_server::udp_address(
    std::span<const std::byte> address) {
  const std::optional<socket_address> a = decode_udp_address(address);
  if (!a) return std::nullopt;
  return std::pair{ip_text(*a), port_of(*a)};
}

result<std::vector<std::string>, failure> socket_server::resolve(std::string_view host) {
  return resolve_host(host);
}

int socket_server::system_backlog() noexcept {
  // listen() cuts any larger backlog to net.core.somaxconn; asking for it exactly keeps what
  // netstat and ss report honest.
  static const int maximum = [] {
    int value = 0;
    if (std::FILE* f = std::fopen("/proc/sys/net/core/somaxconn", "re")) {
      if (std::fscanf(f, "%d", &value) != 1) value = 0;
      std::fclose(f);
    }
    return value > 0 ? value : SOMAXCONN;
  }();
  return maximum;
}

}  // namespace starling::net
