#pragma once
// The bytes of harbor (master/slave) mode, as skynet's nodes write them (docs/HARBOR.md "The
// wire"): packets on the master link between a slave and the master, and the harbor link
// between two nodes (one id byte each way, then frames).
//
// Master packets are one length byte, then a skynet.pack payload of at most 255 bytes whose
// first value is a one-letter type. Harbor frames are a big-endian u32 length L (payload + 12),
// the payload, then a 12-byte trailer: source, type << 24 | destination local id, session, all
// big-endian. L must stay below 2^24: its first byte is always 0.
//
// A peer's bytes are never trusted: whatever does not decode is an error value, never a crash,
// and a reader never holds more than one frame plus what arrived behind it.
//
// Thread contract: encoders and decoders are pure; a reader belongs to the one owner of a
// connection (no locking).

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "base/payload.hpp"
#include "base/result.hpp"

namespace starling::net::harbor {

// ---- master link ---------------------------------------------------------------------------

/// The longest packet payload: its length is one byte.
inline constexpr std::size_t max_packet_payload = 255;

/// The packet types (the one-letter first value).
enum class packet_type : char {
  handshake = 'H',      ///< slave -> master: id, address
  wait = 'W',           ///< master -> slave: how many nodes will connect to it
  connect = 'C',        ///< master -> slave: id, address of a newcomer
  register_name = 'R',  ///< slave -> master: name, handle
  query = 'Q',          ///< slave -> master: name
  name = 'N',           ///< master -> slave: name, handle
  down = 'D',           ///< master -> slave: id of a node that left
};

/// One master packet. Which fields count depends on the type:
/// H, C: number = harbor id, text = address; W: number = count; D: number = harbor id;
/// R, N: text = name, number = handle; Q: text = name.
struct master_packet {
  packet_type type = packet_type::wait;
  std::int64_t number = 0;
  std::string_view text;  ///< a view: into the decoded bytes, or the encoder's caller's string
};

struct packet_error {
  enum class code : std::uint8_t {
    too_long,       ///< encoding: a payload past max_packet_payload (detail: its size)
    empty,          ///< a zero-length packet
    malformed,      ///< not a skynet.pack stream (text: the unpacker's message)
    bad_type,       ///< the first value is not a string
    unknown_type,   ///< a string type of no packet above (text: the type)
    bad_arguments,  ///< a known type whose values have the wrong kinds (text: the type)
  };
  code what = code::empty;
  std::int64_t detail = 0;
  std::string text;
};

/// A readable text for `e` ("too long" for too_long, as skynet's assertion says).
[[nodiscard]] std::string describe(const packet_error& e);

/// The packet with its length byte in front, or too_long.
[[nodiscard]] result<payload, packet_error> encode_packet(const master_packet& p);

/// Decodes one packet payload (without its length byte). Values past the type's arguments are
/// ignored, as skynet does.
[[nodiscard]] result<master_packet, packet_error> decode_packet(std::span<const std::byte> body);

/// Cuts a master-link byte stream into packet payloads: one length byte, then that many bytes.
class packet_reader {
 public:
  void append(std::span<const std::byte> bytes);
  /// The next whole payload (a view valid until the next append or next), or nothing yet.
  [[nodiscard]] std::optional<std::span<const std::byte>> next();
  /// Bytes received and not yet returned.
  [[nodiscard]] std::size_t buffered() const noexcept { return in_.size() - consumed_; }

 private:
  std::vector<std::byte> in_;
  std::size_t consumed_ = 0;
};

// ---- harbor link ---------------------------------------------------------------------------

/// Bytes of the length in front of a frame.
inline constexpr std::size_t length_size = 4;
/// Bytes of the trailer behind the payload.
inline constexpr std::size_t trailer_size = 12;
/// The largest length field: its first byte must be 0.
inline constexpr std::uint32_t max_length = 0x00ffffff;
/// The largest payload one frame carries.
inline constexpr std::size_t max_payload = max_length - trailer_size;
/// The mask of the local part of a handle; the harbor id is the top 8 bits.
inline constexpr std::uint32_t local_mask = 0x00ffffff;

/// What the trailer says about a message.
struct frame_header {
  std::uint32_t source = 0;       ///< the full handle of the sender
  std::uint8_t type = 0;          ///< PTYPE_*
  std::uint32_t destination = 0;  ///< the local id on the receiving node (24 bits)
  std::uint32_t session = 0;      ///< the session as an unsigned 32-bit value
  friend bool operator==(const frame_header&, const frame_header&) = default;
};

struct frame_error {
  enum class code : std::uint8_t {
    too_long,       ///< encoding: a payload past max_payload (detail: its size); decoding: a
                    ///< length whose first byte is not 0 (detail: the length field)
    too_short,      ///< decoding: a length below the trailer's 12 bytes (detail: it)
    bad_handshake,  ///< decoding: the peer's id byte is not the expected one (detail: it)
  };
  code what = code::too_long;
  std::uint32_t detail = 0;
};

[[nodiscard]] std::string describe(const frame_error& e);

/// Bytes of the frame for a payload of `size` bytes.
[[nodiscard]] constexpr std::size_t frame_size(std::size_t size) noexcept {
  return length_size + size + trailer_size;
}
/// The length field for a payload of `size` bytes, or too_long.
[[nodiscard]] result<std::array<std::byte, length_size>, frame_error> encode_length(
    std::size_t size) noexcept;
/// The trailer for `h`; the destination keeps its low 24 bits only.
[[nodiscard]] std::array<std::byte, trailer_size> encode_trailer(const frame_header& h) noexcept;
/// A whole frame in one buffer, or too_long.
[[nodiscard]] result<payload, frame_error> encode_frame(const frame_header& h,
                                                        std::span<const std::byte> body);
/// Reads a trailer (12 bytes).
[[nodiscard]] frame_header decode_trailer(std::span<const std::byte, trailer_size> bytes) noexcept;

/// One received message.
struct frame {
  frame_header header;
  payload body;
};

/// Cuts a harbor-link byte stream into frames. A connector's reader first expects the peer's
/// id byte; an acceptor's starts with frames (its cslave consumed the byte). Frames may follow
/// the id byte in the same read. After an error the reader stays failed: close the link.
class link_reader {
 public:
  /// `expected_id`: the peer's harbor id, whose byte comes first (connector), or nothing.
  explicit link_reader(std::optional<std::uint8_t> expected_id = std::nullopt) noexcept
      : expected_(expected_id) {}

  void append(std::span<const std::byte> bytes);
  /// The next frame, nothing while more bytes are needed, or the error that ends the link.
  [[nodiscard]] result<std::optional<frame>, frame_error> next();
  /// Whether the id byte is still awaited.
  [[nodiscard]] bool in_handshake() const noexcept { return expected_.has_value(); }
  /// Bytes received and not yet returned.
  [[nodiscard]] std::size_t buffered() const noexcept { return in_.size() - consumed_; }

 private:
  void compact();

  std::optional<std::uint8_t> expected_;
  std::optional<frame_error> failed_;
  std::vector<std::byte> in_;
  std::size_t consumed_ = 0;
};

}  // namespace starling::net::harbor
