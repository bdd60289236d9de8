// md5.core's crypt / decrypt: a stream cipher whose keystream is the MD5 of a block holding the
// previous ciphertext chunk (first the seed) and the key (spec: the data libraries, 2.2).
#include <algorithm>
#include <ctime>
#include <string>

#include "crypt/crypt.hpp"

namespace starling::crypt {

namespace {

constexpr std::size_t max_seed = 16;
constexpr std::size_t max_key = 256;

void check_key(std::string_view key) {
  if (key.size() > max_key) throw error("key too long (> 256)");
}

// The first block: the seed zero-padded to 16 bytes, then the key.
std::string first_block(std::string_view seed, std::string_view key) {
  std::string block(max_seed, '\0');
  seed.copy(block.data(), seed.size());
  block.append(key);
  return block;
}

// Runs the keystream over `in` into `out`; the block takes the ciphertext chunk each time.
void run(std::string& block, std::string_view in, std::string& out, bool encrypt) {
  for (std::size_t at = 0; at < in.size(); at += max_seed) {
    const std::size_t n = std::min(max_seed, in.size() - at);
    const digest16 code = md5(block);
    const std::size_t start = out.size();
    for (std::size_t i = 0; i < n; ++i)
      out.push_back(static_cast<char>(code[i] ^ in[at + i]));
    const std::string_view cipher =
        encrypt ? std::string_view(out).substr(start, n) : in.substr(at, n);
    cipher.copy(block.data(), n);
  }
}

}  // namespace

std::string md5_default_seed() {
  const std::time_t now = std::time(nullptr);
  return {reinterpret_cast<const char*>(&now), sizeof now};
}

std::string md5_crypt(std::string_view msg, std::string_view key, std::string_view seed) {
  if (seed.size() > max_seed) throw error("seed too long (> 16)");
  check_key(key);
  std::string block = first_block(seed, key);
  std::string out;
  out.reserve(1 + seed.size() + msg.size());
  out.push_back(static_cast<char>(seed.size()));
  out.append(seed);
  run(block, msg, out, true);
  return out;
}

bool md5_cipher_valid(std::string_view cipher) noexcept {
  if (cipher.empty()) return false;
  // The seed size byte is a signed char in skynet: 0x80 and above are refused too, as they
  // are above 16.
  const auto seed_size = static_cast<std::size_t>(static_cast<unsigned char>(cipher[0]));
  return seed_size <= max_seed && cipher.size() >= 1 + seed_size;
}

std::string md5_decrypt(std::string_view cipher, std::string_view key) {
  check_key(key);
  if (!md5_cipher_valid(cipher)) throw error("invalid cyphered string");
  const std::string_view seed = cipher.substr(1, static_cast<std::size_t>(cipher[0]));
  const std::string_view body = cipher.substr(1 + seed.size());
  std::string block = first_block(seed, key);
  std::string out;
  out.reserve(body.size());
  run(block, body, out, false);
  return out;
}

}  // namespace starling::crypt
