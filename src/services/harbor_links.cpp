#include "services/harbor_links.hpp"

#include <fmt/format.h>

#include <charconv>
#include <cstdlib>
#include <utility>

#include "core/node.hpp"
#include "core/socket_message.hpp"
#include "net/socket_server.hpp"

namespace starling {

namespace {

namespace wire = net::harbor;

/// A name sent to is cut to its first 16 bytes, as skynet does; a name the cslave binds must
/// be shorter (skynet stores it with its terminator).
constexpr std::size_t name_limit = 16;

std::uint64_t call_key(handle_t caller, std::int32_t session) noexcept {
  return static_cast<std::uint64_t>(caller) << 32 | static_cast<std::uint32_t>(session);
}

bool is_request(ptype type, std::int32_t session) noexcept {
  return session != 0 && type != ptype::response && type != ptype::error;
}

std::optional<int> parse_int(std::string_view text) {
  int n = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), n);
  if (ec != std::errc() || end != text.data() + text.size()) return std::nullopt;
  return n;
}

}  // namespace

harbor_links::harbor_links(node& runtime, net::socket_server& sockets, handle_t self,
                           handle_t slave, std::uint8_t id)
    : node_(runtime), sockets_(sockets), self_(self), slave_(slave), id_(id) {}

void harbor_links::log(std::string_view text) {
  node_.log(self_, text);
}

void harbor_links::tell_slave(const std::string& text) {
  node_.send(self_, slave_, ptype::text, 0, payload::copy_of(text));
}

void harbor_links::finish(after& then) {
  for (const std::string& line : then.lines)
    log(line);
  for (const after::error_reply& e : then.errors)
    node_.send(e.from, e.to, ptype::error, e.session, {});
}

// ---- sending -------------------------------------------------------------------------------

void harbor_links::send_remote(handle_t source, handle_t dest, ptype type, std::int32_t session,
                               payload data) {
  const auto id = static_cast<std::uint8_t>(harbor_of(dest));
  const wire::frame_header header{.source = source,
                                  .type = static_cast<std::uint8_t>(type),
                                  .destination = dest,
                                  .session = static_cast<std::uint32_t>(session)};
  auto frame = wire::encode_frame(header, data.bytes());
  after then;
  if (!frame) {
    // skynet's sender crashes near 8 MiB; here the caller is told.
    then.lines.push_back(fmt::format(
        "Message to harbor {} from {:x} to {:x} is too long ({} bytes, at most {}): refused", id,
        source, dest, data.size(), wire::max_payload));
    if (is_request(type, session)) then.errors.push_back({dest, source, session});
    finish(then);
    return;
  }
  {
    mutex_lock lock(mutex_);
    remote& r = remotes_[id];
    switch (r.state) {
      case link_state::linked:
        if (is_request(type, session)) r.pending.emplace(call_key(source, session), dest);
        sockets_.send(r.fd, std::move(*frame));
        break;
      case link_state::unknown:
      case link_state::handshake:
        if (is_request(type, session)) r.pending.emplace(call_key(source, session), dest);
        r.queue.push_back(std::move(*frame));
        break;
      case link_state::down:
        then.lines.push_back(
            fmt::format("Drop message to harbor {} from {:x} to {:x} (session = {}, msgsz = {})",
                        id, source, dest, session, data.size()));
        if (source != 0) then.errors.push_back({dest, source, session});
        break;
      case link_state::disconnected:
        // Logged once when the link closed; a call fails at once, a send is lost.
        if (is_request(type, session)) then.errors.push_back({dest, source, session});
        break;
    }
  }
  finish(then);
}

void harbor_links::route(handle_t source, handle_t dest, ptype type, std::int32_t session,
                         payload data) {
  const std::uint32_t harbor = harbor_of(dest);
  if (harbor == 0 || harbor == id_) {
    // A name bound to a local service that is gone: lost, as in skynet.
    node_.send(source, dest, type, session, std::move(data));
  } else {
    send_remote(source, dest, type, session, std::move(data));
  }
}

