#pragma once
// Wire constants of the skynet.pack format (docs/SERI.md, "The wire format").
// Internal to src/seri.

#include <bit>
#include <cstdint>

namespace starling::seri::format {

// skynet copies numbers in host byte order; the vectors (and every target we build for)
// are little-endian.
static_assert(std::endian::native == std::endian::little, "the pack format is little-endian");

// Low three bits of a tag byte.
inline constexpr std::uint8_t type_nil = 0;
inline constexpr std::uint8_t type_boolean = 1;
inline constexpr std::uint8_t type_number = 2;
inline constexpr std::uint8_t type_userdata = 3;
inline constexpr std::uint8_t type_short_string = 4;
inline constexpr std::uint8_t type_long_string = 5;
inline constexpr std::uint8_t type_table = 6;

// Cookies (high five bits) of number tags.
inline constexpr std::uint8_t number_zero = 0;
inline constexpr std::uint8_t number_byte = 1;
inline constexpr std::uint8_t number_word = 2;
inline constexpr std::uint8_t number_dword = 4;
inline constexpr std::uint8_t number_qword = 6;
inline constexpr std::uint8_t number_real = 8;

/// Short strings carry their length (0..31) in the cookie.
inline constexpr std::size_t max_short_string = 31;
/// Table tags carry array counts 0..30 in the cookie; 31 means "count follows".
inline constexpr std::uint8_t table_count_follows = 31;

constexpr std::uint8_t tag(std::uint8_t type, std::uint8_t cookie) {
  return static_cast<std::uint8_t>(type | (cookie << 3));
}

/// Line numbers of the checks in skynet's lualib-src/lua-seri.c (docs/SERI.md, "Decoding
/// errors"): decode errors quote them ("Invalid serialize stream <n> (line:<L>)") and Lua code
/// may match on it.
namespace line {
inline constexpr int byte_body = 378;
inline constexpr int word_body = 386;
inline constexpr int dword_body = 394;
inline constexpr int qword_body = 402;
inline constexpr int bad_integer_cookie = 407;
inline constexpr int real_body = 417;
inline constexpr int userdata_body = 427;
inline constexpr int string_body = 437;
inline constexpr int count_tag_missing = 450;
inline constexpr int count_tag_not_integer = 455;
inline constexpr int word_length = 503;
inline constexpr int bad_long_string_cookie = 510;
inline constexpr int dword_length = 514;
inline constexpr int bad_type = 527;
inline constexpr int table_truncated = 538;
}  // namespace line

}  // namespace starling::seri::format
