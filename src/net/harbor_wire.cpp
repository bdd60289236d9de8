#include "net/harbor_wire.hpp"

#include <algorithm>
#include <cstring>
#include <limits>
#include <utility>

#include "seri/error.hpp"
#include "seri/reader.hpp"
#include "seri/writer.hpp"

namespace starling::net::harbor {

namespace {

bool known_type(char c) noexcept {
  switch (static_cast<packet_type>(c)) {
    case packet_type::handshake:
    case packet_type::wait:
    case packet_type::connect:
    case packet_type::register_name:
    case packet_type::query:
    case packet_type::name:
    case packet_type::down:
      return true;
  }
  return false;
}

// What follows the type: a number, a text, or both in the packet's order.
enum class shape : std::uint8_t { number, text, number_text, text_number };

shape shape_of(packet_type t) noexcept {
  switch (t) {
    case packet_type::wait:
    case packet_type::down:
      return shape::number;
    case packet_type::query:
      return shape::text;
    case packet_type::handshake:
    case packet_type::connect:
      return shape::number_text;
    case packet_type::register_name:
    case packet_type::name:
      return shape::text_number;
  }
  return shape::number;
}

void put_u32(std::byte* at, std::uint32_t n) noexcept {
  at[0] = static_cast<std::byte>(n >> 24);
  at[1] = static_cast<std::byte>(n >> 16);
  at[2] = static_cast<std::byte>(n >> 8);
  at[3] = static_cast<std::byte>(n);
}

std::uint32_t get_u32(const std::byte* at) noexcept {
  return static_cast<std::uint32_t>(at[0]) << 24 | static_cast<std::uint32_t>(at[1]) << 16 |
         static_cast<std::uint32_t>(at[2]) << 8 | static_cast<std::uint32_t>(at[3]);
}

}  // namespace

// ---- master link ---------------------------------------------------------------------------

std::string describe(const packet_error& e) {
  using code = packet_error::code;
  switch (e.what) {
    case code::too_long:
      return "too long (" + std::to_string(e.detail) + " bytes)";
    case code::empty:
      return "empty packet";
    case code::malformed:
      return "malformed packet: " + e.text;
    case code::bad_type:
      return "packet type is not a string";
    case code::unknown_type:
      return "unknown packet type " + e.text;
    case code::bad_arguments:
      return "bad arguments for packet type " + e.text;
  }
  return "bad packet";
}

result<payload, packet_error> encode_packet(const master_packet& p) {
  seri::writer w;
  const char type = static_cast<char>(p.type);
  w.write_string(std::string_view(&type, 1));
  switch (shape_of(p.type)) {
    case shape::number:
      w.write_integer(p.number);
      break;
    case shape::text:
      w.write_string(p.text);
      break;
    case shape::number_text:
      w.write_integer(p.number);
      w.write_string(p.text);
      break;
    case shape::text_number:
      w.write_string(p.text);
      w.write_integer(p.number);
      break;
  }
  const std::span<const std::byte> bytes = w.bytes();
  if (bytes.size() > max_packet_payload) {
    return packet_error{.what = packet_error::code::too_long,
                        .detail = static_cast<std::int64_t>(bytes.size())};
  }
  payload out(bytes.size() + 1);
  out.data()[0] = static_cast<std::byte>(bytes.size());
  std::memcpy(out.data() + 1, bytes.data(), bytes.size());
  return out;
}

result<master_packet, packet_error> decode_packet(std::span<const std::byte> body) {
  using code = packet_error::code;
  if (body.empty()) return packet_error{.what = code::empty};
  try {
    seri::reader r(body);
    if (r.peek_kind() != seri::value::kind::string) return packet_error{.what = code::bad_type};
    const std::string_view type = r.read_string();
    if (type.size() != 1 || !known_type(type[0])) {
      return packet_error{.what = code::unknown_type, .text = std::string(type)};
    }
    master_packet p{.type = static_cast<packet_type>(type[0])};
    // Reads in the packet's order; a value of the wrong kind (or a missing one) fails.
    bool ok = true;
    const auto take_number = [&] {
      if (!ok) return;
      if (r.at_end() || r.peek_kind() != seri::value::kind::integer) {
        ok = false;
        return;
      }
      p.number = r.read_integer();
    };
    const auto take_text = [&] {
      if (!ok) return;
      if (r.at_end() || r.peek_kind() != seri::value::kind::string) {
        ok = false;
        return;
      }
      p.text = r.read_string();
    };
    switch (shape_of(p.type)) {
      case shape::number:
        take_number();
        break;
      case shape::text:
        take_text();
        break;
      case shape::number_text:
        take_number();
        take_text();
        break;
      case shape::text_number:
        take_text();
        take_number();
        break;
    }
    if (!ok) return packet_error{.what = code::bad_arguments, .text = std::string(type)};
    return p;
  } catch (const seri::error& e) {
    return packet_error{.what = code::malformed, .text = e.what()};
  }
}

void packet_reader::append(std::span<const std::byte> bytes) {
  if (consumed_ > 0 && consumed_ == in_.size()) {
    in_.clear();
    consumed_ = 0;
  } else if (consumed_ > 4096 && consumed_ * 2 > in_.size()) {
    in_.erase(in_.begin(), in_.begin() + static_cast<std::ptrdiff_t>(consumed_));
    consumed_ = 0;
  }
  in_.insert(in_.end(), bytes.begin(), bytes.end());
}

std::optional<std::span<const std::byte>> packet_reader::next() {
  if (buffered() == 0) return std::nullopt;
  const auto size = static_cast<std::size_t>(in_[consumed_]);
  if (buffered() < size + 1) return std::nullopt;
  const std::span<const std::byte> out(in_.data() + consumed_ + 1, size);
  consumed_ += size + 1;
  return out;
}

// ---- harbor link ---------------------------------------------------------------------------

std::string describe(const frame_error& e) {
  using code = frame_error::code;
  switch (e.what) {
    case code::too_long:
      return "Message is too long (" + std::to_string(e.detail) + ")";
    case code::too_short:
      return "Message is too short (length " + std::to_string(e.detail) + ")";
    case code::bad_handshake:
      return "Invalid shakehand id " + std::to_string(e.detail);
  }
  return "bad frame";
}

result<std::array<std::byte, length_size>, frame_error> encode_length(std::size_t size) noexcept {
  if (size > max_payload) {
    return frame_error{.what = frame_error::code::too_long,
                       .detail = static_cast<std::uint32_t>(
                           std::min<std::size_t>(size, std::numeric_limits<std::uint32_t>::max()))};
  }
  std::array<std::byte, length_size> out{};
  put_u32(out.data(), static_cast<std::uint32_t>(size + trailer_size));
  return out;
}

std::array<std::byte, trailer_size> encode_trailer(const frame_header& h) noexcept {
  std::array<std::byte, trailer_size> out{};
  put_u32(out.data(), h.source);
  put_u32(out.data() + 4, static_cast<std::uint32_t>(h.type) << 24 | (h.destination & local_mask));
  put_u32(out.data() + 8, h.session);
  return out;
}

result<payload, frame_error> encode_frame(const frame_header& h, std::span<const std::byte> body) {
  auto length = encode_length(body.size());
  if (!length) return length.error();
  payload out(frame_size(body.size()));
  std::byte* at = out.data();
  std::memcpy(at, length->data(), length_size);
  if (!body.empty()) std::memcpy(at + length_size, body.data(), body.size());
  const auto trailer = encode_trailer(h);
  std::memcpy(at + length_size + body.size(), trailer.data(), trailer_size);
  return out;
}

frame_header decode_trailer(std::span<const std::byte, trailer_size> bytes) noexcept {
  const std::uint32_t destination = get_u32(bytes.data() + 4);
  return {.source = get_u32(bytes.data()),
          .type = static_cast<std::uint8_t>(destination >> 24),
          .destination = destination & local_mask,
          .session = get_u32(bytes.data() + 8)};
}

void link_reader::compact() {
  if (consumed_ == in_.size()) {
    in_.clear();
    consumed_ = 0;
  } else if (consumed_ > 4096 && consumed_ * 2 > in_.size()) {
    in_.erase(in_.begin(), in_.begin() + static_cast<std::ptrdiff_t>(consumed_));
    consumed_ = 0;
  }
}

void link_reader::append(std::span<const std::byte> bytes) {
  if (failed_) return;
  compact();
  in_.insert(in_.end(), bytes.begin(), bytes.end());
}

result<std::optional<frame>, frame_error> link_reader::next() {
  if (failed_) return *failed_;
  if (expected_) {
    if (buffered() == 0) return std::optional<frame>();
    const auto got = static_cast<std::uint8_t>(in_[consumed_++]);
    if (got != *expected_) {
      failed_ = frame_error{.what = frame_error::code::bad_handshake, .detail = got};
      return *failed_;
    }
    expected_.reset();
  }
  if (buffered() < length_size) return std::optional<frame>();
  const std::uint32_t length = get_u32(in_.data() + consumed_);
  if (length > max_length) {
    failed_ = frame_error{.what = frame_error::code::too_long, .detail = length};
    return *failed_;
  }
  if (length < trailer_size) {
    failed_ = frame_error{.what = frame_error::code::too_short, .detail = length};
    return *failed_;
  }
  if (buffered() < length_size + length) {
    in_.reserve(consumed_ + length_size + length);
    return std::optional<frame>();
  }
  const std::byte* at = in_.data() + consumed_ + length_size;
  const std::size_t body = length - trailer_size;
  frame f{
      .header = decode_trailer(std::span<const std::byte, trailer_size>(at + body, trailer_size)),
      .body = payload::copy_of(std::span(at, body))};
  consumed_ += length_size + length;
  return std::optional<frame>(std::move(f));
}

}  // namespace starling::net::harbor
