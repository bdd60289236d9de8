#include "seri/reader.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <cstdint>
#include <limits>
#include <string>

#include "../support/hex.hpp"
#include "seri/writer.hpp"

namespace starling::seri {
namespace {

using hex_text::from_hex;

std::span<const std::byte> as_bytes(const std::string& s) {
  return std::as_bytes(std::span(s.data(), s.size()));
}

value_list unpack_hex(const std::string& hex) {
  const std::string bytes = from_hex(hex);
  return unpack(as_bytes(bytes));
}

std::string error_of(const std::string& bytes) {
  try {
    (void)unpack(as_bytes(bytes));
  } catch (const error& e) {
    return e.what();
  }
  return "no error";
}

// n nested one-element tables whose innermost element is nil.
std::string nested_stream(std::size_t n) {
  return std::string(n, '\x0e') + '\0' + std::string(n, '\0');
}

TEST(seri_reader, empty_input_has_no_values) {
  EXPECT_TRUE(unpack(std::span<const std::byte>()).empty());
  reader r{std::span<const std::byte>()};
  EXPECT_TRUE(r.at_end());
  EXPECT_THROW((void)r.read(), error);
}

TEST(seri_reader, typed_reads) {
  const payload p = pack(nullptr, true, -7, 2.5, "hello", light_userdata{99}, std::string(40, 'z'));
  reader r(p.bytes());
  EXPECT_EQ(r.peek_kind(), value::kind::nil);
  r.read_nil();
  EXPECT_TRUE(r.read_bool());
  EXPECT_EQ(r.peek_kind(), value::kind::integer);
  EXPECT_EQ(r.read_integer(), -7);
  EXPECT_EQ(r.peek_kind(), value::kind::real);
  EXPECT_EQ(r.read_real(), 2.5);
  EXPECT_EQ(r.read_string(), "hello");
  EXPECT_EQ(r.read_light_userdata(), 99U);
  const std::string_view long_string = r.read_string();
  EXPECT_EQ(long_string, std::string(40, 'z'));
  EXPECT_GE(reinterpret_cast<const std::byte*>(long_string.data()), p.data()) << "a view, no copy";
  EXPECT_LT(reinterpret_cast<const std::byte*>(long_string.data()), p.data() + p.size());
  EXPECT_TRUE(r.at_end());
  try {
    (void)r.read_integer();
    ADD_FAILURE();
  } catch (const error& e) {
    EXPECT_STREQ(e.what(), "Invalid serialize stream 0 (no value left)");
  }
}

TEST(seri_reader, typed_read_mismatch_names_both_kinds_and_consumes_nothing) {
  const payload p = pack("text", 1.0);
  reader r(p.bytes());
  try {
    (void)r.read_integer();
    ADD_FAILURE();
  } catch (const error& e) {
    EXPECT_STREQ(e.what(), "Invalid serialize stream 14 (expected integer, got string)");
  }
  EXPECT_EQ(r.read_string(), "text");
  EXPECT_THROW((void)r.read_integer(), error) << "a real is not an integer";
  EXPECT_EQ(r.read_real(), 1.0);
}

TEST(seri_reader, typed_reads_report_bad_tags_like_skynet) {
  const std::string bad = from_hex("07");
  reader r(as_bytes(bad));
  try {
    (void)r.read_string();
    ADD_FAILURE();
  } catch (const error& e) {
    EXPECT_STREQ(e.what(), "Invalid serialize stream 0 (line:527)");
  }
  const std::string cookie = from_hex("1a");
  reader r2(as_bytes(cookie));
  try {
    (void)r2.read_integer();
    ADD_FAILURE();
  } catch (const error& e) {
    EXPECT_STREQ(e.what(), "Invalid serialize stream 0 (line:407)");
  }
}

TEST(seri_reader, read_takes_one_value_at_a_time) {
  const payload p = pack(1, table{{"a"}, {{"k", table{{2}, {}}}}}, "z");
  reader r(p.bytes());
  EXPECT_EQ(r.read(), value(1));
  EXPECT_EQ(r.peek_kind(), value::kind::table);
  EXPECT_EQ(r.read(), value(table{{"a"}, {{"k", table{{2}, {}}}}}));
  EXPECT_EQ(r.read(), value("z"));
  EXPECT_TRUE(r.at_end());
}

TEST(seri_reader, tables_are_normalised_like_lua_assignment) {
  // Array count 0 but keys 1, 2 sent as pairs: they form the array part.
  EXPECT_EQ(unpack_hex("060a010a010a020a0200"), (value_list{table{{1, 2}, {}}}));
  // A hole splits the array: items after it become integer keys.
  EXPECT_EQ(unpack_hex("2e0a01000a03000a0500"), (value_list{table{{1}, {{3, 3}, {5, 5}}}}));
  // A later nil value deletes an earlier key.
  EXPECT_EQ(unpack_hex("060c610a010c610000"), value_list{table{}});
  // A pair nils an array item: the tail moves to the hash part.
  EXPECT_EQ(unpack_hex("160a010a020a010000"), (value_list{table{{}, {{2, 2}}}}));
  // 2.0 is the key 2, -0.0 is the key 0.
  writer w;
  w.begin_table(1);
  w.write_string("a");
  w.write_real(2.0);
  w.write_string("b");
  w.write_real(-0.0);
  w.write_string("cz");
  w.end_table();
  EXPECT_EQ(unpack(w.finish()), (value_list{table{{"a", "b"}, {{0, "cz"}}}}));
  // Non-integral and huge reals stay real keys.
  EXPECT_EQ(unpack_hex("0642000000000000f83f0a0142000000000000e0430a0200"),
            (value_list{table{{}, {{1.5, 1}, {0x1p63, 2}}}}));
  // Two table keys are two keys, even when equal in content.
  EXPECT_EQ(unpack_hex("0606000a0106000a0200").at(0).as_table().hash.size(), 2U);
}

TEST(seri_reader, many_pairs_with_duplicates_use_the_index) {
  // 1000 string keys, then every key again with a new value, then half of them deleted.
  writer w;
  w.begin_table(0);
  for (int round = 0; round < 2; ++round) {
    for (int i = 0; i < 1000; ++i) {
      w.write_string("key" + std::to_string(i));
      w.write_integer(i + round * 1000);
    }
  }
  for (int i = 0; i < 1000; i += 2) {
    w.write_string("key" + std::to_string(i));
    w.write_nil();
  }
  // Integer keys 1..3000 out of order continue into the array part.
  for (int i = 3000; i >= 1; --i) {
    w.write_integer(i);
    w.write_integer(-i);
  }
  w.end_table();
  const payload p = w.finish();
  const value_list got = unpack(p);
  ASSERT_EQ(got.size(), 1U);
  const table& t = got[0].as_table();
  ASSERT_EQ(t.array.size(), 3000U);
  EXPECT_EQ(t.array[2999], value(-3000));
  ASSERT_EQ(t.hash.size(), 500U);
  for (int i = 1; i < 1000; i += 2) {
    const value* v = t.find("key" + std::to_string(i));
    ASSERT_NE(v, nullptr);
    EXPECT_EQ(*v, value(i + 1000));
  }
}

TEST(seri_reader, long_form_for_short_content_and_odd_cookies_are_accepted) {
  EXPECT_EQ(unpack_hex("150300616263"), value_list{"abc"});
  EXPECT_EQ(unpack_hex("f9"), value_list{true});
  EXPECT_EQ(unpack_hex("28"), value_list{value()});
  EXPECT_EQ(unpack_hex("22ffffffff"), value_list{-1});
}

TEST(seri_reader, integer_and_string_boundaries_round_trip) {
  for (std::int64_t v :
       {std::int64_t{0}, std::int64_t{1}, std::int64_t{255}, std::int64_t{256}, std::int64_t{65535},
        std::int64_t{65536}, std::int64_t{INT32_MAX}, std::int64_t{INT32_MAX} + 1, std::int64_t{-1},
        std::int64_t{INT32_MIN}, std::int64_t{INT32_MIN} - 1,
        std::numeric_limits<std::int64_t>::max(), std::numeric_limits<std::int64_t>::min()}) {
    const payload p = pack(v);
    reader r(p.bytes());
    EXPECT_EQ(r.read_integer(), v);
    EXPECT_TRUE(r.at_end());
  }
  for (std::size_t n : {0UL, 1UL, 31UL, 32UL, 65535UL, 65536UL, 100000UL}) {
    const std::string s(n, 'q');
    const payload p = pack(s);
    EXPECT_EQ(unpack(p), value_list{s}) << n;
  }
}

TEST(seri_reader, truncated_strings_fail_before_copying) {
  // A u32 length of 4 GiB with 3 bytes of body: refused at once.
  EXPECT_EQ(error_of(from_hex("25ffffffff616263")), "Invalid serialize stream 3 (line:437)");
}

TEST(seri_reader, nesting_up_to_the_limit_decodes) {
  const std::string at_limit = nested_stream(reader::max_depth);
  const value_list got = unpack(as_bytes(at_limit));
  ASSERT_EQ(got.size(), 1U);
  EXPECT_TRUE(got[0].is_table());
}

TEST(seri_reader, nesting_past_the_limit_is_refused) {
  const std::string past = nested_stream(reader::max_depth + 1);
  // 2n + 1 bytes with n = max_depth + 1; the n tags are consumed, n + 1 bytes remain.
  EXPECT_EQ(error_of(past), "Invalid serialize stream " + std::to_string(reader::max_depth + 2) +
                                " (depth limit 10000)");
}

TEST(seri_reader, very_deep_input_does_not_crash) {
  // Real skynet dies with SIGSEGV at this depth.
  EXPECT_NE(error_of(nested_stream(200'000)).find("(depth limit 10000)"), std::string::npos);
  // The same through hash keys and hash values.
  std::string keys;
  for (int i = 0; i < 200'000; ++i)
    keys += "\x06";
  EXPECT_NE(error_of(keys).find("(depth limit 10000)"), std::string::npos);
  std::string values;
  for (int i = 0; i < 200'000; ++i)
    values += "\x06\x0c\x61";
  EXPECT_NE(error_of(values).find("(depth limit 10000)"), std::string::npos);
}

TEST(seri_reader, lying_array_counts_do_not_reserve_memory) {
  // Every table claims 2^31-1 items; the input is small, so this must fail fast and cheaply.
  std::string lies;
  for (int i = 0; i < 5000; ++i)
    lies += from_hex("fe22ffffff7f");
  const auto start = std::chrono::steady_clock::now();
  EXPECT_EQ(error_of(lies), "Invalid serialize stream 0 (line:538)");
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(5));
}

TEST(seri_reader, nan_key_fails_even_with_a_nil_value) {
  EXPECT_EQ(error_of(from_hex("0642000000000000f87f0000")), "table index is NaN");
}

}  // namespace
}  // namespace starling::seri
