#pragma once
// skynet.crypt and md5.core for C++ (docs/LIBRARIES.md): the digests come from OpenSSL's
// libcrypto, skynet's own algorithms (hashkey, hmac64, the 64-bit Diffie-Hellman, its lenient
// base64 decoder, ...) are written here. Fixed-size keys and numbers are 8-byte strings, 64-bit
// numbers little-endian, as skynet's Lua API has them.
//
// Bad input raises crypt::error whose what() is skynet's own text.

#include <array>
#include <cstdint>
#include <stdexcept>
#include <string>
#include <string_view>

namespace starling::crypt {

class error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

using block8 = std::array<char, 8>;
using digest16 = std::array<char, 16>;
using digest20 = std::array<char, 20>;

/// The padding of des_encode / des_decode (skynet's crypt.padding).
enum class padding : int { iso7816_4 = 0, pkcs7 = 1 };

// ---- skynet's own algorithms ----

/// Two 32-bit string hashes side by side (not cryptographic).
block8 hashkey(std::string_view text) noexcept;
/// Eight random bytes whose XOR is made non-zero where one bit can do it, as skynet's.
block8 randomkey();
/// `x` and `y` 8 bytes each ("Invalid uint64 x/y"): one bare MD5 compression, folded.
block8 hmac64(std::string_view x, std::string_view y);
/// MD5 of (x .. y) three times, folded to 8 bytes.
block8 hmac64_md5(std::string_view x, std::string_view y);
/// hmac64(hashkey(text), key); `key` 8 bytes ("Invalid uint64 key").
block8 hmac_hash(std::string_view key, std::string_view text);
/// 5^x mod 2^64-59; `x` 8 bytes, non-zero.
block8 dhexchange(std::string_view x);
/// y^x mod 2^64-59; both 8 bytes, non-zero.
block8 dhsecret(std::string_view y, std::string_view x);
std::string hexencode(std::string_view bytes);
/// skynet's decoder: lower-case digits, and the few characters its arithmetic lets through.
std::string hexdecode(std::string_view text);
/// Each byte of `text` XOR the key repeated; an empty key raises.
std::string xor_str(std::string_view text, std::string_view key);
/// skynet's lenient decoder: junk skipped, missing '=' implied, a trailing partial group refused.
std::string base64decode(std::string_view text);

// ---- standard algorithms, from libcrypto ----

std::string base64encode(std::string_view bytes);
digest20 sha1(std::string_view bytes);
digest20 hmac_sha1(std::string_view key, std::string_view text);
digest16 md5(std::string_view bytes);
/// DES-ECB over the text padded by `mode` (always 1..8 bytes of padding); `key` 8 bytes.
/// `mode` is the caller's integer: values other than 0 and 1 raise.
std::string desencode(std::string_view key, std::string_view text, std::int64_t mode = 0);
std::string desdecode(std::string_view key, std::string_view data, std::int64_t mode = 0);

// ---- md5.core's stream cipher ----

/// `#seed` byte, the seed, then `msg` enciphered by an MD5 keystream over seed and key.
/// Seed at most 16 bytes, key at most 256.
std::string md5_crypt(std::string_view msg, std::string_view key, std::string_view seed);
/// The seed skynet uses when none is given: the bytes of the current time_t.
std::string md5_default_seed();
/// Whether `cipher` can be md5_crypt's output: a seed size byte of 0..16 and that many bytes.
bool md5_cipher_valid(std::string_view cipher) noexcept;
/// The inverse of md5_crypt. Throws crypt::error for a cipher that is not md5_cipher_valid, and
/// "key too long (> 256)".
std::string md5_decrypt(std::string_view cipher, std::string_view key);

}  // namespace starling::crypt
