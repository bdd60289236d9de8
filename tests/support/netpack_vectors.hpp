#pragma once
// Reading ../shared/vectors/netpack.json in tests (vectors/README.md §3): the scenarios as
// GoogleTest parameters and their byte strings decoded. Shared by the C++ framing test and the
// test of the Lua module.

#include <gtest/gtest.h>

#include <cstddef>
#include <cstdint>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace starling::netpack_vectors {

using nlohmann::json;

inline const json& vectors() {
  static const json loaded = [] {
    std::ifstream in(STARLING_SHARED_DIR "/vectors/netpack.json");
    if (!in) return json();
    return json::parse(in, nullptr, /*allow_exceptions=*/false);
  }();
  return loaded;
}

struct case_ref {
  std::string section;
  std::size_t index;
  std::string name;
};

inline void PrintTo(const case_ref& ref, std::ostream* out) {
  *out << ref.section << '/' << ref.name;
}

inline std::vector<case_ref> refs(const char* section) {
  std::vector<case_ref> result;
  const json& all = vectors();
  if (!all.is_object() || !all.contains(section)) return result;
  for (std::size_t i = 0; i < all[section].size(); ++i) {
    result.push_back({section, i, all[section][i]["name"].get<std::string>()});
  }
  return result;
}

inline std::string test_name(const ::testing::TestParamInfo<case_ref>& info) {
  return info.param.name;
}

inline const json& entry(const case_ref& ref) {
  return vectors()[ref.section][ref.index];
}

inline std::string from_hex(const std::string& hex) {
  std::string bytes;
  bytes.reserve(hex.size() / 2);
  for (std::size_t i = 0; i + 1 < hex.size(); i += 2) {
    bytes.push_back(static_cast<char>(std::stoi(hex.substr(i, 2), nullptr, 16)));
  }
  return bytes;
}

/// The payload of a packet entry: `hex`, or `repeat_hex` repeated `size` times.
inline std::string packet_bytes(const json& packet) {
  if (packet.contains("repeat_hex")) {
    const std::string unit = from_hex(packet["repeat_hex"].get<std::string>());
    std::string bytes;
    const auto size = packet["size"].get<std::size_t>();
    while (bytes.size() < size)
      bytes += unit;
    bytes.resize(size);
    return bytes;
  }
  return from_hex(packet["hex"].get<std::string>());
}

/// One packet as the application sees it.
struct delivered {
  std::int32_t fd = 0;
  std::string bytes;
  bool operator==(const delivered&) const = default;
};

inline std::ostream& operator<<(std::ostream& out, const delivered& d) {
  out << "{fd " << d.fd << ", " << d.bytes.size() << " bytes";
  if (d.bytes.size() <= 16) {
    out << ":";
    for (const char c : d.bytes) {
      out << ' ' << std::hex << (static_cast<unsigned>(c) & 0xffU) << std::dec;
    }
  }
  return out << '}';
}

inline delivered packet_of(const json& packet) {
  return {packet["fd"].get<std::int32_t>(), packet_bytes(packet)};
}

inline std::vector<delivered> packets_of(const json& list) {
  std::vector<delivered> result;
  for (const json& p : list)
    result.push_back(packet_of(p));
  return result;
}

}  // namespace starling::netpack_vectors
