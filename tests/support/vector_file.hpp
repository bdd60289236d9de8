#pragma once
// What every reader of a tests/vectors JSON file needs: parsing the file, its
// cases as GoogleTest parameters, hex strings decoded (hex.hpp).

#include <gtest/gtest.h>

#include <cstddef>
#include <fstream>
#include <nlohmann/json.hpp>
#include <ostream>
#include <string>
#include <vector>

#include "hex.hpp"

namespace starling::vector_file {

using hex_text::from_hex;
using nlohmann::json;

/// The parsed file, or a null json when it cannot be read or parsed.
inline json parse(const char* path) {
  std::ifstream in(path);
  if (!in) return json();
  return json::parse(in, nullptr, /*allow_exceptions=*/false);
}

/// One case: its section of the file, its index there and its name.
struct case_ref {
  std::string section;
  std::size_t index;
  std::string name;
};

inline void PrintTo(const case_ref& ref, std::ostream* out) {
  *out << ref.section << '/' << ref.name;
}

/// The cases of `section` in `all` (none when the file or the section is missing).
// The cases of a section that `runs_here` accepts: a case another layer covers (a Lua-only
// input, say) is left out rather than instantiated and skipped.
template <typename Predicate>
std::vector<case_ref> refs_where(const json& all, const char* section, Predicate runs_here) {
  std::vector<case_ref> result;
  if (!all.is_object() || !all.contains(section)) return result;
  for (std::size_t i = 0; i < all[section].size(); ++i) {
    if (!runs_here(all[section][i])) continue;
    result.push_back({section, i, all[section][i]["name"].get<std::string>()});
  }
  return result;
}

inline std::vector<case_ref> refs_in(const json& all, const char* section) {
  return refs_where(all, section, [](const json&) { return true; });
}

inline std::string test_name(const ::testing::TestParamInfo<case_ref>& info) {
  return info.param.name;
}

}  // namespace starling::vector_file
