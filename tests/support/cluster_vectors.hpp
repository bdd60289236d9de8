#pragma once
// Reading tests/vectors/cluster.json (its layout: tests/vectors/README.md): the cases as
// GoogleTest parameters, payloads and frames as bytes, and the typed values skynet's unpack
// functions returned, compared with what ours return. Shared by the C++ codec test and the
// test of the Lua module.

#include <gtest/gtest.h>

#include <cstdint>
#include <cstdio>
#include <lua.hpp>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <vector>

#include "seri/writer.hpp"
#include "vector_file.hpp"

namespace starling::cluster_vectors {

using nlohmann::json;

using vector_file::case_ref;
using vector_file::from_hex;
using vector_file::test_name;

inline const json& vectors() {
  static const json loaded = vector_file::parse(STARLING_VECTORS_DIR "/cluster.json");
  return loaded;
}

inline std::vector<case_ref> refs(const char* section) {
  return vector_file::refs_in(vectors(), section);
}

inline const json& entry(const case_ref& ref) {
  return vectors()[ref.section][ref.index];
}

/// The indices of wire_session's operations (none when the file is missing), as parameters.
inline std::vector<std::size_t> operation_indices() {
  std::vector<std::size_t> indices;
  if (!vectors().is_object()) return indices;
  for (std::size_t i = 0; i < vectors()["wire_session"]["operations"].size(); ++i)
    indices.push_back(i);
  return indices;
}

inline std::string operation_name(const ::testing::TestParamInfo<std::size_t>& info) {
  return vectors()["wire_session"]["operations"][info.param]["name"].get<std::string>();
}

/// A frame of the file without its 2-byte length, which must match the body's size.
inline std::string body_of(const std::string& frame) {
  if (frame.size() < 2) {
    ADD_FAILURE() << "a frame shorter than its length";
    return {};
  }
  const std::size_t length = (static_cast<std::size_t>(static_cast<std::uint8_t>(frame[0])) << 8) |
                             static_cast<std::uint8_t>(frame[1]);
  EXPECT_EQ(length, frame.size() - 2) << "the frame's length";
  return frame.substr(2);
}

/// Evaluates a Lua expression of the file (a tag, an error text) to a string.
inline std::string eval_string(const std::string& expr) {
  const std::unique_ptr<lua_State, decltype(&lua_close)> state(luaL_newstate(), &lua_close);
  lua_State* L = state.get();
  luaL_openlibs(L);
  if (luaL_dostring(L, ("return " + expr).c_str()) != LUA_OK || !lua_isstring(L, -1)) {
    ADD_FAILURE() << "evaluating " << expr << ": " << lua_tostring(L, -1);
    return {};
  }
  std::size_t size = 0;
  const char* s = lua_tolstring(L, -1, &size);
  return {s, size};
}

/// The bytes of payload `name`: its hex, or, for the one too long to be stored, skynet.pack of
/// its Lua string rebuilt with our writer (checked against the stored length and ends).
inline std::string payload_bytes(const std::string& name) {
  for (const json& p : vectors()["payloads"]) {
    if (p["name"] != name) continue;
    if (!p.value("hex_omitted", false)) return from_hex(p["hex"].get<std::string>());
    seri::writer w;
    w.write_string(eval_string(p["lua"].get<std::string>()));
    const payload packed = w.finish();
    std::string bytes(packed.view());
    EXPECT_EQ(bytes.size(), p["byte_length"].get<std::size_t>());
    const std::string prefix = from_hex(p["hex_prefix"].get<std::string>());
    const std::string suffix = from_hex(p["hex_suffix"].get<std::string>());
    EXPECT_EQ(bytes.substr(0, prefix.size()), prefix);
    EXPECT_EQ(bytes.substr(bytes.size() - std::min(bytes.size(), suffix.size())), suffix);
    return bytes;
  }
  ADD_FAILURE() << "no payload " << name;
  return {};
}

/// The frames of a case as bytes.
inline std::vector<std::string> frames_of(const json& list) {
  std::vector<std::string> frames;
  for (const json& f : list)
    frames.push_back(from_hex(f.get<std::string>()));
  return frames;
}

/// One value an unpack function returned, in the file's terms. A C buffer is `buffer` with its
/// bytes; its size follows as an ordinary integer, as the functions return them.
struct value {
  enum class kind { nil, boolean, integer, string, buffer };
  kind type = kind::nil;
  bool flag = false;
  std::int64_t integer = 0;
  std::string bytes;

  static value nil() { return {}; }
  static value boolean(bool b) { return {kind::boolean, b, 0, {}}; }
  static value number(std::int64_t n) { return {kind::integer, false, n, {}}; }
  static value string(std::string s) { return {kind::string, false, 0, std::move(s)}; }
  static value buffer(std::string s) { return {kind::buffer, false, 0, std::move(s)}; }
};

/// The bytes a typed string or buffer of the file stands for; `body` is the frame body the
/// value came from (for `body_offset`).
inline std::string expected_bytes(const json& want, std::string_view body) {
  const auto length =
      want.contains("length") ? want["length"].get<std::size_t>() : want["size"].get<std::size_t>();
  std::string bytes;
  if (want.contains("body_offset")) {
    bytes = std::string(body.substr(std::min(body.size(), want["body_offset"].get<std::size_t>())));
    if (want.contains("hex")) {
      EXPECT_EQ(bytes, from_hex(want["hex"].get<std::string>()));
    }
  } else if (want.contains("text")) {
    bytes = want["text"].get<std::string>();
  } else if (want.contains("hex")) {
    bytes = from_hex(want["hex"].get<std::string>());
  } else if (want.contains("repeat")) {
    bytes = std::string(length, want["repeat"].get<std::string>().at(0));
  } else if (want.contains("repeat_hex")) {
    bytes = std::string(length, from_hex(want["repeat_hex"].get<std::string>()).at(0));
  }
  EXPECT_EQ(bytes.size(), length) << want.dump();
  return bytes;
}

/// Empty when `got` is the value `want` describes, else what differs.
inline std::string mismatch(const json& want, const value& got, std::string_view body) {
  const std::string type = want["type"].get<std::string>();
  const auto differs = [&](const std::string& what) { return want.dump() + ": " + what; };
  if (type == "nil") return got.type == value::kind::nil ? "" : differs("not nil");
  if (type == "boolean") {
    if (got.type != value::kind::boolean) return differs("not a boolean");
    return got.flag == want["value"].get<bool>() ? "" : differs("other boolean");
  }
  if (type == "integer") {
    if (got.type != value::kind::integer) return differs("not an integer");
    const std::string text = std::to_string(got.integer);
    return text == want["value"].get<std::string>() ? "" : differs("got " + text);
  }
  if (type == "string" || type == "buffer") {
    if (got.type != (type == "string" ? value::kind::string : value::kind::buffer)) {
      return differs("not a " + type);
    }
    const std::string bytes = expected_bytes(want, body);
    return got.bytes == bytes ? "" : differs(std::to_string(got.bytes.size()) + " other bytes");
  }
  return differs("a type this test does not know");
}

/// Checks a whole list of returned values.
inline void expect_values(const json& want, const std::vector<value>& got, std::string_view body) {
  ASSERT_EQ(got.size(), want.size()) << "values returned, for " << want.dump().substr(0, 300);
  for (std::size_t i = 0; i < got.size(); ++i) {
    EXPECT_EQ(mismatch(want[i], got[i], body), "") << "value " << i + 1;
  }
}

}  // namespace starling::cluster_vectors
