#include "net/socket_table.hpp"

#include <limits>

namespace starling::net {

namespace {

constexpr std::size_t index_of(std::int32_t id) {
  return static_cast<std::uint32_t>(id) % socket_table::size;
}

}  // namespace

std::int32_t socket_table::reserve(socket_protocol protocol) {
  std::lock_guard lock(reserve_mutex_);
  for (std::size_t tries = 0; tries < size; ++tries) {
    last_id_ = last_id_ == std::numeric_limits<std::int32_t>::max() ? 1 : last_id_ + 1;
    std::unique_ptr<socket_slot>& owned = owned_[index_of(last_id_)];
    if (!owned) {
      owned = std::make_unique<socket_slot>();
      index_[index_of(last_id_)].store(owned.get(), std::memory_order_release);
    }
    socket_slot& s = *owned;
    if (s.state.load(std::memory_order_acquire) != socket_state::invalid) continue;
    s.id.store(last_id_, std::memory_order_relaxed);
    s.protocol.store(protocol, std::memory_order_relaxed);
    s.state.store(socket_state::reserved, std::memory_order_release);
    return last_id_;
  }
  return -1;
}

socket_slot* socket_table::find(std::int32_t id) const noexcept {
  socket_slot* s = slot_of(id);
  if (s == nullptr || s->state.load(std::memory_order_acquire) == socket_state::invalid) {
    return nullptr;
  }
  return s->id.load(std::memory_order_acquire) == id ? s : nullptr;
}

socket_slot* socket_table::slot_of(std::int32_t id) const noexcept {
  if (id <= 0) return nullptr;
  return index_[index_of(id)].load(std::memory_order_acquire);
}

}  // namespace starling::net
