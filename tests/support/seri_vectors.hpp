#pragma once
// Reading tests/vectors/seri.json: the cases as GoogleTest parameters, and the
// typed JSON values turned into seri::value. Shared by the C++ and the Lua codec tests.

#include <gtest/gtest.h>

#include <bit>
#include <cstdint>
#include <nlohmann/json.hpp>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "seri/value.hpp"
#include "vector_file.hpp"

namespace starling::seri_vectors {

using nlohmann::json;
using seri::light_userdata;
using seri::table;
using seri::value;
using seri::value_list;

using hex_text::to_hex;
using vector_file::case_ref;
using vector_file::from_hex;
using vector_file::test_name;

inline const json& vectors() {
  static const json loaded = vector_file::parse(STARLING_VECTORS_DIR "/seri.json");
  return loaded;
}

inline std::vector<case_ref> refs(const char* section) {
  return vector_file::refs_in(vectors(), section);
}

inline const json& entry(const case_ref& ref) {
  return vectors()[ref.section][ref.index];
}

inline std::span<const std::byte> as_bytes(const std::string& s) {
  return std::as_bytes(std::span(s.data(), s.size()));
}

inline value from_json(const json& j) {
  const std::string type = j.at("type").get<std::string>();
  if (type == "nil") return {};
  if (type == "boolean") return j.at("value").get<bool>();
  if (type == "integer")
    return static_cast<std::int64_t>(std::stoll(j.at("value").get<std::string>()));
  if (type == "float") {
    // `bits` is the authority (NaN payloads, -0.0).
    return std::bit_cast<double>(std::stoull(j.at("bits").get<std::string>(), nullptr, 16));
  }
  if (type == "lightuserdata") {
    return light_userdata{std::stoull(j.at("value").get<std::string>(), nullptr, 16)};
  }
  if (type == "string") {
    const auto length = j.at("length").get<std::size_t>();
    std::string s;
    if (j.contains("repeat")) {
      s.assign(length, j["repeat"].get<std::string>().at(0));
    } else if (j.contains("repeat_hex")) {
      s.assign(length, from_hex(j["repeat_hex"].get<std::string>()).at(0));
    } else if (j.contains("text")) {
      s = j["text"].get<std::string>();
    } else {
      s = from_hex(j.at("hex").get<std::string>());
    }
    EXPECT_EQ(s.size(), length) << j;
    return s;
  }
  if (type == "table") {
    table t;
    if (j.contains("array")) {
      for (const json& item : j["array"])
        t.array.push_back(from_json(item));
    }
    if (j.contains("array_fill")) {
      t.array.assign(j.at("array_count").get<std::size_t>(), from_json(j["array_fill"]));
    }
    if (j.contains("hash")) {
      for (const json& pair : j["hash"])
        t.hash.emplace_back(from_json(pair[0]), from_json(pair[1]));
    }
    return t;
  }
  ADD_FAILURE() << "unknown type in vectors: " << type;
  return {};
}

inline value_list values_of(const json& c) {
  value_list values;
  for (const json& v : c.at("values"))
    values.push_back(from_json(v));
  return values;
}

/// Every byte stream of the file: the encoded cases (those whose hex is stored) and the
/// decoder inputs, valid or not.
inline std::vector<std::string> all_streams() {
  std::vector<std::string> streams;
  for (const json& c : vectors()["cases"]) {
    if (c.contains("hex")) streams.push_back(from_hex(c["hex"].get<std::string>()));
  }
  for (const json& c : vectors()["unpack_cases"]) {
    streams.push_back(from_hex(c["hex"].get<std::string>()));
  }
  return streams;
}

}  // namespace starling::seri_vectors
