#include "seri/mongo_wire.hpp"

#include <gtest/gtest.h>

#include <cstdint>
#include <string>

namespace starling::seri::mongo {
namespace {

std::string le32(std::uint32_t v) {
  std::string s(4, '\0');
  for (int i = 0; i < 4; ++i)
    s[static_cast<std::size_t>(i)] = static_cast<char>((v >> (8 * i)) & 0xff);
  return s;
}

// {} as BSON
const std::string empty_doc = le32(5) + std::string(1, '\0');

// A reply after its length field.
std::string message(std::int32_t response_to, std::int32_t opcode, std::uint32_t flags, char kind,
                    const std::string& doc) {
  return le32(7) + le32(static_cast<std::uint32_t>(response_to)) +
         le32(static_cast<std::uint32_t>(opcode)) + le32(flags) + std::string(1, kind) + doc;
}

TEST(mongo_wire, a_reply_points_at_its_document) {
  const std::string m = message(42, op_msg, 0, 0, empty_doc);
  const reply r = parse_reply(m);
  ASSERT_EQ(r.status, reply_status::ok);
  EXPECT_EQ(r.response_to, 42);
  EXPECT_EQ(r.doc_offset, 17U);
  EXPECT_EQ(r.doc_size, 5U);
  EXPECT_EQ(parse_reply(message(1, op_msg, more_to_come, 0, empty_doc)).status, reply_status::ok);
}

TEST(mongo_wire, bad_replies_are_named) {
  EXPECT_EQ(parse_reply("short").status, reply_status::too_short);
  const reply op = parse_reply(message(1, 1, 0, 0, empty_doc));
  EXPECT_EQ(op.status, reply_status::bad_opcode);
  EXPECT_EQ(op.detail, 1);
  EXPECT_EQ(parse_reply(message(1, op_msg, 1, 0, empty_doc)).status, reply_status::checksum);
  EXPECT_EQ(parse_reply(message(1, op_msg, 4, 0, empty_doc)).status, reply_status::bad_flags);
  EXPECT_EQ(parse_reply(message(1, op_msg, 0, 1, empty_doc)).status, reply_status::bad_section);
  EXPECT_EQ(parse_reply(message(1, op_msg, 0, 0, empty_doc + "x")).status,
            reply_status::extra_sections);
}

TEST(mongo_wire, a_document_past_the_message_is_refused) {
  EXPECT_EQ(parse_reply(message(1, op_msg, 0, 0, le32(6) + std::string(1, '\0'))).status,
            reply_status::truncated);
  EXPECT_EQ(parse_reply(message(1, op_msg, 0, 0, le32(0x7fffffff) + std::string(1, '\0'))).status,
            reply_status::truncated);
  EXPECT_EQ(parse_reply(message(1, op_msg, 0, 0, le32(0xffffffff) + std::string(1, '\0'))).status,
            reply_status::truncated);
  EXPECT_EQ(parse_reply(message(1, op_msg, 0, 0, le32(4))).status, reply_status::truncated);
  EXPECT_EQ(parse_reply(message(1, op_msg, 0, 0, "ab")).status, reply_status::truncated);
}

}  // namespace
}  // namespace starling::seri::mongo
