#include "net/cluster_wire.hpp"

#include <algorithm>
#include <cassert>
#include <cstdio>
#include <cstring>
#include <utility>

namespace starling::net::cluster {

namespace {

// The first byte of a request body: bit 7 marks a named destination, bit 6 a split push.
constexpr std::uint8_t kind_message = 0x00;
constexpr std::uint8_t kind_header = 0x01;
constexpr std::uint8_t kind_fragment = 0x02;
constexpr std::uint8_t kind_last = 0x03;
constexpr std::uint8_t kind_trace = 0x04;
constexpr std::uint8_t named_bit = 0x80;
constexpr std::uint8_t push_bit = 0x40;

// Fixed parts of the bodies.
constexpr std::size_t numeric_message_head = 9;  // kind, addr, session
constexpr std::size_t named_message_head = 6;    // kind, name length, session (+ the name)
constexpr std::size_t numeric_header_body = 13;  // kind, addr, session, total
constexpr std::size_t named_header_head = 10;    // kind, name length, session, total
constexpr std::size_t piece_head = 5;            // kind, session
constexpr std::size_t response_head = 5;         // session, type
constexpr std::size_t response_begin_body = 9;   // session, type, total

std::size_t piece_count(std::size_t size) noexcept {
  return (size + piece_size - 1) / piece_size;
}

// The data of piece `index` (0-based) of `all`.
std::span<const std::byte> piece_of(std::span<const std::byte> all, std::size_t index) noexcept {
  const std::size_t offset = index * piece_size;
  return all.subspan(offset, std::min(piece_size, all.size() - offset));
}

class writer {
 public:
  writer(std::span<std::byte> out, std::size_t frame) noexcept : at_(out.data()) {
    assert(out.size() >= frame && frame - length_size <= 0xffff);
    const std::size_t body = frame - length_size;
    u8(static_cast<std::uint8_t>(body >> 8));
    u8(static_cast<std::uint8_t>(body & 0xff));
  }
  void u8(std::uint8_t n) noexcept { *at_++ = static_cast<std::byte>(n); }
  void u32(std::uint32_t n) noexcept {
    for (int shift = 0; shift < 32; shift += 8)
      u8(static_cast<std::uint8_t>(n >> shift));
  }
  void bytes(std::span<const std::byte> b) noexcept {
    if (!b.empty()) std::memcpy(at_, b.data(), b.size());
    at_ += b.size();
  }
  void text(std::string_view s) noexcept { bytes(std::as_bytes(std::span(s.data(), s.size()))); }

