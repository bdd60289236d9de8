#include "net/netpack.hpp"

#include <algorithm>
#include <cstring>
#include <utility>

namespace starling::net {

std::optional<payload> pack(std::span<const std::byte> data) {
  if (data.size() > max_packet_size) return std::nullopt;
  payload frame(frame_header_size + data.size());
  std::byte* out = frame.data();
  out[0] = static_cast<std::byte>(data.size() >> 8);
  out[1] = static_cast<std::byte>(data.size() & 0xff);
  if (!data.empty()) std::memcpy(out + frame_header_size, data.data(), data.size());
  return frame;
}

std::string too_long_message(std::size_t size) {
  return "Invalid size (too long) of data : " + std::to_string(size);
}

frame_queue::feed_result frame_queue::feed(std::int32_t id, std::span<const std::byte> bytes) {
  const std::size_t queued_before = ready_.size();
  partial current;
  bool open = false;  // `current` holds a frame not yet complete
  if (auto it = partial_.find(id); it != partial_.end()) {
    current = std::move(it->second);
    partial_.erase(it);
    open = true;
  }
  std::size_t at = 0;
  while (open || at < bytes.size()) {
    if (!open) {
      current = partial{};
      current.high = std::to_integer<std::uint8_t>(bytes[at++]);
      open = true;
    }
    if (!current.length_known) {
      if (at == bytes.size()) break;  // only the high byte so far
      const std::size_t length =
          (std::size_t{current.high} << 8) | std::to_integer<std::size_t>(bytes[at++]);
      current.body = payload(length);
      current.length_known = true;
    }
    const std::size_t take = std::min(current.body.size() - current.have, bytes.size() - at);
    if (take != 0) std::memcpy(current.body.data() + current.have, bytes.data() + at, take);
    at += take;
    current.have += take;
    if (current.have < current.body.size()) break;  // the read ran out inside the body
    ready_.push_back(packet{id, std::move(current.body)});
    open = false;
  }
  if (open) partial_.emplace(id, std::move(current));

  feed_result result;
  const std::size_t produced = ready_.size() - queued_before;
  if (produced == 0) return result;
  if (produced == 1 && !open) {
    // The common case of a read holding exactly one frame: handed over, not queued.
    result.what = outcome::one;
    result.single = std::move(ready_.back());
    ready_.pop_back();
  } else {
    result.what = outcome::more;
  }
  return result;
}

std::optional<packet> frame_queue::pop() {
  if (ready_.empty()) return std::nullopt;
  packet front = std::move(ready_.front());
  ready_.pop_front();
  return front;
}

void frame_queue::clear() noexcept {
  partial_.clear();
  ready_.clear();
}

}  // namespace starling::net
