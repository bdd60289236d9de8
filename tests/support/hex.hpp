#pragma once
// Bytes as lowercase hex text and back, for the tests that compare wire bytes with recorded
// vectors.

#include <cstddef>
#include <span>
#include <string>
#include <string_view>

namespace starling::hex_text {

inline std::string to_hex(std::span<const std::byte> bytes) {
  static constexpr std::string_view digits = "0123456789abcdef";
  std::string hex;
  hex.reserve(bytes.size() * 2);
  for (const std::byte b : bytes) {
    hex.push_back(digits[std::to_integer<unsigned>(b) >> 4U]);
    hex.push_back(digits[std::to_integer<unsigned>(b) & 15U]);
  }
  return hex;
}

inline std::string to_hex(std::string_view bytes) {
  return to_hex(std::as_bytes(std::span(bytes.data(), bytes.size())));
}

/// Pairs of hex digits as bytes; a last lone digit is ignored.
inline std::string from_hex(const std::string& hex) {
  std::string bytes;
  bytes.reserve(hex.size() / 2);
  for (std::size_t i = 0; i + 1 < hex.size(); i += 2) {
    bytes.push_back(static_cast<char>(std::stoi(hex.substr(i, 2), nullptr, 16)));
  }
  return bytes;
}

}  // namespace starling::hex_text
