// src/crypt against the golden vectors of real skynet (tests/vectors/libraries.json, crypt and
// md5): every call whose arguments are strings (the Lua argument errors are the Lua case's,
// tests/lua/cases/crypt.lua), results byte for byte, errors by skynet's text.
#include "crypt/crypt.hpp"

#include <gtest/gtest.h>

#include <cctype>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "../support/library_vectors.hpp"

namespace starling::crypt {
namespace {

using library_vectors::json;
using library_vectors::vectors;
using vector_file::case_ref;

template <std::size_t N>
std::string str(const std::array<char, N>& a) {
  return {a.data(), a.size()};
}

// The arguments of a call as Lua would convert them for a string parameter, or nullopt when
// one is not a string or number (a Lua argument error).
std::optional<std::vector<std::string>> string_args(const json& args) {
  std::vector<std::string> out;
  for (const json& a : args) {
    const std::string type = a["type"].get<std::string>();
    if (type == "string") {
      out.push_back(library_vectors::bytes_of(a));
    } else if (type == "integer") {
      out.push_back(a["value"].get<std::string>());
    } else {
      return std::nullopt;
    }
  }
  return out;
}

using function = std::function<std::string(const std::vector<std::string>&)>;

std::int64_t mode_of(const std::vector<std::string>& a) {
  return a.size() > 2 ? std::stoll(a[2]) : 0;
}

const std::map<std::string, std::pair<std::size_t, function>>& functions() {
  using args = std::vector<std::string>;
  static const std::map<std::string, std::pair<std::size_t, function>> table{
      {"hashkey", {1, [](const args& a) { return str(hashkey(a[0])); }}},
      {"hexencode", {1, [](const args& a) { return hexencode(a[0]); }}},
      {"hexdecode", {1, [](const args& a) { return hexdecode(a[0]); }}},
      {"desencode", {2, [](const args& a) { return desencode(a[0], a[1], mode_of(a)); }}},
      {"desdecode", {2, [](const args& a) { return desdecode(a[0], a[1], mode_of(a)); }}},
      {"hmac64", {2, [](const args& a) { return str(hmac64(a[0], a[1])); }}},
      {"hmac64_md5", {2, [](const args& a) { return str(hmac64_md5(a[0], a[1])); }}},
      {"hmac_hash", {2, [](const args& a) { return str(hmac_hash(a[0], a[1])); }}},
      {"dhexchange", {1, [](const args& a) { return str(dhexchange(a[0])); }}},
      {"dhsecret", {2, [](const args& a) { return str(dhsecret(a[0], a[1])); }}},
      {"base64encode", {1, [](const args& a) { return base64encode(a[0]); }}},
      {"base64decode", {1, [](const args& a) { return base64decode(a[0]); }}},
      {"sha1", {1, [](const args& a) { return str(sha1(a[0])); }}},
      {"hmac_sha1", {2, [](const args& a) { return str(hmac_sha1(a[0], a[1])); }}},
      {"xor_str", {2, [](const args& a) { return xor_str(a[0], a[1]); }}},
      {"sum", {1, [](const args& a) { return str(md5(a[0])); }}},
      {"crypt", {3, [](const args& a) { return md5_crypt(a[0], a[1], a[2]); }}},
      {"decrypt", {2, [](const args& a) { return md5_decrypt(a[0], a[1]); }}},
  };
  return table;
}

// A call C++ can make: a known function given enough string arguments. The rest are
// Lua-level cases (argument errors, md5.sumhexa), run by tests/lua/cases/crypt.lua.
bool callable_from_cpp(const json& c) {
  const auto known = functions().find(c["function"].get<std::string>());
  const auto args = string_args(c["args"]);
  return known != functions().end() && args && args->size() >= known->second.first;
}

std::vector<case_ref> calls() {
  std::vector<case_ref> out;
  for (const char* section : {"crypt", "md5"}) {
    if (!vectors().is_object()) break;
    const json& list = vectors()[section]["calls"];
    for (std::size_t i = 0; i < list.size(); ++i) {
      if (!callable_from_cpp(list[i])) continue;
      std::string name = std::string(section) + "_" + list[i]["name"].get<std::string>();
      for (char& ch : name) {
        if (std::isalnum(static_cast<unsigned char>(ch)) == 0) ch = '_';
      }
      out.push_back({section, i, name});
    }
  }
  return out;
}

TEST(crypt_vectors, are_present) {
  ASSERT_TRUE(vectors().is_object()) << "cannot read " STARLING_VECTORS_DIR "/libraries.json";
  EXPECT_EQ(vectors()["crypt"]["calls"].size(), 276U);
}

class crypt_call : public ::testing::TestWithParam<case_ref> {};

TEST_P(crypt_call, matches_skynet) {
  const json& c = vectors()[GetParam().section]["calls"][GetParam().index];
  const auto known = functions().find(c["function"].get<std::string>());
  const auto args = string_args(c["args"]);
  if (c["ok"].get<bool>()) {
    EXPECT_EQ(vector_file::from_hex(c["result_hex"].get<std::string>()),
              known->second.second(*args));
    return;
  }
  const std::string want = library_vectors::without_position(c["error"].get<std::string>());
  try {
    known->second.second(*args);
    ADD_FAILURE() << "no error, want " << want;
  } catch (const error& e) {
    // md5.decrypt's is an argument error in Lua: the C++ text is what the parentheses hold.
    EXPECT_NE(want.find(e.what()), std::string::npos) << e.what() << " / " << want;
  }
}

INSTANTIATE_TEST_SUITE_P(vectors, crypt_call, ::testing::ValuesIn(calls()), vector_file::test_name);

// ---- what the vectors leave out ----

TEST(crypt, des_round_trips_every_length_in_both_paddings) {
  const std::string key = "\x13\x34\x57\x79\x9b\xbc\xdf\xf1";
  std::string text;
  for (int n = 0; n < 40; ++n) {
    for (std::int64_t mode : {0, 1}) {
      const std::string cipher = desencode(key, text, mode);
      EXPECT_EQ(cipher.size(), (text.size() / 8 + 1) * 8);
      EXPECT_EQ(desdecode(key, cipher, mode), text);
    }
    text.push_back(static_cast<char>(n * 7));
  }
}

TEST(crypt, dh_agreement) {
  for (int i = 0; i < 50; ++i) {
    const block8 a = randomkey();
    const block8 b = randomkey();
    const std::string sa = str(a), sb = str(b);
    if (sa == std::string(8, '\0') || sb == std::string(8, '\0')) continue;
    EXPECT_EQ(str(dhsecret(str(dhexchange(sa)), sb)), str(dhsecret(str(dhexchange(sb)), sa)));
  }
}

TEST(crypt, base64_round_trips) {
  std::string bytes;
  for (int n = 0; n < 70; ++n) {
    EXPECT_EQ(base64decode(base64encode(bytes)), bytes);
    bytes.push_back(static_cast<char>(255 - n));
  }
}

TEST(crypt, md5_cipher_round_trips_with_every_seed_size) {
  const std::string msg(100, 'm');
  for (std::size_t seed = 0; seed <= 16; ++seed) {
    const std::string cipher = md5_crypt(msg, "key", std::string(seed, 's'));
    EXPECT_EQ(cipher.size(), 1 + seed + msg.size());
    EXPECT_EQ(md5_decrypt(cipher, "key"), msg);
  }
  EXPECT_EQ(md5_decrypt(md5_crypt("x", "key", md5_default_seed()), "key"), "x");
  EXPECT_FALSE(md5_cipher_valid(std::string("\x11", 1)));
  EXPECT_THROW(md5_decrypt(std::string("\x05", 1), "key"), error);
}

}  // namespace
}  // namespace starling::crypt
