#include "seri/writer.hpp"

#include <gtest/gtest.h>

#include <cstdint>
#include <limits>
#include <stdexcept>
#include <string>

#include "../support/hex.hpp"

namespace starling::seri {
namespace {

using hex_text::to_hex;

std::string hex(const payload& p) {
  return to_hex(p.bytes());
}

template <class... Args>
std::string packed(const Args&... args) {
  return hex(pack(args...));
}

value nested(int tables, bool leaf) {
  table innermost;
  if (leaf) innermost.array.emplace_back(1);
  value v = std::move(innermost);
  for (int i = 1; i < tables; ++i) {
    table outer;
    outer.array.push_back(std::move(v));
    v = std::move(outer);
  }
  return v;
}

TEST(seri_writer, integers_follow_the_first_matching_rule) {
  EXPECT_EQ(packed(0), "02");
  EXPECT_EQ(packed(1), "0a01");
  EXPECT_EQ(packed(255), "0aff");
  EXPECT_EQ(packed(256), "120001");
  EXPECT_EQ(packed(65535), "12ffff");
  EXPECT_EQ(packed(65536), "2200000100");
  EXPECT_EQ(packed(INT32_MAX), "22ffffff7f");
  EXPECT_EQ(packed(std::int64_t{INT32_MAX} + 1), "320000008000000000");
  EXPECT_EQ(packed(std::uint32_t{0xffffffff}), "32ffffffff00000000");
  EXPECT_EQ(packed(-1), "22ffffffff") << "no short negative form";
  EXPECT_EQ(packed(-128), "2280ffffff");
  EXPECT_EQ(packed(INT32_MIN), "2200000080");
  EXPECT_EQ(packed(std::int64_t{INT32_MIN} - 1), "32ffffff7fffffffff");
  EXPECT_EQ(packed(std::numeric_limits<std::int64_t>::max()), "32ffffffffffffff7f");
  EXPECT_EQ(packed(std::numeric_limits<std::int64_t>::min()), "320000000000000080");
}

TEST(seri_writer, reals_are_copied_bit_for_bit) {
  EXPECT_EQ(packed(1.0), "42000000000000f03f") << "integral reals stay reals";
  EXPECT_EQ(packed(-0.0), "420000000000000080");
  EXPECT_EQ(packed(0.5F), "42000000000000e03f");
  EXPECT_EQ(packed(std::bit_cast<double>(std::uint64_t{0x7ff0000000000123})), "42230100000000f07f");
}

TEST(seri_writer, string_length_boundaries) {
  EXPECT_EQ(packed(""), "04");
  EXPECT_EQ(packed(std::string(31, 'a')).substr(0, 2), "fc");
  EXPECT_EQ(packed(std::string(32, 'a')).substr(0, 6), "152000");
  EXPECT_EQ(packed(std::string(65535, 'a')).substr(0, 6), "15ffff");
  EXPECT_EQ(packed(std::string(65536, 'a')).substr(0, 10), "2500000100");
  EXPECT_EQ(pack(std::string(31, 'a')).size(), 32U);
  EXPECT_EQ(pack(std::string(32, 'a')).size(), 35U);
  EXPECT_EQ(pack(std::string(65535, 'a')).size(), 65538U);
  EXPECT_EQ(pack(std::string(65536, 'a')).size(), 65541U);
  EXPECT_EQ(packed(std::string("\0\1", 2)), "140001") << "embedded zeros are bytes";
}

TEST(seri_writer, scalars) {
  EXPECT_EQ(packed(nullptr, true, false, std::monostate{}), "00090100");
  EXPECT_EQ(packed(light_userdata{0x12345678}), "037856341200000000");
  EXPECT_EQ(hex(pack()), "");
}

TEST(seri_writer, pack_accepts_the_usual_cpp_types) {
  const std::string s = "str";
  const std::string_view sv = "sv";
  const char* cs = "c";
  const char* null_cs = nullptr;
  EXPECT_EQ(packed(s, sv, cs, null_cs), "1c7374721473760c6300");
  EXPECT_EQ(packed(std::int8_t{-1}, std::uint16_t{300}, 7L, 7ULL), "22ffffffff122c010a070a07");
  EXPECT_EQ(packed(value("a"), value_list{1, 2}, table{{1}, {}}), "0c610a010a020e0a0100");
  EXPECT_EQ(packed(value_list{}), "");
}

TEST(seri_writer, tables_stream_and_tree_forms_agree) {
  writer w;
  w.begin_table(2);
  w.write_integer(1);
  w.write_string("a");
  w.write_string("k");
  w.write_bool(true);
  w.end_table();
  const std::string streamed = hex(w.finish());
  EXPECT_EQ(streamed, "160a010c610c6b0900");
  EXPECT_EQ(packed(table{{1, "a"}, {{"k", true}}}), streamed);
}

TEST(seri_writer, table_count_headers) {
  for (auto [count, header] : std::initializer_list<std::pair<std::size_t, const char*>>{
           {0, "06"}, {30, "f6"}, {31, "fe0a1f"}, {256, "fe120001"}, {65536, "fe2200000100"}}) {
    writer w;
    w.begin_table(count);
    EXPECT_EQ(to_hex(w.bytes()), header) << count;
    w.clear();
  }
  writer w;
  EXPECT_THROW(w.begin_table(std::size_t{1} << 31), error);
}

TEST(seri_writer, depth_limit_matches_skynet) {
  EXPECT_NO_THROW((void)pack(nested(32, true)));
  EXPECT_NO_THROW((void)pack(nested(33, false)));
  try {
    (void)pack(nested(33, true));
    ADD_FAILURE() << "a leaf at depth 33 must be refused";
  } catch (const error& e) {
    EXPECT_STREQ(e.what(), "serialize can't pack too depth table");
  }
  EXPECT_THROW((void)pack(nested(34, false)), error);
  // Hash keys are contents too.
  table t;
  t.hash.emplace_back(nested(32, true), 1);
  EXPECT_THROW((void)pack(t), error);
}

TEST(seri_writer, streaming_depth_limit) {
  writer w;
  for (int i = 0; i < 33; ++i)
    w.begin_table(0);  // the 33rd table sits at depth 32
  EXPECT_THROW(w.write_integer(1), error);
  EXPECT_THROW(w.begin_table(0), error);
  EXPECT_THROW(w.write(value(1)), error);
  for (int i = 0; i < 33; ++i)
    w.end_table();
  EXPECT_EQ(w.size(), 33U * 2);
}

TEST(seri_writer, keys_lua_cannot_hold_are_refused) {
  table nil_key;
  nil_key.hash.emplace_back(value(), 1);
  try {
    (void)pack(nil_key);
    ADD_FAILURE();
  } catch (const error& e) {
    EXPECT_STREQ(e.what(), "table index is nil");
  }
  table nan_key;
  nan_key.hash.emplace_back(std::numeric_limits<double>::quiet_NaN(), 1);
  try {
    (void)pack(nan_key);
    ADD_FAILURE();
  } catch (const error& e) {
    EXPECT_STREQ(e.what(), "table index is NaN");
  }
}

TEST(seri_writer, misuse_is_a_logic_error) {
  writer w;
  EXPECT_THROW(w.end_table(), std::logic_error);
  w.begin_table(0);
  EXPECT_THROW((void)w.finish(), std::logic_error);
  w.clear();
  EXPECT_EQ(w.size(), 0U);
  EXPECT_NO_THROW((void)w.finish());
}

TEST(seri_writer, small_messages_stay_off_the_heap) {
  writer w;
  w.write_string("ping");
  w.write_integer(42);
  const auto* self = reinterpret_cast<const std::byte*>(&w);
  EXPECT_GE(w.bytes().data(), self);
  EXPECT_LT(w.bytes().data(), self + sizeof(writer)) << "buffered inside the writer";
  payload p = w.finish();
  EXPECT_EQ(hex(p), "2470696e670a2a");
  EXPECT_LE(p.size(), payload::inline_capacity) << "and stored inside the payload";
}

TEST(seri_writer, large_messages_hand_over_the_buffer) {
  writer w;
  w.write_string(std::string(100'000, 'x'));
  const std::byte* buffer = w.bytes().data();
  payload p = w.finish();
  EXPECT_EQ(p.data(), buffer) << "adopted, not copied";
  EXPECT_EQ(p.size(), 100'005U);
  EXPECT_EQ(w.size(), 0U);
  // The writer is reusable and back on its inline buffer.
  w.write_integer(1);
  EXPECT_EQ(hex(w.finish()), "0a01");
}

TEST(seri_writer, growth_keeps_earlier_bytes) {
  writer w;
  std::string expected;
  for (int i = 0; i < 5000; ++i) {
    w.write_integer(i % 200 + 1);
    expected += "0a" + to_hex(std::string(1, static_cast<char>(i % 200 + 1)));
  }
  EXPECT_EQ(hex(w.finish()), expected);
}

}  // namespace
}  // namespace starling::seri