 private:
  std::byte* at_;
};

std::uint32_t u32_at(std::span<const std::byte> body, std::size_t at) noexcept {
  std::uint32_t n = 0;
  for (std::size_t i = 0; i < 4; ++i)
    n |= std::to_integer<std::uint32_t>(body[at + i]) << (8 * i);
  return n;
}

std::string_view text_at(std::span<const std::byte> body, std::size_t at, std::size_t n) noexcept {
  return {reinterpret_cast<const char*>(body.data()) + at, n};
}

wire_error error_of(wire_error::code what, std::int64_t detail = 0) noexcept {
  return wire_error{what, detail, {}};
}

owned_destination own(const destination& to) {
  if (const auto* handle = std::get_if<std::uint32_t>(&to)) return *handle;
  return std::string(std::get<std::string_view>(to));
}

}  // namespace

// ---- errors --------------------------------------------------------------------------------

std::size_t describe(const wire_error& e, std::span<char> out) noexcept {
  using code = wire_error::code;
  char head[96];
  int n = 0;
  std::string_view tail;
  const auto detail = static_cast<long long>(e.detail);
  switch (e.what) {
    case code::bad_session:
      n = std::snprintf(head, sizeof head, "Invalid request session %lld", detail);
      break;
    case code::bad_name:
      n = std::snprintf(head, sizeof head,
                        "name length is invalid, must be between 1 and 255 characters: ");
      tail = e.name.substr(0, e.name.find('\0'));
      break;
    case code::tag_too_long:
      n = std::snprintf(head, sizeof head, "trace tag is too long : %lld", detail);
      break;
    case code::too_large:
      n = std::snprintf(head, sizeof head, "message too large for a cluster link (%lld bytes)",
                        detail);
      break;
    case code::empty_body:
      n = std::snprintf(head, sizeof head, "Invalid req package. size == 0");
      break;
    case code::short_body:
      n = std::snprintf(head, sizeof head, "Invalid cluster message (size=%lld)", detail);
      break;
    case code::bad_header_size:
      n = std::snprintf(head, sizeof head,
                        "Invalid cluster message size %lld (multi req must be 13)", detail);
      break;
    case code::short_fragment:
      n = std::snprintf(head, sizeof head, "Invalid cluster multi part message");
      break;
    case code::unknown_kind:
      n = std::snprintf(head, sizeof head, "Invalid req package type %lld", detail);
      break;
    case code::short_response:
      n = std::snprintf(head, sizeof head, "Invalid cluster response (size=%lld)", detail);
      break;
    case code::bad_begin_size:
      n = std::snprintf(head, sizeof head,
                        "Invalid cluster response size %lld (multi begin must be 9)", detail);
      break;
    case code::unknown_response:
      n = std::snprintf(head, sizeof head, "Invalid cluster response type %lld", detail);
      break;
  }
  const std::size_t head_size = n < 0 ? 0 : std::min(static_cast<std::size_t>(n), sizeof head - 1);
  const std::size_t first = std::min(head_size, out.size());
  if (first != 0) std::memcpy(out.data(), head, first);
  const std::size_t second = std::min(tail.size(), out.size() - first);
  if (second != 0) std::memcpy(out.data() + first, tail.data(), second);
  return head_size + tail.size();
}

std::string describe(const wire_error& e) {
  std::string text(describe(e, std::span<char>()), '\0');
  describe(e, std::span(text.data(), text.size()));
  return text;
}

// ---- requests ------------------------------------------------------------------------------

result<request_frames, wire_error> request_frames::make(request_kind kind, destination to,
                                                        std::int32_t session,
                                                        std::span<const std::byte> payload) {
  if (session <= 0) return error_of(wire_error::code::bad_session, session);
  if (const auto* name = std::get_if<std::string_view>(&to)) {
    if (name->empty() || name->size() > max_name_length) {
      return wire_error{wire_error::code::bad_name, 0, *name};
    }
  }
  if (payload.size() > max_message_size) {
    return error_of(wire_error::code::too_large, static_cast<std::int64_t>(payload.size()));
  }
  return request_frames(kind, to, session, payload);
}

std::size_t request_frames::count() const noexcept {
  return split() ? 1 + piece_count(payload_.size()) : 1;
}

std::size_t request_frames::size(std::size_t index) const noexcept {
  if (index > 0) return length_size + piece_head + piece_of(payload_, index - 1).size();
  const auto* name = std::get_if<std::string_view>(&to_);
  if (split()) {
    return length_size + (name != nullptr ? named_header_head + name->size() : numeric_header_body);
  }
  return length_size + payload_.size() +
         (name != nullptr ? named_message_head + name->size() : numeric_message_head);
}

std::size_t request_frames::write(std::size_t index, std::span<std::byte> out) const noexcept {
  const std::size_t frame = size(index);
  writer w(out, frame);
  const auto session = static_cast<std::uint32_t>(session_);
  if (index > 0) {
    w.u8(index == count() - 1 ? kind_last : kind_fragment);
    w.u32(session);
    w.bytes(piece_of(payload_, index - 1));
    return frame;
  }
  const auto* name = std::get_if<std::string_view>(&to_);
  std::uint8_t kind = split() ? kind_header : kind_message;
  if (split() && kind_ == request_kind::push) kind |= push_bit;
  if (name != nullptr) kind |= named_bit;
  w.u8(kind);
  if (name != nullptr) {
    w.u8(static_cast<std::uint8_t>(name->size()));
    w.text(*name);
  } else {
    w.u32(std::get<std::uint32_t>(to_));
  }
  if (split()) {
    w.u32(session);
    w.u32(static_cast<std::uint32_t>(payload_.size()));
  } else {
    // A whole push carries session 0: the receiver sends no reply to session 0.
    w.u32(kind_ == request_kind::push ? 0 : session);
    w.bytes(payload_);
  }
  return frame;
}

result<std::size_t, wire_error> write_trace(std::string_view tag,
                                            std::span<std::byte> out) noexcept {
  if (tag.size() > max_trace_tag) {
    return error_of(wire_error::code::tag_too_long, static_cast<std::int64_t>(tag.size()));
  }
  const std::size_t frame = trace_size(tag.size());
  writer w(out, frame);
  w.u8(kind_trace);
  w.text(tag);
  return frame;
}

result<request_part, wire_error> decode_request(std::span<const std::byte> body) noexcept {
  using code = wire_error::code;
  const std::size_t size = body.size();
  const auto size_detail = static_cast<std::int64_t>(size);
  if (size == 0) return error_of(code::empty_body);
  const auto kind = std::to_integer<std::uint8_t>(body[0]);
  request_part part;
  switch (kind) {
    case kind_message:
      if (size < numeric_message_head) return error_of(code::short_body, size_detail);
      part.type = request_part::kind::message;
      part.to = u32_at(body, 1);
      part.session = u32_at(body, 5);
      part.push = part.session == 0;
      part.data = body.subspan(numeric_message_head);
      return part;
    case kind_header:
    case kind_header | push_bit:
      if (size != numeric_header_body) return error_of(code::bad_header_size, size_detail);
      part.type = request_part::kind::header;
      part.to = u32_at(body, 1);
      part.session = u32_at(body, 5);
      part.total = u32_at(body, 9);
      part.push = (kind & push_bit) != 0;
      return part;
    case kind_fragment:
    case kind_last:
      if (size < piece_head) return error_of(code::short_fragment);
      part.type = kind == kind_last ? request_part::kind::last : request_part::kind::fragment;
      part.session = u32_at(body, 1);
      part.data = body.subspan(piece_head);
      return part;
    case kind_trace:
      part.type = request_part::kind::trace;
      part.data = body.subspan(1);
      return part;
    case kind_message | named_bit: {
      if (size < 2) return error_of(code::short_body, size_detail);
      const std::size_t length = std::to_integer<std::size_t>(body[1]);
      if (size < named_message_head + length) return error_of(code::short_body, size_detail);
      part.type = request_part::kind::message;
      part.to = text_at(body, 2, length);
      part.session = u32_at(body, 2 + length);
      part.push = part.session == 0;
      part.data = body.subspan(named_message_head + length);
      return part;
    }
    case kind_header | named_bit:
    case kind_header | named_bit | push_bit: {
      if (size < 2) return error_of(code::short_body, size_detail);
      const std::size_t length = std::to_integer<std::size_t>(body[1]);
      if (size < named_header_head + length) return error_of(code::short_body, size_detail);
      part.type = request_part::kind::header;
      part.to = text_at(body, 2, length);
      part.session = u32_at(body, 2 + length);
      part.total = u32_at(body, 6 + length);
      part.push = (kind & push_bit) != 0;
      return part;
    }
    default:
      // skynet prints the byte as a (signed) char.
      return error_of(code::unknown_kind, static_cast<std::int8_t>(kind));
  }
}

// ---- responses -----------------------------------------------------------------------------

result<response_frames, wire_error> response_frames::make(std::uint32_t session, bool ok,
                                                          std::span<const std::byte> data) {
  if (!ok) return response_frames(session, ok, data.first(std::min(data.size(), piece_size)));
  if (data.size() > max_message_size) {
    return error_of(wire_error::code::too_large, static_cast<std::int64_t>(data.size()));
  }
  return response_frames(session, ok, data);
}

std::size_t response_frames::count() const noexcept {
  return split() ? 1 + piece_count(data_.size()) : 1;
}

std::size_t response_frames::size(std::size_t index) const noexcept {
  if (!split()) return length_size + response_head + data_.size();
  if (index == 0) return length_size + response_begin_body;
  return length_size + response_head + piece_of(data_, index - 1).size();
}

std::size_t response_frames::write(std::size_t index, std::span<std::byte> out) const noexcept {
  const std::size_t frame = size(index);
  writer w(out, frame);
  w.u32(session_);
  if (!split()) {
    w.u8(static_cast<std::uint8_t>(ok_ ? response_part::kind::ok : response_part::kind::error));
    w.bytes(data_);
  } else if (index == 0) {
    w.u8(static_cast<std::uint8_t>(response_part::kind::begin));
    w.u32(static_cast<std::uint32_t>(data_.size()));
  } else {
    const bool last = index == count() - 1;
    w.u8(static_cast<std::uint8_t>(last ? response_part::kind::end : response_part::kind::piece));
    w.bytes(piece_of(data_, index - 1));
  }
  return frame;
}

result<response_part, wire_error> decode_response(std::span<const std::byte> body) noexcept {
  using code = wire_error::code;
  const auto size_detail = static_cast<std::int64_t>(body.size());
  if (body.size() < response_head) return error_of(code::short_response, size_detail);
  response_part part;
  part.session = u32_at(body, 0);
  const auto type = std::to_integer<std::uint8_t>(body[4]);
  switch (type) {
    case 0:
    case 1:
    case 3:
    case 4:
      part.type = static_cast<response_part::kind>(type);
      part.data = body.subspan(response_head);
      return part;
    case 2:
      if (body.size() != response_begin_body) return error_of(code::bad_begin_size, size_detail);
      part.type = response_part::kind::begin;
      part.total = u32_at(body, response_head);
      return part;
    default:
      return error_of(code::unknown_response, type);
  }
}

// ---- reassembly ----------------------------------------------------------------------------

namespace detail {

split_store::entry* split_store::start(std::uint32_t session, std::uint32_t total) {
  if (const auto it = entries_.find(session); it != entries_.end()) {
    drop_data(it->second);
    it->second.broken = true;
    return &it->second;
  }
  if (entries_.size() >= limits_.max_pending) return nullptr;
  entry& e = entries_[session];
  e.total = total;
  e.broken = total > limits_.max_message;
  return &e;
}

split_store::entry* split_store::piece_entry(std::uint32_t session) {
  if (const auto it = entries_.find(session); it != entries_.end()) return &it->second;
  if (entries_.size() >= limits_.max_pending) return nullptr;
  entry& e = entries_[session];
  e.broken = true;
  return &e;
}

split_store::entry* split_store::find(std::uint32_t session) noexcept {
  const auto it = entries_.find(session);
  return it == entries_.end() ? nullptr : &it->second;
}

bool split_store::append(entry& e, std::span<const std::byte> piece) {
  if (e.broken) return true;
  if (piece.size() > e.total - e.data.size()) {
    drop_data(e);
    e.broken = true;
    return true;
  }
  if (piece.size() > limits_.max_buffered - std::min(buffered_, limits_.max_buffered)) {
    return false;
  }
  e.data.insert(e.data.end(), piece.begin(), piece.end());
  buffered_ += piece.size();
  return true;
}

bool split_store::finish(std::uint32_t session, entry& out) {
  const auto it = entries_.find(session);
  if (it == entries_.end()) return false;
  buffered_ -= it->second.data.size();
  out = std::move(it->second);
  entries_.erase(it);
  return true;
}

void split_store::erase(std::uint32_t session) noexcept {
  if (const auto it = entries_.find(session); it != entries_.end()) {
    buffered_ -= it->second.data.size();
    entries_.erase(it);
  }
}

void split_store::clear() noexcept {
  entries_.clear();
  buffered_ = 0;
}

void split_store::drop_data(entry& e) noexcept {
  buffered_ -= e.data.size();
  std::vector<std::byte>().swap(e.data);
}

}  // namespace detail

request_assembler::outcome request_assembler::feed(const request_part& part) {
  using status = outcome::status;
  outcome r;
  r.session = part.session;
  switch (part.type) {
    case request_part::kind::trace:
      return r;
    case request_part::kind::message:
      r.what = status::complete;
      r.push = part.push;
      r.to = own(part.to);
      r.message = payload::copy_of(part.data);
      return r;
    case request_part::kind::header: {
      detail::split_store::entry* e = store_.start(part.session, part.total);
      if (e == nullptr) {
        r.what = status::overflow;
      } else if (!e->broken) {
        e->to = own(part.to);
        e->push = part.push;
      }
      return r;
    }
    case request_part::kind::fragment: {
      detail::split_store::entry* e = store_.piece_entry(part.session);
      if (e == nullptr || !store_.append(*e, part.data)) r.what = status::overflow;
      return r;
    }
    case request_part::kind::last:
      break;
  }
  detail::split_store::entry* e = store_.find(part.session);
  if (e == nullptr) {
    r.what = status::no_header;
    return r;
  }
  if (!store_.append(*e, part.data)) {
    r.what = status::overflow;
    return r;
  }
  detail::split_store::entry done;
  store_.finish(part.session, done);
  r.push = done.push;
  if (done.broken || done.data.size() != done.total) {
    r.what = status::invalid;
    return r;
  }
  r.what = status::complete;
  r.to = std::move(done.to);
  r.message = payload::copy_of(done.data);
  return r;
}

response_assembler::outcome response_assembler::feed(const response_part& part) {
  using status = outcome::status;
  using kind = response_part::kind;
  outcome r;
  r.session = part.session;
  switch (part.type) {
    case kind::begin:
      if (store_.start(part.session, part.total) == nullptr) r.what = status::overflow;
      return r;
    case kind::piece: {
      detail::split_store::entry* e = store_.piece_entry(part.session);
      if (e == nullptr || !store_.append(*e, part.data)) r.what = status::overflow;
      return r;
    }
    case kind::error:
      store_.erase(part.session);
      r.what = status::error;
      r.data = payload::copy_of(part.data);
      return r;
    case kind::ok:
    case kind::end:
      break;
  }
  detail::split_store::entry* e = store_.find(part.session);
  if (e == nullptr) {
    r.what = status::ok;
    r.data = payload::copy_of(part.data);
    return r;
  }
  if (!store_.append(*e, part.data)) {
    r.what = status::overflow;
    return r;
  }
  detail::split_store::entry done;
  store_.finish(part.session, done);
  if (done.broken || done.data.size() != done.total) {
    r.what = status::invalid;
    return r;
  }
  r.what = status::ok;
  r.data = payload::copy_of(done.data);
  return r;
}

}  // namespace starling::net::cluster
