#pragma once
// Reading tests/vectors/libraries.json (its layout: tests/vectors/README.md, section 6): the
// file and the typed Lua values of its cases as bytes.

#include <nlohmann/json.hpp>
#include <string>

#include "vector_file.hpp"

namespace starling::library_vectors {

using nlohmann::json;

inline const json& vectors() {
  static const json loaded = vector_file::parse(STARLING_VECTORS_DIR "/libraries.json");
  return loaded;
}

/// The bytes of a typed string value ("text", "hex", "repeat" or "repeat_hex").
inline std::string bytes_of(const json& typed) {
  if (typed.contains("text")) return typed["text"].get<std::string>();
  if (typed.contains("hex")) return vector_file::from_hex(typed["hex"].get<std::string>());
  const std::size_t length = typed["length"].get<std::size_t>();
  const std::string unit = typed.contains("repeat") ? typed["repeat"].get<std::string>()
                                                    : vector_file::from_hex(typed["repeat_hex"]);
  std::string out;
  while (out.size() < length)
    out += unit;
  return out;
}

/// An error text of the file without the position skynet's Lua gave it ("(call):1: ").
inline std::string without_position(const std::string& text) {
  const std::string prefix = "(call):1: ";
  return text.compare(0, prefix.size(), prefix) == 0 ? text.substr(prefix.size()) : text;
}

}  // namespace starling::library_vectors
