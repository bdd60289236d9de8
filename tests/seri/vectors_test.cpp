// The golden vectors from real skynet (tests/vectors/seri.json), read at run time: every
// case must encode byte for byte and decode to the recorded values.

#include <gtest/gtest.h>
#include <openssl/evp.h>

#include <algorithm>
#include <array>
#include <cstdint>
#include <fstream>
#include <nlohmann/json.hpp>
#include <optional>
#include <regex>
#include <span>
#include <string>
#include <vector>

#include "../support/seri_vectors.hpp"
#include "seri/reader.hpp"
#include "seri/writer.hpp"

namespace starling::seri {
namespace {

using namespace seri_vectors;  // NOLINT(google-build-using-namespace): test helpers

std::string encode(const value_list& values) {
  writer w;
  w.write(values);
  payload p = w.finish();
  return std::string(p.view());
}

// SHA-256 by libcrypto, for the one case whose hex is omitted.
std::string sha256_hex(const std::string& message) {
  std::array<unsigned char, EVP_MAX_MD_SIZE> digest{};
  unsigned int size = 0;
  if (EVP_Digest(message.data(), message.size(), digest.data(), &size, EVP_sha256(), nullptr) != 1)
    return "EVP_Digest failed";
  return to_hex(std::as_bytes(std::span(digest.data(), size)));
}

TEST(seri_vectors, file_loads_with_every_section) {
  const json& all = vectors();
  ASSERT_TRUE(all.is_object()) << "cannot read " STARLING_VECTORS_DIR "/seri.json";
  EXPECT_EQ(all["cases"].size(), 109U);
  EXPECT_EQ(all["pack_errors"].size(), 9U);
  EXPECT_EQ(all["unpack_cases"].size(), 58U);
}

// ---- cases[] -----------------------------------------------------------------

class encode_case : public testing::TestWithParam<case_ref> {};

TEST_P(encode_case, matches_skynet) {
  const json& c = entry(GetParam());
  const value_list values = values_of(c);
  const bool roundtrip_only = c.value("roundtrip_only", false);
  const std::string encoded = encode(values);

  // The wire bytes skynet produced. One case omits them; it is checked by length, both ends
  // and digest, and our own bytes then stand in for it.
  std::string wire;
  if (c.value("hex_omitted", false)) {
    ASSERT_FALSE(roundtrip_only);
    EXPECT_EQ(encoded.size(), c.at("byte_length").get<std::size_t>());
    const std::string prefix = from_hex(c.at("hex_prefix").get<std::string>());
    const std::string suffix = from_hex(c.at("hex_suffix").get<std::string>());
    ASSERT_GE(encoded.size(), prefix.size() + suffix.size());
    EXPECT_EQ(encoded.substr(0, prefix.size()), prefix);
    EXPECT_EQ(encoded.substr(encoded.size() - suffix.size()), suffix);
    EXPECT_EQ(sha256_hex(encoded), c.at("sha256").get<std::string>());
    wire = encoded;
  } else {
    wire = from_hex(c.at("hex").get<std::string>());
    EXPECT_EQ(wire.size(), c.at("size").get<std::size_t>());
    if (!roundtrip_only) {
      EXPECT_EQ(to_hex(as_bytes(encoded)), c.at("hex").get<std::string>());
    }
  }

  const value_list decoded = unpack(as_bytes(wire));
  EXPECT_EQ(decoded, values) << "decode(hex) differs from the recorded values";
  EXPECT_EQ(unpack(as_bytes(encoded)), values) << "decode(encode(values)) differs";

  // Our decoder keeps stream order, so re-packing what it decoded reproduces skynet's bytes
  // whenever skynet's own re-pack does.
  if (c.at("repack_of_decoded_identical").get<bool>()) {
    EXPECT_EQ(to_hex(as_bytes(encode(decoded))), to_hex(as_bytes(wire)));
  }
}

INSTANTIATE_TEST_SUITE_P(seri_json, encode_case, testing::ValuesIn(refs("cases")), test_name);

// ---- pack_errors[] -----------------------------------------------------------

// The Lua expressions of the two depth cases: `local t = {1}` (or `{}`) wrapped n-1 times.
std::optional<value> nested_from_lua(const std::string& lua) {
  static const std::regex pattern(R"(local t = \{(1?)\} for i = 2, (\d+) do t = \{t\} end)");
  std::smatch m;
  if (!std::regex_search(lua, m, pattern)) return std::nullopt;
  table innermost;
  if (m[1].length() != 0) innermost.array.emplace_back(1);
  value t = std::move(innermost);
  for (int i = 2; i <= std::stoi(m[2].str()); ++i) {
    table outer;
    outer.array.push_back(std::move(t));
    t = std::move(outer);
  }
  return t;
}

class pack_error_case : public testing::TestWithParam<case_ref> {};

TEST_P(pack_error_case, raises_skynets_message) {
  const json& c = entry(GetParam());
  const std::optional<value> input = nested_from_lua(c.at("lua").get<std::string>());
  ASSERT_TRUE(input.has_value());
  try {
    (void)pack(*input);
    ADD_FAILURE() << "pack succeeded";
  } catch (const error& e) {
    EXPECT_EQ(std::string(e.what()), c.at("error").get<std::string>());
  }
}

// Functions, coroutines, full userdata and __pairs exist only in Lua: the Lua binding's case
// (tests/lua/lua_seri_test.cpp) runs those; C++ runs the ones it can express.
std::vector<case_ref> expressible_pack_errors() {
  return vector_file::refs_where(vectors(), "pack_errors", [](const json& c) {
    return nested_from_lua(c.at("lua").get<std::string>()).has_value();
  });
}

INSTANTIATE_TEST_SUITE_P(seri_json, pack_error_case, testing::ValuesIn(expressible_pack_errors()),
                         test_name);

TEST(seri_vectors, depth_cases_are_expressible) {
  // Guards the filter above: exactly the two depth cases must be run in C++.
  int expressible = 0;
  for (const json& c : vectors()["pack_errors"]) {
    if (nested_from_lua(c.at("lua").get<std::string>())) ++expressible;
  }
  EXPECT_EQ(expressible, 2);
}

// ---- unpack_cases[] ----------------------------------------------------------

class unpack_case : public testing::TestWithParam<case_ref> {};

TEST_P(unpack_case, decodes_like_skynet) {
  const json& c = entry(GetParam());
  const std::string wire = from_hex(c.at("hex").get<std::string>());
  if (!c.at("ok").get<bool>()) {
    try {
      const value_list got = unpack(as_bytes(wire));
      ADD_FAILURE() << "decoded " << got.size() << " values; expected " << c.at("error");
    } catch (const error& e) {
      EXPECT_EQ(std::string(e.what()), c.at("error").get<std::string>());
    }
    return;
  }
  const value_list got = unpack(as_bytes(wire));
  if (c.contains("values")) {
    EXPECT_EQ(got, values_of(c));
    return;
  }
  // nested_depth_1000: 1000 nested one-element tables; the innermost element is nil, so the
  // innermost table is empty.
  ASSERT_EQ(c.at("name").get<std::string>(), "nested_depth_1000");
  ASSERT_EQ(got.size(), 1U);
  const value* v = &got[0];
  int depth = 0;
  while (v->is_table()) {
    ++depth;
    const table& t = v->as_table();
    ASSERT_TRUE(t.hash.empty());
    if (t.array.empty()) break;
    ASSERT_EQ(t.array.size(), 1U);
    v = &t.array[0];
  }
  EXPECT_EQ(depth, 1000);
}

INSTANTIATE_TEST_SUITE_P(seri_json, unpack_case, testing::ValuesIn(refs("unpack_cases")),
                         test_name);

// ---- robustness --------------------------------------------------------------

void expect_prefix_safe(const std::string& wire, std::size_t length) {
  try {
    (void)unpack(as_bytes(wire.substr(0, length)));
  } catch (const error&) {
    // a clean refusal is fine
  } catch (const std::exception& e) {
    ADD_FAILURE() << "prefix " << length << " threw a non-seri exception: " << e.what();
  }
}

TEST(seri_vectors, every_prefix_of_every_stream_decodes_or_fails_cleanly) {
  const std::vector<std::string> streams = all_streams();
  ASSERT_FALSE(streams.empty());
  for (const std::string& wire : streams) {
    // Long streams: every prefix near either end, and a sample in between (decoding each
    // prefix of a 64 KiB array in full would take minutes).
    constexpr std::size_t full = 2048;
    for (std::size_t length = 0; length < wire.size(); ++length) {
      const bool near_end = length < 1024 || wire.size() - length <= 64;
      if (wire.size() <= full || near_end || length % 997 == 0) expect_prefix_safe(wire, length);
    }
  }
}

}  // namespace
}  // namespace starling::seri

GTEST_ALLOW_UNINSTANTIATED_PARAMETERIZED_TEST(encode_case);
GTEST_ALLOW_UNINSTANTIATED_PARAMETERIZED_TEST(pack_error_case);
GTEST_ALLOW_UNINSTANTIATED_PARAMETERIZED_TEST(unpack_case);
