#include "net/socket_server.hpp"

#include <fcntl.h>
#include <fmt/format.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <system_error>
#include <unordered_map>
#include <variant>

#include "base/clock.hpp"
#include "core/dispatch_turn.hpp"
#include "core/environment.hpp"
#include "core/node.hpp"
#include "core/socket_message.hpp"
#include "net/address.hpp"
#include "net/control_queue.hpp"
#include "net/fd.hpp"
#include "net/poller.hpp"
#include "net/socket_table.hpp"
#include "net/write_queue.hpp"

namespace starling::net {

namespace {

/// The first read of a socket asks for this many bytes (then adapts to what reads return).
constexpr std::size_t min_read_size = 64;
/// The backlog of the first WARNING; the next ones double it.
constexpr std::size_t warn_threshold = std::size_t{1024} * 1024;
/// skynet's request record holds at most this much host name; longer ones are refused.
constexpr std::size_t max_host_length = 231;
constexpr std::size_t max_datagram = 65535;
/// The poller key of the request queue's wakeup fd; socket ids start at 1.
constexpr std::uint64_t wakeup_key = 0;
constexpr std::size_t events_per_wait = 64;
/// Defaults of the limits (docs/CONFIG.md says why these).
constexpr std::size_t default_write_limit = 64 << 20;
constexpr std::size_t default_pause_mqlen = 256;
/// Backpressure counts each message queued for a socket's owner or sink as one per this many
/// bytes of the socket's read size: a socket read in big chunks pauses sooner, so the bytes it
/// can have waiting stay near socket_pause_mqlen of these units.
constexpr std::size_t pause_unit_bytes = 64 << 10;
/// While sockets are throttled, how often their mailboxes are looked at at most, and at
/// least (the drain is seen by looking, nobody tells the poll).
constexpr std::uint64_t pace_interval_ns = 200'000;
constexpr std::uint64_t pace_wait_ns = 1'000'000;

// ---- requests: one per call that needs the socket thread ---------------------------------

namespace req {
struct listen {
  std::int32_t id;
  handle_t owner;
  unique_fd fd;
};
struct connect {
  std::int32_t id;
  handle_t owner;
  std::string host;
  int port;
};
struct bind {
  std::int32_t id;
  handle_t owner;
  int fd;
};
struct start {
  std::int32_t id;
  handle_t owner;
};
struct pause {
  std::int32_t id;
};
struct close {
  std::int32_t id;
  bool abortive;
};
struct nodelay {
  std::int32_t id;
};
struct send {
  std::int32_t id;
  payload data;
  write_queue::priority level;
};
/// A direct write left bytes in the queue: the socket thread must watch for writability.
struct flush_rest {
  std::int32_t id;
};
/// A write was refused by the write limit: the socket is to be closed.
struct over_limit {
  std::int32_t id;
  std::size_t unsent;  ///< what the refused write would have made it
};
struct sink {
  std::int32_t id;
  handle_t service;
};
struct udp_open {
  std::int32_t id;
  handle_t owner;
  unique_fd fd;
  int family;
  std::optional<socket_address> peer;
};
struct udp_connect {
  std::int32_t id;
  socket_address peer;
};
struct udp_send {
  std::int32_t id;
  socket_address to;
  payload data;
};
}  // namespace req

using request = std::variant<req::listen, req::connect, req::bind, req::start, req::pause,
                             req::close, req::nodelay, req::send, req::flush_rest, req::over_limit,
                             req::sink, req::udp_open, req::udp_connect, req::udp_send>;

struct free_deleter {
  // NOLINTNEXTLINE(*-no-malloc): message bodies are malloc'd (base/payload.hpp)
  void operator()(void* p) const noexcept { std::free(p); }
};
using malloc_ptr = std::unique_ptr<void, free_deleter>;

std::string error_text(int code) {
  return std::strerror(code);
}

void set_option(int fd, int level, int name) {
  const int on = 1;
  ::setsockopt(fd, level, name, &on, sizeof on);
}

std::optional<socket_address> local_address(int fd) {
  socket_address a;
  a.length = sizeof a.storage;
  if (::getsockname(fd, a.get(), &a.length) != 0) return std::nullopt;
  return a;
}

std::optional<socket_address> peer_address(int fd) {
  socket_address a;
  a.length = sizeof a.storage;
  if (::getpeername(fd, a.get(), &a.length) != 0) return std::nullopt;
  return a;
}

/// The failure of the system call that just set errno.
failure system_failure() {
  return failure{errc::socket_failed, error_text(errno)};
}

/// A socket of `address`'s family, unbound.
result<unique_fd, failure> open_socket(const socket_address& address, int type) {
  unique_fd fd(::socket(address.family(), type | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
  if (!fd) return system_failure();
  return fd;
}

/// A socket bound to `address` (and listening when `backlog` is given).
result<unique_fd, failure> open_bound(const socket_address& address, int type,
                                      std::optional<int> backlog) {
  result<unique_fd, failure> fd = open_socket(address, type);
  if (!fd) return fd;
  if (type == SOCK_STREAM) set_option(fd->get(), SOL_SOCKET, SO_REUSEADDR);
  if (::bind(fd->get(), address.get(), address.length) != 0) return system_failure();
  if (backlog && ::listen(fd->get(), *backlog) != 0) return system_failure();
  return fd;
}

failure no_free_id() {
  return failure{errc::socket_failed, "no free socket id"};
}

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

struct socket_server::impl final : io_poller {
  explicit impl(node& runtime);
  ~impl() override;
  impl(const impl&) = delete;
  impl& operator=(const impl&) = delete;

  // ---- calling threads -------------------------------------------------------------------

  opened open_udp(handle_t owner, result<unique_fd, failure> fd, int family,
                  std::optional<socket_address> peer);
  /// Writes from the calling thread when nothing is queued or on its way; true when `data`
  /// was taken (all written, or the rest queued for the socket thread).
  bool try_direct_write(socket_slot& s, std::int32_t id, payload& data);
  void post_send(socket_slot& s, std::int32_t id, payload data, write_queue::priority level);

  // Writes held for the rest of a worker's turn (core/dispatch_turn.hpp): a turn that answers
  // many requests on one socket writes them with one syscall. The first small write a turn makes
  // to a socket goes at once (a lone reply loses no time); the next ones, while the worker has
  // more to dispatch, go into the socket's queue without a word to the socket thread, and the
  // turn's end writes the queue out. Every other write to that socket, from any thread, sees a
  // queue that is not empty and queues behind it, so bytes keep their order however services
  // move between workers.
  struct touched_socket {
    impl* server;
    std::int32_t id;
  };
  static constexpr std::size_t cork_write_max = 4096;
  static constexpr std::size_t cork_limit = std::size_t{64} * 1024;
  static thread_local std::vector<touched_socket> touched;
  /// Notes that this turn wrote to `id`; true if it had already.
  bool touch(std::int32_t id);
  /// Queues `data` unannounced; false (data untouched) when the socket cannot take it now.
  bool cork(socket_slot& s, std::int32_t id, payload& data);
  /// Writes out what this thread left in its sockets' queues, and forgets what it touched.
  static void uncork_all();
  static void uncork_all_hook(void*) { uncork_all(); }
  void uncork(std::int32_t id);

  /// Whether `size` more bytes keep `id` within the write limit. The first refusal asks the
  /// socket thread to close it.
  bool admit(socket_slot& s, std::int32_t id, std::size_t size);

  // ---- the poll: run by one worker at a time, the leader (core/io_poller.hpp) -----------
  // "The socket thread" below means that leader, whichever thread it is.

  bool poll(std::uint64_t deadline_ns) override;
  void interrupt() noexcept override { requests_.signal(); }
  [[nodiscard]] std::uint64_t deadline() const noexcept override {
    return throttled_.empty() ? UINT64_MAX : paced_at_ns_ + pace_wait_ns;
  }
  void drain_requests();
  [[nodiscard]] std::vector<socket_info> collect_info();
  /// Handles one event; true when the same event must be handled again (a read filled its
  /// buffer, so more is likely waiting).
  bool handle(const poll_event& event);

  void on(req::listen& r);
  void on(req::connect& r);
  void on(req::bind& r);
  void on(req::start& r);
  void on(req::pause& r);
  void on(req::close& r);
  void on(req::nodelay& r);
  void on(req::send& r);
  void on(req::flush_rest& r);
  void on(req::over_limit& r);
  void on(req::sink& r);
  void on(req::udp_open& r);
  void on(req::udp_connect& r);
  void on(req::udp_send& r);

  /// The slot of a request that sets a socket up, if it is still reserved for `id`.
  socket_slot* reserved(std::int32_t id);
  /// Puts a reserved slot to work with `fd`; false (slot freed, ERROR sent) if epoll refuses.
  bool open_slot(socket_slot& s, unique_fd fd, handle_t owner, socket_state state, bool read,
                 bool write);
  void set_state(socket_slot& s, socket_state state);
  void set_reading(socket_slot& s, bool on);
  void set_writing(socket_slot& s, bool on);
  /// Tells epoll what `s` waits for now; false (and ERROR to the owner) if it refuses.
  bool update_events(socket_slot& s, std::string_view failure);
  /// Frees the slot and closes the fd (unless bound); no message.
  void force_close(socket_slot& s);
  /// force_close, with CLOSE unless one was sent already.
  void close_and_report(socket_slot& s);
  /// Stops reading (shut down the read side) and sends CLOSE (docs/NET.md, "Closing").
  void close_read(socket_slot& s);
  void send_close(socket_slot& s);

  void accept_one(socket_slot& listener);
  void finish_connect(socket_slot& s);
  enum class read_result { idle, more, stop };
  read_result read_stream(socket_slot& s);
  void peer_eof(socket_slot& s);
  void flush(socket_slot& s);
  void write_failed(socket_slot& s, int error);
  void check_backlog(socket_slot& s, std::size_t bytes);
  void receive_datagram(socket_slot& s);
  void queue_datagram(socket_slot& s, datagram d);
  /// Sends one datagram; false when the socket cannot take it now.
  bool send_datagram(socket_slot& s, const datagram& d);
  void flush_datagrams(socket_slot& s);
  void report_socket_error(socket_slot& s);

  // ---- backpressure (the socket thread) --------------------------------------------------

  /// Whether `service`'s mailbox holds at least `length` messages, each counting `weight`.
  [[nodiscard]] bool crowded(handle_t service, std::size_t length, std::size_t weight) const;
  /// How much a message queued for `s`'s owner or sink counts (pause_unit_bytes).
  [[nodiscard]] static std::size_t read_weight(const socket_slot& s) noexcept {
    return std::max<std::size_t>(1, s.read_size / pause_unit_bytes);
  }
  /// After a read: stops reading `s` if its owner's or its sink's mailbox is long. True then.
  bool throttle_if_crowded(socket_slot& s);
  /// Resumes the throttled sockets whose mailboxes have drained to half; true if any.
  bool pace(std::uint64_t now);

  // ---- messages to owners ----------------------------------------------------------------

  void post(handle_t owner, socket_event type, std::int32_t id, std::int32_t ud,
            std::string_view text) {
    runtime_.send(0, owner, ptype::socket, 0, make_socket_message(type, id, ud, text));
  }
  /// Sends a message without text; `buffer` (malloc'd or null) goes with it, or is freed when
  /// the owner is gone.
  void post(handle_t owner, socket_event type, std::int32_t id, std::int32_t ud,
            malloc_ptr buffer) {
    void* raw = buffer.release();
    if (!runtime_.send(0, owner, ptype::socket, 0, make_socket_message(type, id, ud, raw))) {
      // NOLINTNEXTLINE(*-no-malloc): message bodies are malloc'd (base/payload.hpp)
      std::free(raw);
    }
  }

  node& runtime_;
  const std::size_t write_limit_;  // 0: none
  const std::size_t pause_mqlen_;  // 0: no backpressure
  socket_table table_;
  control_queue<request> requests_;
  poller poller_;
  std::vector<request> batch_;                        // the socket thread's
  std::vector<std::byte> udp_buffer_;                 // the socket thread's
  std::array<poll_event, events_per_wait> events_{};  // the socket thread's
  unique_fd spare_;                      // given up to shed a connection when out of fds
  std::vector<std::int32_t> throttled_;  // the socket thread's: ids, stale ones dropped lazily
  std::uint64_t paced_at_ns_ = 0;        // the socket thread's: the last look at them
};

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
  post(s.owner, socket_event::close, s.id.load(), 0, malloc_ptr());
}

void socket_server::impl::close_and_report(socket_slot& s) {
  const bool report = !s.close_sent;
  const handle_t owner = s.owner;
  const std::int32_t id = s.id.load();
  force_close(s);
  if (report) post(owner, socket_event::close, id, 0, malloc_ptr());
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
       static_cast<std::int32_t>((bytes + 1023) / 1024), malloc_ptr());
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
  malloc_ptr buffer(std::malloc(size));
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
    post(s.owner, socket_event::warning, s.id.load(), 0, malloc_ptr());
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
  malloc_ptr buffer(std::malloc(size + blob.size));
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
