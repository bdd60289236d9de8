#include "seri/mongo_wire.hpp"

#include <cstring>

namespace starling::seri::mongo {

namespace {

std::int32_t le32(std::string_view s, std::size_t at) noexcept {
  std::uint32_t v = 0;
  for (std::size_t i = 0; i < 4; ++i) {
    v |= static_cast<std::uint32_t>(static_cast<unsigned char>(s[at + i])) << (8 * i);
  }
  std::int32_t out = 0;
  std::memcpy(&out, &v, sizeof out);
  return out;
}

}  // namespace

reply parse_reply(std::string_view message) noexcept {
  reply r;
  if (message.size() < 16) return r;  // too_short
  r.response_to = le32(message, 4);
  const std::int32_t opcode = le32(message, 8);
  if (opcode != op_msg) {
    r.status = reply_status::bad_opcode;
    r.detail = opcode;
    return r;
  }
  const auto flags = static_cast<std::uint32_t>(le32(message, 12));
  if ((flags & checksum_present) != 0) {
    r.status = reply_status::checksum;
    return r;
  }
  if (flags != 0 && flags != more_to_come) {
    r.status = reply_status::bad_flags;
    r.detail = flags;
    return r;
  }
  constexpr std::size_t section = header_size - 4 - 1;  // after the length field: the kind byte
  if (message.size() < section + 1 + 4) {
    r.status = reply_status::truncated;
    return r;
  }
  const auto kind = static_cast<unsigned char>(message[section]);
  if (kind != 0) {
    r.status = reply_status::bad_section;
    r.detail = kind;
    return r;
  }
  const std::size_t doc = section + 1;
  const std::int32_t size = le32(message, doc);
  if (size < 5 || static_cast<std::size_t>(size) > message.size() - doc) {
    r.status = reply_status::truncated;
    return r;
  }
  if (static_cast<std::size_t>(size) != message.size() - doc) {
    r.status = reply_status::extra_sections;
    return r;
  }
  r.status = reply_status::ok;
  r.doc_offset = doc;
  r.doc_size = static_cast<std::size_t>(size);
  return r;
}

}  // namespace starling::seri::mongo
