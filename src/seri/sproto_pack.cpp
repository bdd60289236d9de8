#include "seri/sproto_pack.hpp"

#include <algorithm>
#include <cstddef>

namespace starling::sproto {

namespace {

constexpr std::size_t word = 8;
constexpr std::size_t max_run_words = 256;
constexpr unsigned char raw_marker = 0xff;
// A word with at least this many non-zero bytes joins a raw run already open: its zeros cost
// less than a mask byte would save.
constexpr int run_joins_at = 6;

}  // namespace

std::string pack(std::string_view bytes) {
  // Written through a pointer into room for the worst case (a word of 8 bytes becomes 10 when
  // it opens a raw run), then cut: byte-wise appends checked the capacity at every byte.
  const std::size_t words = (bytes.size() + word - 1) / word;
  std::string out(words * (word + 2), '\0');
  char* const begin = out.data();
  char* o = begin;
  char* run_count = nullptr;  // the count byte of the open raw run
  std::size_t run_words = 0;  // 0: no run open
  for (std::size_t at = 0; at < bytes.size(); at += word) {
    char w[word] = {};
    const std::size_t n = std::min(word, bytes.size() - at);
    std::copy_n(bytes.data() + at, n, w);
    int dense = 0;
    for (char c : w)
      dense += c != 0 ? 1 : 0;
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
    char* const mask_at = o++;
    unsigned mask = 0;
    for (std::size_t i = 0; i < word; ++i) {
      if (w[i] != 0) {
        mask |= 1U << i;
        *o++ = w[i];
      }
    }
    *mask_at = static_cast<char>(mask);
  }
  out.resize(static_cast<std::size_t>(o - begin));
  return out;
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
