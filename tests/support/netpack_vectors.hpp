#pragma once
// Reading tests/vectors/netpack.json (its layout: tests/vectors/README.md): the scenarios as
// GoogleTest parameters and their byte strings decoded. Shared by the C++ framing test and the
// test of the Lua module.

#include <gtest/gtest.h>

#include <cstddef>
#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "vector_file.hpp"

namespace starling::netpack_vectors {

using nlohmann::json;

using vector_file::case_ref;
using vector_file::from_hex;
using vector_file::test_name;

inline const json& vectors() {
  static const json loaded = vector_file::parse(STARLING_VECTORS_DIR "/netpack.json");
  return loaded;
}

inline std::vector<case_ref> refs(const char* section) {
  return vector_file::refs_in(vectors(), section);
}

inline const json& entry(const case_ref& ref) {
  return vectors()[ref.section][ref.index];
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
