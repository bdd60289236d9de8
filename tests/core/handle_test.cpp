#include "core/handle.hpp"

#include <gtest/gtest.h>

namespace starling {
namespace {

TEST(handle, text_forms) {
  EXPECT_EQ(format_handle(8), ":00000008");
  EXPECT_EQ(format_handle(0x0a), ":0000000a");
  EXPECT_EQ(format_handle_short(0x0a), ":a");
  EXPECT_EQ(format_handle_upper(0x0a), ":0000000A");
  EXPECT_EQ(format_handle(0x01000002), ":01000002");
}

TEST(handle, harbor_bits) {
  EXPECT_EQ(harbor_of(0x02000007), 2U);
  EXPECT_EQ(local_id_of(0x02000007), 7U);
  EXPECT_EQ(harbor_of(9), 0U);
}

TEST(handle, parse_accepts_every_form) {
  EXPECT_EQ(parse_handle(":0000000a"), 0x0aU);
  EXPECT_EQ(parse_handle(":0000000A"), 0x0aU);
  EXPECT_EQ(parse_handle(":a"), 0x0aU);
  EXPECT_EQ(parse_handle(":ffffffff"), 0xffffffffU);
}

TEST(handle, parse_rejects_bad_text) {
  EXPECT_FALSE(parse_handle(""));
  EXPECT_FALSE(parse_handle(":"));
  EXPECT_FALSE(parse_handle("a"));
  EXPECT_FALSE(parse_handle(":xyz"));
  EXPECT_FALSE(parse_handle(":123456789"));
  EXPECT_FALSE(parse_handle(".name"));
}

}  // namespace
}  // namespace starling
