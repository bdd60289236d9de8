#include "seri/sproto_pack.hpp"

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstring>

namespace starling::sproto {

namespace {

constexpr std::size_t word = 8;
constexpr std::size_t max_run_words = 256;
constexpr unsigned char raw_marker = 0xff;
// A word with at least this many non-zero bytes joins a raw run already open: its zeros cost
// less than a mask byte would save.
constexpr int run_joins_at = 6;

struct nonzero {
  unsigned mask;  // bit i: byte i is not 0
  int count;
};

// The non-zero bytes of a word, with word-wide arithmetic instead of a test per byte.
nonzero nonzero_bytes(const char* w) {
  constexpr std::uint64_t low7 = 0x7f7f7f7f7f7f7f7fULL;
  std::uint64_t v = 0;  // little-endian whatever the machine (one load on x86)
  for (std::size_t i = 0; i < word; ++i)
    v |= std::uint64_t{static_cast<unsigned char>(w[i])} << (8 * i);
  // The top bit of each byte of `ones`: the byte is not zero; then one 0/1 per byte.
  const std::uint64_t ones = (((v & low7) + low7) | v) & ~low7;
  const std::uint64_t bits = ones >> 7;
  return {static_cast<unsigned>((bits * 0x0102040810204080ULL) >> 56),
          static_cast<int>((bits * 0x0101010101010101ULL) >> 56)};
}

}  // namespace

std::string pack(std::string_view bytes) {
  std::string out;
  pack(bytes, out);
  return out;
}

void pack(std::string_view bytes, std::string& out) {
  // Written through a pointer into room for the worst case (a word of 8 bytes becomes 10 when
  // it opens a raw run), then cut: byte-wise appends checked the capacity at every byte.
  const std::size_t words = (bytes.size() + word - 1) / word;
  out.resize(words * (word + 2));
  char* const begin = out.data();
  char* o = begin;
  char* run_count = nullptr;  // the count byte of the open raw run
  std::size_t run_words = 0;  // 0: no run open
  for (std::size_t at = 0; at < bytes.size(); at += word) {
    char w[word];
    if (bytes.size() - at >= word) {
      std::memcpy(w, bytes.data() + at, word);  // one load, not a copy of `n` bytes
    } else {
      std::fill_n(w, word, 0);
      std::memcpy(w, bytes.data() + at, bytes.size() - at);
    }
    const nonzero nz = nonzero_bytes(w);
    const unsigned mask = nz.mask;
    const int dense = nz.count;
    if (run_words > 0 && run_words < max_run_words && dense >= run_joins_at) {
      o = std::copy_n(w, word, o);
      *run_count = static_cast<char>(run_words);
      ++run_words;
      continue;
    }
    if (dense == static_cast<int>(word)) {
      *o++ = static_cast<char>(raw_marker);
      run_count = o;
      *o++ = 0;
      o = std::copy_n(w, word, o);
      run_words = 1;
      continue;
    }
    run_words = 0;
    *o++ = static_cast<char>(mask);
    // Every byte is stored and only the non-zero ones kept: no branch per byte (the room for
    // a raw run's header covers the zeros written past the end).
    for (char c : w) {
      *o = c;
      o += c != 0 ? 1 : 0;
    }
  }
  out.resize(static_cast<std::size_t>(o - begin));
}

bool unpack(std::string_view bytes, std::string& out) {
  out.clear();
  out.reserve(bytes.size() * 2);
  std::size_t at = 0;
  while (at < bytes.size()) {
    const auto mask = static_cast<unsigned char>(bytes[at++]);
    if (mask == raw_marker) {
      if (at >= bytes.size()) return false;
      const std::size_t length = (static_cast<unsigned char>(bytes[at++]) + std::size_t{1}) * word;
      if (bytes.size() - at < length) return false;
      out.append(bytes.substr(at, length));
      at += length;
      continue;
    }
    for (unsigned i = 0; i < word; ++i) {
      if ((mask & (1U << i)) == 0) {
        out.push_back(0);
        continue;
      }
      if (at >= bytes.size()) return false;
      out.push_back(bytes[at++]);
    }
  }
  return true;
}

}  // namespace starling::sproto
