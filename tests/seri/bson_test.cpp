// seri/bson against the golden vectors of real skynet (tests/vectors/libraries.json, bson):
// every document skynet encoded decodes into the C++ tree and encodes back to the same bytes,
// every crafted document decodes to skynet's values or fails with skynet's text; then the
// writer's checks, the depth limits and truncated input.
#include "seri/bson.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <bit>
#include <cstdio>
#include <string>
#include <vector>

#include "../support/library_vectors.hpp"

namespace starling::bson {
namespace {

using library_vectors::json;
using library_vectors::vectors;
using vector_file::case_ref;
using vector_file::from_hex;

std::vector<case_ref> refs(const char* section) {
  return vectors().is_object() ? vector_file::refs_in(vectors()["bson"], section)
                               : std::vector<case_ref>{};
}

const json& entry(const case_ref& ref) {
  return vectors()["bson"][ref.section][ref.index];
}

// ---- a value in the vectors' typed notation, as skynet's Lua mapping shows it ----

json typed_string(const std::string& bytes) {
  return {{"type", "string"}, {"bytes", bytes}};
}

std::string special(type t, const std::string& body) {
  return std::string(1, '\0') + static_cast<char>(t) + body;
}

std::string le32(std::uint32_t v) {
  std::string s(4, '\0');
  store_le32(s.data(), v);
  return s;
}

json typed_of(const value& v);

json typed_table(std::vector<std::pair<json, json>> pairs, std::size_t array_size) {
  json out = {{"type", "table"}};
  if (array_size > 0) {
    out["array"] = json::array();
    for (std::size_t i = 0; i < array_size; ++i)
      out["array"].push_back(pairs[i].second);
    pairs.erase(pairs.begin(), pairs.begin() + static_cast<std::ptrdiff_t>(array_size));
  }
  if (!pairs.empty()) {
    out["hash"] = json::array();
    std::sort(pairs.begin(), pairs.end(),
              [](const auto& a, const auto& b) { return a.first.dump() < b.first.dump(); });
    for (auto& [k, val] : pairs)
      out["hash"].push_back({k, val});
  }
  return out;
}

json typed_of(const value& v) {
  struct visitor {
    json operator()(null_value) const { return typed_string(special(type::null, "")); }
    json operator()(min_key) const { return typed_string(special(type::minkey, "")); }
    json operator()(max_key) const { return typed_string(special(type::maxkey, "")); }
    json operator()(bool b) const { return {{"type", "boolean"}, {"value", b}}; }
    json operator()(std::int32_t i) const {
      return {{"type", "integer"}, {"value", std::to_string(i)}};
    }
    json operator()(std::int64_t i) const {
      return {{"type", "integer"}, {"value", std::to_string(i)}};
    }
    json operator()(double d) const {
      char bits[17];
      std::snprintf(bits, sizeof bits, "%016llx",
                    static_cast<unsigned long long>(std::bit_cast<std::uint64_t>(d)));
      return {{"type", "float"}, {"bits", bits}};
    }
    json operator()(const std::string& s) const { return typed_string(s); }
    json operator()(const document& d) const {
      // Lua keeps the last of duplicate keys.
      std::vector<std::pair<json, json>> pairs;
      for (const member& m : d) {
        const json key = typed_string(m.key);
        const auto same =
            std::find_if(pairs.begin(), pairs.end(), [&](const auto& p) { return p.first == key; });
        if (same != pairs.end()) {
          same->second = typed_of(m.val);
        } else {
          pairs.emplace_back(key, typed_of(m.val));
        }
      }
      return typed_table(std::move(pairs), 0);
    }
    json operator()(const array& a) const {
      std::vector<std::pair<json, json>> pairs;
      for (std::size_t i = 0; i < a.size(); ++i) {
        pairs.emplace_back(json{{"type", "integer"}, {"value", std::to_string(i + 1)}},
                           typed_of(a[i]));
      }
      return typed_table(std::move(pairs), a.size());
    }
    json operator()(const binary& b) const {
      return typed_string(
          special(type::binary, std::string(1, static_cast<char>(b.subtype)) + b.data));
    }
    json operator()(const objectid& o) const {
      return typed_string(special(type::objectid, std::string(o.bytes.begin(), o.bytes.end())));
    }
    json operator()(date d) const {
      return typed_string(
          special(type::date, le32(static_cast<std::uint32_t>(d.milliseconds / 1000))));
    }
    json operator()(timestamp t) const {
      return typed_string(special(type::timestamp, le32(t.increment) + le32(t.seconds)));
    }
    json operator()(const regex& r) const {
      return typed_string(special(type::regex, r.pattern + '\0' + r.options + '\0'));
    }
    json operator()(const raw_element& r) const { return typed_string(special(r.kind, r.body)); }
  };
  return std::visit(visitor{}, v.v);
}

// The file's typed value with strings as bytes and floats as bits only, for comparison.
json normalized(const json& typed) {
  const std::string t = typed["type"].get<std::string>();
  if (t == "string") return typed_string(library_vectors::bytes_of(typed));
  if (t == "float") return {{"type", "float"}, {"bits", typed["bits"]}};
  if (t != "table") return typed;
  std::vector<std::pair<json, json>> pairs;
  std::size_t array_size = 0;
  if (typed.contains("array")) {
    for (const json& v : typed["array"]) {
      pairs.emplace_back(json{{"type", "integer"}, {"value", std::to_string(++array_size)}},
                         normalized(v));
    }
  }
  if (typed.contains("hash")) {
    for (const json& kv : typed["hash"])
      pairs.emplace_back(normalized(kv[0]), normalized(kv[1]));
  }
  return typed_table(std::move(pairs), array_size);
}

TEST(bson_vectors, are_present) {
  ASSERT_TRUE(vectors().is_object()) << "cannot read " STARLING_VECTORS_DIR "/libraries.json";
  EXPECT_EQ(vectors()["bson"]["encode"].size(), 112U);
  EXPECT_EQ(vectors()["bson"]["decode"].size(), 46U);
}

// Every document skynet encoded: the tree holds skynet's decoded value and encodes back to the
// same bytes.
class bson_encoded : public ::testing::TestWithParam<case_ref> {};

TEST_P(bson_encoded, decodes_and_encodes_back) {
  const json& c = entry(GetParam());
  const std::string bytes = from_hex(c["hex"].get<std::string>());
  if (c.contains("decode_error")) {
    try {
      (void)decode(bytes);
      ADD_FAILURE() << "decoded";
    } catch (const error& e) {
      EXPECT_EQ(e.what(), c["decode_error"].get<std::string>());
    }
    return;
  }
  const document doc = decode(bytes);
  EXPECT_EQ(encode(doc), bytes);
  if (c.contains("decoded")) {
    EXPECT_EQ(typed_of(doc), normalized(c["decoded"]));
  }
}

// Encoding errors come from Lua values only: tests/lua/cases/bson.lua runs those cases.
std::vector<case_ref> encoded_documents() {
  if (!vectors().is_object()) return {};
  return vector_file::refs_where(vectors()["bson"], "encode",
                                 [](const json& c) { return c["ok"].get<bool>(); });
}

INSTANTIATE_TEST_SUITE_P(vectors, bson_encoded, ::testing::ValuesIn(encoded_documents()),
                         vector_file::test_name);

// The crafted documents. The tree keeps array elements in wire order whatever their keys say
// (Lua places them by key): the cases about array keys compare only what both agree on.
class bson_crafted : public ::testing::TestWithParam<case_ref> {};

TEST_P(bson_crafted, decodes_as_skynet) {
  const json& c = entry(GetParam());
  const std::string bytes = from_hex(c["hex"].get<std::string>());
  if (!c["ok"].get<bool>()) {
    try {
      (void)decode(bytes);
      ADD_FAILURE() << "decoded";
    } catch (const error& e) {
      EXPECT_EQ(e.what(), c["error"].get<std::string>());
    }
    return;
  }
  const document doc = decode(bytes);
  const std::string name = c["name"].get<std::string>();
  if (name == "array_keys_out_of_order" || name == "array_negative_key") {
    ASSERT_EQ(doc.size(), 1U);
    EXPECT_EQ(std::get<array>(doc[0].val.v).size(), c["decoded"]["hash"][0][1]["hash"].size());
    return;
  }
  EXPECT_EQ(typed_of(doc), normalized(c["decoded"]));
}

INSTANTIATE_TEST_SUITE_P(vectors, bson_crafted, ::testing::ValuesIn(refs("decode")),
                         vector_file::test_name);

// ---- what the vectors leave out ----

TEST(bson, tree_round_trips_every_kind) {
  const document doc{
      {"null", null_value{}},
      {"min", min_key{}},
      {"max", max_key{}},
      {"t", true},
      {"i", std::int32_t{-5}},
      {"l", std::int64_t{1} << 40},
      {"d", 2.5},
      {"s", "text"},
      {"doc", document{{"x", std::int32_t{1}}}},
      {"arr", array{std::int32_t{1}, "two", array{}}},
      {"bin", binary{4, std::string("\0\1", 2)}},
      {"oid", objectid_from_hex("00112233445566778899aabb")},
      {"date", date{1700000000000}},
      {"ts", timestamp{7, 1700000000}},
      {"re", regex{"a.c", "i"}},
      {"code", raw_element{type::jscode, std::string("\4\0\0\0x=1\0", 8)}},
  };
  const std::string bytes = encode(doc);
  EXPECT_EQ(load_le32(bytes.data()), bytes.size());
  EXPECT_EQ(decode(bytes), doc);
  std::string two;
  encode_to(two, doc);
  encode_to(two, doc);
  EXPECT_EQ(two, bytes + bytes);
}

TEST(bson, the_example_of_api_md) {
  const document player{
      {"_id", new_objectid()},
      {"name", "ann"},
      {"level", std::int32_t{7}},
      {"gold", std::int64_t{1} << 40},
      {"items", array{"sword", "shield"}},
      {"seen", date{1700000000000}},
  };
  const document back = decode(encode(player));
  EXPECT_EQ(std::get<std::int32_t>(back[2].val.v), 7);
  EXPECT_EQ(back, player);
  // Walking without a tree.
  const std::string bytes = encode(player);
  reader r(bytes);
  element e;
  std::vector<std::string_view> keys;
  while (r.next(e))
    keys.push_back(e.key);
  EXPECT_EQ(keys, (std::vector<std::string_view>{"_id", "name", "level", "gold", "items", "seen"}));
}

TEST(bson, writer_checks_utf8_as_skynet) {
  for (const char* bad : {"\xff", "\x80", "\xc0\x80", "\xe0\x80\x80", "\xe4\xb8",
                          "\xf4\x90\x80\x80", "\xf8\x88\x80\x80\x80"}) {
    EXPECT_THROW(check_utf8(bad), error) << bad;
    EXPECT_THROW(encode({{bad, 1}}), error);
    EXPECT_THROW(encode({{"a", bad}}), error);
  }
  for (const char* good : {"", "plain", "\xc3\xa9", "\xe4\xb8\xad", "\xf0\x9f\x98\x80",
                           "\xf4\x8f\xbf\xbf", "\xed\xa0\x80"}) {
    EXPECT_NO_THROW(check_utf8(good)) << good;
  }
}

TEST(bson, writer_special_strings) {
  std::string out;
  writer w(out);
  EXPECT_THROW(w.special("a", std::string("\0abc", 4)), error);
  try {
    w.special("a", std::string("\0\x07short", 7));
  } catch (const error& e) {
    EXPECT_STREQ(e.what(), "Invalid object id short");
  }
  EXPECT_THROW(w.special("a", std::string("\0\x0b"
                                          "abc",
                                          5)),
               error);  // a regex needs its NUL
  EXPECT_THROW(w.special("a", std::string("\0\x09"
                                          "abc",
                                          5)),
               error);
}

document nested(int levels) {
  document doc{{"a", std::int32_t{1}}};
  for (int i = 0; i < levels; ++i)
    doc = document{{"a", std::move(doc)}};
  return doc;
}

TEST(bson, depth_limits) {
  EXPECT_NO_THROW(encode(nested(max_encode_depth)));
  EXPECT_THROW(encode(nested(max_encode_depth + 1)), error);
  // A deep document from elsewhere: refused with an error, not a stack overflow.
  const int levels = 2 * max_decode_depth;
  // Built inside out: each level is length, type 3, "a\0", the inner document, terminator.
  std::string inner("\x05\0\0\0\0", 5);
  for (int i = 0; i < levels; ++i) {
    std::string outer(4, '\0');
    outer +=
        "\x03"
        "a";
    outer.push_back('\0');
    outer += inner;
    outer.push_back('\0');
    store_le32(outer.data(), static_cast<std::uint32_t>(outer.size()));
    inner = std::move(outer);
  }
  EXPECT_THROW(decode(inner), error);
}

TEST(bson, every_truncation_fails_cleanly) {
  const std::string bytes = encode({{"s", "text"},
                                    {"d", document{{"x", 1.5}, {"y", array{1, 2}}}},
                                    {"r", regex{"a", "b"}},
                                    {"l", std::int64_t{5}}});
  for (std::size_t n = 0; n < bytes.size(); ++n) {
    std::string cut = bytes.substr(0, n);
    if (n >= 4) store_le32(cut.data(), static_cast<std::uint32_t>(n));
    EXPECT_THROW(decode(cut), error) << n;
  }
  std::string longer = bytes;
  store_le32(longer.data(), static_cast<std::uint32_t>(bytes.size() + 1));
  EXPECT_THROW(decode(longer), error);
}

TEST(bson, a_negative_length_never_moves_before_the_document) {
  // skynet moves back over a sub-document whose length is below 5; from here, far back.
  const std::string bytes = from_hex("0d000000036400000000800000");
  try {
    (void)decode(bytes);
    ADD_FAILURE() << "decoded";
  } catch (const error& e) {
    EXPECT_STREQ(e.what(), "Invalid bson block (1:-2147483653)");
  }
}

TEST(bson, a_short_sub_document_is_never_read_twice) {
  // Length -2: skynet moves back 7 bytes, onto the same element; a walker that skips
  // sub-documents (makeindex) would read it forever.
  const std::string bytes = from_hex("100000000400feffffff0a000b000000");
  reader r(bytes);
  element e;
  try {
    while (r.next(e)) {
    }
    ADD_FAILURE() << "read to the end";
  } catch (const error& x) {
    EXPECT_STREQ(x.what(), "Invalid bson block (-7:1)");
  }
}

TEST(bson, objectids) {
  EXPECT_EQ(objectid_from_hex("0123456789ABCDEF01234567"),
            objectid_from_hex("0123456789abcdef01234567"));
  const objectid odd = objectid_from_hex("zz23456789abcdef0123456!");
  EXPECT_EQ(odd.bytes[0], 0x33);
  EXPECT_EQ(odd.bytes[11], 0x60);
  EXPECT_THROW(objectid_from_hex("0123"), error);
  const objectid a = new_objectid();
  const objectid b = new_objectid();
  EXPECT_TRUE(std::equal(a.bytes.begin() + 4, a.bytes.begin() + 9, b.bytes.begin() + 4));
  const auto counter = [](const objectid& o) {
    return o.bytes[9] << 16 | o.bytes[10] << 8 | o.bytes[11];
  };
  EXPECT_EQ((counter(b) - counter(a)) & 0xffffff, 1);
}

}  // namespace
}  // namespace starling::bson