void harbor_links::send_global(handle_t source, std::string_view name, ptype type,
                               std::int32_t session, payload data) {
  const std::string key(name.substr(0, name_limit));
  mutex_lock lock(mutex_);
  const auto it = names_.find(key);
  if (it == names_.end()) {
    parked_[key].push_back(parked{source, type, session, std::move(data)});
    lock.unlock();
    tell_slave("Q " + key);  // one query per message, as skynet's harbor asks
    return;
  }
  const handle_t dest = it->second;
  lock.unlock();
  route(source, dest, type, session, std::move(data));
}

// ---- commands of the cslave ----------------------------------------------------------------

void harbor_links::on_command(handle_t source, std::string_view text) {
  if (text.starts_with("N ")) {
    const std::string_view name = text.substr(2);
    if (name.empty() || name.size() >= name_limit) {
      log(fmt::format("Invalid global name {}", name));
      return;
    }
    std::vector<parked> waiting;
    {
      mutex_lock lock(mutex_);
      names_[std::string(name)] = source;
      if (auto it = parked_.find(std::string(name)); it != parked_.end()) {
        waiting = std::move(it->second);
        parked_.erase(it);
      }
    }
    // The owner's local id is kept even when its harbor is not linked yet (skynet loses it).
    for (parked& m : waiting)
      route(m.source, source, m.type, m.session, std::move(m.data));
    return;
  }
  if (text.starts_with("S ") || text.starts_with("A ")) {
    take_socket(text, text[0] == 'S');
    return;
  }
  log(fmt::format("Unknown command {}", text));
}

void harbor_links::take_socket(std::string_view text, bool connector) {
  const std::string_view args = text.substr(2);
  const std::size_t space = args.find(' ');
  const int fd = parse_int(args.substr(0, space)).value_or(0);
  const int id =
      space == std::string_view::npos ? 0 : parse_int(args.substr(space + 1)).value_or(0);
  if (fd == 0 || id <= 0 || id > 255 || id == id_) {
    log(fmt::format("Invalid command {}", text));
    return;
  }
  const auto peer = static_cast<std::uint8_t>(id);
  {
    mutex_lock lock(mutex_);
    remote& r = remotes_[peer];
    if (r.state == link_state::handshake || r.state == link_state::linked) {
      log(fmt::format("Harbor {} alreay exist", id));
      return;
    }
    // A harbor whose link closed may come back (skynet never lets it): a new link replaces it.
    r.state = link_state::handshake;
    r.fd = fd;
    r.connector = connector;
    r.reader.emplace(connector ? std::optional<std::uint8_t>(peer) : std::nullopt);
    fds_[fd] = peer;
  }
  // Our id byte goes out once the socket is ours (its "transfer" event): the peer sends
  // frames only after it, so none can reach the cslave in between (skynet's race).
  sockets_.nodelay(fd);  // a call and its reply are small writes that must not wait
  sockets_.start(self_, fd);
}

// ---- links ---------------------------------------------------------------------------------

void harbor_links::link_up(remote& r) {
  r.state = link_state::linked;
  for (payload& frame : r.queue)
    sockets_.send(r.fd, std::move(frame));
  r.queue.clear();
}

void harbor_links::end_link(std::uint8_t id, link_state to, after& then) {
  remote& r = remotes_[id];
  fds_.erase(r.fd);
  // A socket that closed by itself is not closed again: its id may belong to another by now.
  if (to == link_state::down) sockets_.close(self_, r.fd);
  const bool was_up = r.state == link_state::linked || r.state == link_state::handshake;
  r.state = to;
  r.reader.reset();
  r.queue.clear();
  for (const auto& [key, callee] : r.pending) {
    then.errors.push_back({callee, static_cast<handle_t>(key >> 32),
                           static_cast<std::int32_t>(static_cast<std::uint32_t>(key))});
  }
  if (was_up && to == link_state::disconnected) {
    then.lines.push_back(fmt::format("Harbor {} link closed (fd = {}): {} call(s) in flight failed",
                                     id, r.fd, r.pending.size()));
  }
  r.pending.clear();
}

