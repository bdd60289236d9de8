#pragma once
// The framing of MongoDB's OP_MSG replies, as the mongo driver reads them (docs/DATABASES.md):
// after the 4-byte length, i32 requestID, i32 responseTo, i32 opCode (2013), u32 flagBits,
// then one kind-0 section holding one BSON document that fills the rest of the message.

#include <cstddef>
#include <cstdint>
#include <string_view>

namespace starling::seri::mongo {

inline constexpr std::int32_t op_msg = 2013;
inline constexpr std::uint32_t checksum_present = 1;
inline constexpr std::uint32_t more_to_come = 2;
/// A request or reply header (length, requestID, responseTo, opCode) plus flags and kind.
inline constexpr std::size_t header_size = 21;

enum class reply_status {
  ok,
  too_short,       // fewer than 16 bytes after the length: not even a header
  bad_opcode,      // detail: the opcode
  checksum,        // flagBits has checksumPresent
  bad_flags,       // detail: the flags (only 0 and moreToCome are understood)
  bad_section,     // detail: the section kind (only 0, a body document)
  truncated,       // the document's length goes past the message (or is below 5)
  extra_sections,  // bytes after the document
};

struct reply {
  reply_status status = reply_status::too_short;
  std::int32_t response_to = 0;
  std::int64_t detail = 0;
  std::size_t doc_offset = 0;  // into the message given to parse_reply
  std::size_t doc_size = 0;
};

/// Parses a reply, `message` being everything after its length field. On `ok` the document
/// lies entirely inside `message` and its length field equals doc_size.
reply parse_reply(std::string_view message) noexcept;

}  // namespace starling::seri::mongo
