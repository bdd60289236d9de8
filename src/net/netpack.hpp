#pragma once
// netpack: the 2-byte length framing of gates (docs/GATE.md).
//
// A frame is a big-endian u16 payload length followed by that many bytes. `frame_queue` cuts
// the byte streams of many connections into packets: each connection keeps at most one
// incomplete frame, and complete packets come out in order. It accepts any byte stream; the
// worst a hostile peer can do is leave one 64 KiB frame pending until its connection closes.
//
// Thread contract: a frame_queue belongs to one service (no locking); `pack` is pure.

#include <cstddef>
#include <cstdint>
#include <deque>
#include <optional>
#include <span>
#include <string>
#include <unordered_map>

#include "base/payload.hpp"

namespace starling::net {

/// The largest payload one frame can carry.
inline constexpr std::size_t max_packet_size = 65535;
/// Bytes of the length prefix.
inline constexpr std::size_t frame_header_size = 2;

/// The frame that carries `data`, or nullopt when data is longer than max_packet_size.
[[nodiscard]] std::optional<payload> pack(std::span<const std::byte> data);
/// The error skynet raises for a payload of `size` bytes that cannot be framed.
[[nodiscard]] std::string too_long_message(std::size_t size);

/// One complete packet: the payload without its header.
struct packet {
  std::int32_t id = 0;  ///< the connection it came from
  payload data;
};

class frame_queue {
 public:
  /// What one read produced, as `netpack.filter` reports it.
  enum class outcome {
    none,  ///< no packet completed
    one,   ///< exactly one packet, ending at the end of the read: returned, not queued
    more,  ///< several packets, or one plus the start of the next: all were queued
  };
  struct feed_result {
    outcome what = outcome::none;
    packet single;  ///< the packet of outcome::one
  };

  frame_queue() = default;
  frame_queue(const frame_queue&) = delete;
  frame_queue& operator=(const frame_queue&) = delete;

  /// Appends the bytes of one read from connection `id`.
  feed_result feed(std::int32_t id, std::span<const std::byte> bytes);
  /// The oldest queued packet, or nullopt.
  std::optional<packet> pop();
  /// Forgets the incomplete frame of `id` (the connection closed or failed).
  void discard(std::int32_t id) noexcept { partial_.erase(id); }
  /// Frees every queued packet and incomplete frame.
  void clear() noexcept;

  /// Packets waiting for `pop`.
  [[nodiscard]] std::size_t queued() const noexcept { return ready_.size(); }
  /// Connections with an incomplete frame.
  [[nodiscard]] std::size_t pending() const noexcept { return partial_.size(); }

 private:
  // An incomplete frame: only the high length byte, or the length and `have` body bytes.
  struct partial {
    bool length_known = false;
    std::uint8_t high = 0;
    std::size_t have = 0;
    payload body;
  };

  std::unordered_map<std::int32_t, partial> partial_;
  std::deque<packet> ready_;
};

}  // namespace starling::net