void harbor_links::deliver_frames(std::uint8_t id, std::int32_t fd,
                                  std::span<const std::byte> bytes) {
  std::vector<wire::frame> frames;
  after then;
  bool ended = false;
  {
    mutex_lock lock(mutex_);
    remote& r = remotes_[id];
    if (!r.reader || r.fd != fd) return;
    r.reader->append(bytes);
    for (;;) {
      const bool handshaking = r.reader->in_handshake();
      auto next = r.reader->next();
      if (!next) {
        const wire::frame_error e = next.error();
        switch (e.what) {
          case wire::frame_error::code::bad_handshake:
            then.lines.push_back(fmt::format("Invalid shakehand id ({}) from fd = {} , harbor = {}",
                                             id, fd, e.detail));
            break;
          case wire::frame_error::code::too_long:
            then.lines.push_back(fmt::format("Message is too long from harbor {}", id));
            break;
          case wire::frame_error::code::too_short:
            then.lines.push_back(fmt::format("Message is too short from harbor {}", id));
            break;
        }
        end_link(id, link_state::down, then);
        ended = true;
        break;
      }
      if (handshaking && !r.reader->in_handshake()) link_up(r);
      if (!next->has_value()) break;
      wire::frame& f = **next;
      if (f.header.type == static_cast<std::uint8_t>(ptype::response) ||
          f.header.type == static_cast<std::uint8_t>(ptype::error)) {
        const handle_t caller = static_cast<handle_t>(id_) << 24 | f.header.destination;
        r.pending.erase(call_key(caller, static_cast<std::int32_t>(f.header.session)));
      }
      frames.push_back(std::move(f));
    }
  }
  for (wire::frame& f : frames) {
    const handle_t dest = static_cast<handle_t>(id_) << 24 | f.header.destination;
    const auto type = static_cast<ptype>(f.header.type);
    const auto session = static_cast<std::int32_t>(f.header.session);
    if (!node_.send(f.header.source, dest, type, session, std::move(f.body))) {
      log(fmt::format("Unknown destination :{:x} from :{:x} type({})", dest, f.header.source,
                      f.header.type));
      if (type != ptype::error) node_.send(dest, f.header.source, ptype::error, session, {});
    }
  }
  finish(then);
  // skynet tells its slave nothing here, so harbor.link(id) never returned.
  if (ended) tell_slave(fmt::format("D {}", id));
}

void harbor_links::on_socket(message& msg) {
  const socket_message* m = read_socket_message(msg.data.data(), msg.data.size());
  if (m == nullptr) return;
  std::optional<std::uint8_t> id;
  {
    mutex_lock lock(mutex_);
    if (auto it = fds_.find(m->id); it != fds_.end()) id = it->second;
  }
  switch (m->type) {
    case socket_event::data:
      if (!id) {
        log(fmt::format("Invalid socket fd ({}) data", m->id));
      } else {
        deliver_frames(
            *id, m->id,
            std::span(static_cast<const std::byte*>(m->buffer), static_cast<std::size_t>(m->ud)));
      }
      break;
    case socket_event::connect: {
      // The socket is ours now: our id byte, and for an acceptor the link is up.
      if (!id) break;
      mutex_lock lock(mutex_);
      remote& r = remotes_[*id];
      if (r.state != link_state::handshake || r.fd != m->id) break;
      const auto byte = static_cast<std::byte>(id_);
      sockets_.send(r.fd, payload::copy_of(std::span(&byte, 1)));
      if (!r.connector) link_up(r);
      break;
    }
    case socket_event::close:
    case socket_event::error: {
      if (!id) {
        if (m->type == socket_event::close) log(fmt::format("Unknown fd ({}) closed", m->id));
        break;
      }
      after then;
      {
        mutex_lock lock(mutex_);
        end_link(*id, link_state::disconnected, then);
      }
      finish(then);
      tell_slave(fmt::format("D {}", *id));
      break;
    }
    case socket_event::warning:
      if (id && m->ud > 0) {
        log(fmt::format("message havn't send to Harbor ({}) reach {} K", *id, m->ud));
      }
      break;
    default:
      break;
  }
  release_socket_buffer(msg);
}

}  // namespace starling
