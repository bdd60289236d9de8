#include "actor/socket_table.hpp"

#include <fmt/format.h>

#include <cstdlib>
#include <utility>

#include "core/socket_message.hpp"

namespace starling::detail {

bool socket_state::ready() const noexcept {
  if (closed) return true;
  switch (wanted) {
    case want::connected:
      return connected;
    case want::accepted:
      return !backlog.empty();
    case want::bytes:
      return unread() >= wanted_bytes;
    case want::line:
      return unread_view().find(separator) != std::string_view::npos;
  }
  return false;
}

std::string socket_state::take(std::size_t n) {
  std::string out = buffer.substr(consumed, n);
  skip(n);
  return out;
}

void socket_state::skip(std::size_t n) noexcept {
  consumed += n;
  // Drop the read prefix once it is most of the buffer: appends stay amortised O(1).
  if (consumed == buffer.size()) {
    buffer.clear();
    consumed = 0;
  } else if (consumed > buffer.size() / 2) {
    buffer.erase(0, consumed);
    consumed = 0;
  }
}

socket_state& socket_table::add(std::int32_t id) {
  auto& slot = sockets_[id];
  slot = std::make_unique<socket_state>();
  slot->id = id;
  return *slot;
}

socket_state* socket_table::find(std::int32_t id) noexcept {
  auto it = sockets_.find(id);
  return it == sockets_.end() ? nullptr : it->second.get();
}

std::vector<std::int32_t> socket_table::release_all() {
  std::vector<std::int32_t> ids;
  ids.reserve(sockets_.size());
  for (const auto& entry : sockets_)
    ids.push_back(entry.first);
  sockets_.clear();
  return ids;
}

socket_table::outcome socket_table::apply(message& msg) {
  outcome result;
  const socket_message* head = read_socket_message(msg.data.data(), msg.data.size());
  if (head == nullptr) return result;
  socket_state* s = find(head->id);
  if (s == nullptr) return result;
  result.handled = true;
  switch (head->type) {
    case socket_event::data:
      s->buffer.append(static_cast<const char*>(head->buffer), static_cast<std::size_t>(head->ud));
      release_socket_buffer(msg);
      break;
    case socket_event::connect:
      if (!s->connected) {
        s->connected = true;
        s->address = std::string(socket_message_text(msg.data.data(), msg.data.size()));
        s->port = head->ud;
      }
      break;
    case socket_event::close:
      s->closed = true;
      break;
    case socket_event::accept:
      s->backlog.push_back(
          {head->ud, std::string(socket_message_text(msg.data.data(), msg.data.size()))});
      break;
    case socket_event::error:
      s->error = std::string(socket_message_text(msg.data.data(), msg.data.size()));
      s->closed = true;
      result.shut_down = true;
      break;
    case socket_event::udp:
      release_socket_buffer(msg);  // the native API reads TCP only
      break;
    case socket_event::warning:
      result.warning =
          fmt::format("WARNING: {} K bytes need to send out (fd = {})", head->ud, head->id);
      break;
  }
  const bool satisfied = !s->waiter || s->ready();
  if (s->waiter && s->ready()) {
    result.resume = std::exchange(s->waiter, nullptr);
  }
  // Only when no reader still waits for more: a read of more than the limit must get it.
  if (!s->paused && !s->closed && satisfied && s->unread() > read_buffer_limit) {
    s->paused = true;
    result.pause = true;
  }
  return result;
}

}  // namespace starling::detail
