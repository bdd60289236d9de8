// skynet's own algorithms of skynet.crypt (spec: the data libraries, section 1). None of them is
// a standard one, so no library computes them.
#include "crypt/crypt.hpp"

#include <bit>
#include <cstring>
#include <string>

namespace starling::crypt {

namespace {

std::uint32_t load32(const char* p) noexcept {
  std::uint32_t v = 0;
  for (int i = 3; i >= 0; --i)
    v = (v << 8) | static_cast<std::uint8_t>(p[i]);
  return v;
}

void store32(char* p, std::uint32_t v) noexcept {
  for (int i = 0; i < 4; ++i)
    p[i] = static_cast<char>((v >> (8 * i)) & 0xff);
}

std::uint64_t load64(std::string_view s) noexcept {
  return static_cast<std::uint64_t>(load32(s.data())) |
         static_cast<std::uint64_t>(load32(s.data() + 4)) << 32;
}

block8 store64(std::uint64_t v) noexcept {
  block8 out{};
  store32(out.data(), static_cast<std::uint32_t>(v));
  store32(out.data() + 4, static_cast<std::uint32_t>(v >> 32));
  return out;
}

std::string_view checked8(std::string_view s, const char* message) {
  if (s.size() != 8) throw error(message);
  return s;
}

constexpr std::uint32_t md5_k[64] = {
    0xd76aa478, 0xe8c7b756, 0x242070db, 0xc1bdceee, 0xf57c0faf, 0x4787c62a, 0xa8304613, 0xfd469501,
    0x698098d8, 0x8b44f7af, 0xffff5bb1, 0x895cd7be, 0x6b901122, 0xfd987193, 0xa679438e, 0x49b40821,
    0xf61e2562, 0xc040b340, 0x265e5a51, 0xe9b6c7aa, 0xd62f105d, 0x02441453, 0xd8a1e681, 0xe7d3fbc8,
    0x21e1cde6, 0xc33707d6, 0xf4d50d87, 0x455a14ed, 0xa9e3e905, 0xfcefa3f8, 0x676f02d9, 0x8d2a4c8a,
    0xfffa3942, 0x8771f681, 0x6d9d6122, 0xfde5380c, 0xa4beea44, 0x4bdecfa9, 0xf6bb4b60, 0xbebfbc70,
    0x289b7ec6, 0xeaa127fa, 0xd4ef3085, 0x04881d05, 0xd9d4d039, 0xe6db99e5, 0x1fa27cf8, 0xc4ac5665,
    0xf4292244, 0x432aff97, 0xab9423a7, 0xfc93a039, 0x655b59c3, 0x8f0ccc92, 0xffeff47d, 0x85845dd1,
    0x6fa87e4f, 0xfe2ce6e0, 0xa3014314, 0x4e0811a1, 0xf7537e82, 0xbd3af235, 0x2ad7d2bb, 0xeb86d391};
constexpr int md5_shift[4][4] = {{7, 12, 17, 22}, {5, 9, 14, 20}, {4, 11, 16, 23}, {6, 10, 15, 21}};

// The 64 rounds of MD5 over one block from the standard initial state, without adding that
// state at the end (libcrypto's MD5_Transform adds it, and is deprecated besides).
std::array<std::uint32_t, 4> md5_rounds(const std::uint32_t (&m)[16]) noexcept {
  std::uint32_t a = 0x67452301, b = 0xefcdab89, c = 0x98badcfe, d = 0x10325476;
  for (unsigned i = 0; i < 64; ++i) {
    std::uint32_t f = 0;
    unsigned g = 0;
    switch (i / 16) {
      case 0:
        f = (b & c) | (~b & d);
        g = i;
        break;
      case 1:
        f = (d & b) | (~d & c);
        g = (5 * i + 1) % 16;
        break;
      case 2:
        f = b ^ c ^ d;
        g = (3 * i + 5) % 16;
        break;
      default:
        f = c ^ (b | ~d);
        g = (7 * i) % 16;
        break;
    }
    const std::uint32_t rotated = std::rotl(a + f + md5_k[i] + m[g], md5_shift[i / 16][i % 4]);
    a = d;
    d = c;
    c = b;
    b += rotated;
  }
  return {a, b, c, d};
}

block8 fold64(std::string_view x, std::string_view y) noexcept {
  std::uint32_t m[16];
  for (int i = 0; i < 16; i += 4) {
    m[i] = load32(x.data() + 4);
    m[i + 1] = load32(x.data());
    m[i + 2] = load32(y.data() + 4);
    m[i + 3] = load32(y.data());
  }
  const auto r = md5_rounds(m);
  block8 out{};
  store32(out.data(), r[2] ^ r[3]);
  store32(out.data() + 4, r[0] ^ r[1]);
  return out;
}

constexpr std::uint64_t dh_prime = 0xffffffffffffffc5ULL;  // 2^64 - 59
constexpr std::uint64_t dh_generator = 5;

std::uint64_t powmod(std::uint64_t base, std::uint64_t exponent) noexcept {
  using wide = unsigned __int128;
  std::uint64_t result = 1;
  base %= dh_prime;
  while (exponent > 0) {
    if ((exponent & 1) != 0) result = static_cast<std::uint64_t>(wide{result} * base % dh_prime);
    base = static_cast<std::uint64_t>(wide{base} * base % dh_prime);
    exponent >>= 1;
  }
  return result;
}

std::uint64_t nonzero64(std::string_view s) {
  const std::uint64_t v = load64(s);
  if (v == 0) throw error("Can't be 0");
  return v;
}

int base64_value(unsigned char c) noexcept {
  if (c >= 'A' && c <= 'Z') return c - 'A';
  if (c >= 'a' && c <= 'z') return c - 'a' + 26;
  if (c >= '0' && c <= '9') return c - '0' + 52;
  if (c == '+') return 62;
  if (c == '/') return 63;
  return -1;
}

}  // namespace

block8 hashkey(std::string_view text) noexcept {
  std::uint32_t h1 = 5381;
  std::uint32_t h2 = 1315423911;
  for (const char ch : text) {
    const auto c = static_cast<std::uint8_t>(ch);
    h1 = h1 * 33 + c;
    h2 ^= (h2 << 5) + c + (h2 >> 2);
  }
  block8 out{};
  store32(out.data(), h1);
  store32(out.data() + 4, h2);
  return out;
}

block8 hmac64(std::string_view x, std::string_view y) {
  return fold64(checked8(x, "Invalid uint64 x"), checked8(y, "Invalid uint64 y"));
}

block8 hmac64_md5(std::string_view x, std::string_view y) {
  checked8(x, "Invalid uint64 x");
  checked8(y, "Invalid uint64 y");
  std::string message;
  message.reserve(48);
  for (int i = 0; i < 3; ++i)
    message.append(x).append(y);
  const digest16 d = md5(message);
  block8 out{};
  for (std::size_t i = 0; i < 8; ++i)
    out[i] = static_cast<char>(d[i] ^ d[i + 8]);
  return out;
}

block8 hmac_hash(std::string_view key, std::string_view text) {
  checked8(key, "Invalid uint64 key");
  const block8 h = hashkey(text);
  return fold64(std::string_view(h.data(), h.size()), key);
}

block8 dhexchange(std::string_view x) {
  return store64(powmod(dh_generator, nonzero64(checked8(x, "Invalid dh uint64 key"))));
}

block8 dhsecret(std::string_view y, std::string_view x) {
  checked8(y, "Invalid uint64 x");
  checked8(x, "Invalid uint64 y");
  const std::uint64_t base = nonzero64(y);
  return store64(powmod(base, nonzero64(x)));
}

std::string hexencode(std::string_view bytes) {
  static constexpr char digits[] = "0123456789abcdef";
  std::string out(bytes.size() * 2, '\0');
  for (std::size_t i = 0; i < bytes.size(); ++i) {
    const auto c = static_cast<std::uint8_t>(bytes[i]);
    out[2 * i] = digits[c >> 4];
    out[2 * i + 1] = digits[c & 0xf];
  }
  return out;
}

std::string hexdecode(std::string_view text) {
  if (text.size() % 2 != 0) throw error("Invalid hex text size " + std::to_string(text.size()));
  // skynet maps every non-digit as c - 'a' + 10 in a byte: that lets 'g' (16), 'W'..'Z' and
  // "[\]^_`" through, and refuses 'A'..'F'.
  const auto value = [](char ch) {
    const auto c = static_cast<std::uint8_t>(ch);
    const auto v = c >= '0' && c <= '9' ? static_cast<std::uint8_t>(c - '0')
                                        : static_cast<std::uint8_t>(c - 'a' + 10);
    if (v > 16) throw error("Invalid hex text");
    return static_cast<unsigned>(v);
  };
  std::string out(text.size() / 2, '\0');
  for (std::size_t i = 0; i < out.size(); ++i) {
    const unsigned hi = value(text[2 * i]);
    const unsigned lo = value(text[2 * i + 1]);
    out[i] = static_cast<char>(((hi << 4) | lo) & 0xff);  // an OR: '1g' is 0x10
  }
  return out;
}

std::string xor_str(std::string_view text, std::string_view key) {
  if (key.empty()) throw error("Can't xor empty string");
  std::string out(text);
  for (std::size_t i = 0; i < out.size(); ++i)
    out[i] = static_cast<char>(out[i] ^ key[i % key.size()]);
  return out;
}

std::string base64decode(std::string_view text) {
  constexpr int pad = -1;
  std::string out;
  out.reserve((text.size() + 3) / 4 * 3);
  std::size_t at = 0;
  while (at < text.size()) {
    // One group of four symbols: junk is skipped, '=' and the missing end count as padding.
    int symbol[4];
    int padding = 0;
    for (int got = 0; got < 4;) {
      if (at >= text.size() || text[at] == '=') {
        if (at < text.size()) ++at;
        symbol[got++] = pad;
        ++padding;
        continue;
      }
      const int v = base64_value(static_cast<unsigned char>(text[at++]));
      if (v >= 0) symbol[got++] = v;
    }
    const auto byte = [](int v) { return static_cast<char>(v & 0xff); };
    switch (padding) {
      case 0:
        out.push_back(byte(symbol[0] << 2 | symbol[1] >> 4));
        out.push_back(byte(symbol[1] << 4 | symbol[2] >> 2));
        out.push_back(byte(symbol[2] << 6 | symbol[3]));
        break;
      case 1:
        if (symbol[3] != pad || (symbol[2] & 3) != 0) throw error("Invalid base64 text");
        out.push_back(byte(symbol[0] << 2 | symbol[1] >> 4));
        out.push_back(byte(symbol[1] << 4 | symbol[2] >> 2));
        break;
      case 2:
        if (symbol[2] != pad || symbol[3] != pad || (symbol[1] & 15) != 0) {
          throw error("Invalid base64 text");
        }
        out.push_back(byte(symbol[0] << 2 | symbol[1] >> 4));
        break;
      default:
        throw error("Invalid base64 text");
    }
  }
  return out;
}

}  // namespace starling::crypt
