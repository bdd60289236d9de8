// The standard algorithms of skynet.crypt and md5.core, computed by OpenSSL's libcrypto: they
// give skynet's bytes exactly (spec: the data libraries, sections 1.4, 1.10, 1.11, 2.2).
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/provider.h>
#include <openssl/rand.h>

#include <algorithm>
#include <memory>
#include <string>

#include "crypt/crypt.hpp"

namespace starling::crypt {

namespace {

template <std::size_t N>
std::array<char, N> digest(const EVP_MD* md, std::string_view bytes) {
  std::array<char, N> out{};
  unsigned size = 0;
  if (EVP_Digest(bytes.data(), bytes.size(), reinterpret_cast<unsigned char*>(out.data()), &size,
                 md, nullptr) != 1 ||
      size != N) {
    throw error("digest failed");
  }
  return out;
}

// DES lives in OpenSSL 3's legacy provider. It is loaded into a library context of its own, so
// the process's default context (and what other code fetches from it) stays as it was.
class des_provider {
 public:
  des_provider()
      : context_(OSSL_LIB_CTX_new()),
        legacy_(OSSL_PROVIDER_load(context_.get(), "legacy")),
        cipher_(EVP_CIPHER_fetch(context_.get(), "DES-ECB", nullptr)) {}
  [[nodiscard]] const EVP_CIPHER* cipher() const noexcept { return cipher_.get(); }

 private:
  struct free_context {
    void operator()(OSSL_LIB_CTX* c) const noexcept { OSSL_LIB_CTX_free(c); }
  };
  struct unload_provider {
    void operator()(OSSL_PROVIDER* p) const noexcept { OSSL_PROVIDER_unload(p); }
  };
  struct free_cipher {
    void operator()(EVP_CIPHER* c) const noexcept { EVP_CIPHER_free(c); }
  };
  std::unique_ptr<OSSL_LIB_CTX, free_context> context_;
  std::unique_ptr<OSSL_PROVIDER, unload_provider> legacy_;
  std::unique_ptr<EVP_CIPHER, free_cipher> cipher_;
};

struct free_cipher_context {
  void operator()(EVP_CIPHER_CTX* c) const noexcept { EVP_CIPHER_CTX_free(c); }
};

// DES-ECB without OpenSSL's padding over whole blocks (padding is done by the callers).
std::string des_ecb(std::string_view key, std::string_view blocks, bool encrypt) {
  static const des_provider provider;
  if (provider.cipher() == nullptr) throw error("DES is not available (OpenSSL legacy provider)");
  const std::unique_ptr<EVP_CIPHER_CTX, free_cipher_context> context(EVP_CIPHER_CTX_new());
  std::string out(blocks.size() + 8, '\0');
  int written = 0;
  int last = 0;
  auto* to = reinterpret_cast<unsigned char*>(out.data());
  if (context == nullptr ||
      EVP_CipherInit_ex2(context.get(), provider.cipher(),
                         reinterpret_cast<const unsigned char*>(key.data()), nullptr,
                         encrypt ? 1 : 0, nullptr) != 1 ||
      EVP_CIPHER_CTX_set_padding(context.get(), 0) != 1 ||
      EVP_CipherUpdate(context.get(), to, &written,
                       reinterpret_cast<const unsigned char*>(blocks.data()),
                       static_cast<int>(blocks.size())) != 1 ||
      EVP_CipherFinal_ex(context.get(), to + written, &last) != 1) {
    throw error("DES failed");
  }
  out.resize(static_cast<std::size_t>(written) + static_cast<std::size_t>(last));
  return out;
}

void check_des_key(std::string_view key) {
  if (key.size() != 8) {
    throw error("Invalid key size " + std::to_string(key.size()) + ", need 8 bytes");
  }
}

void check_mode(std::int64_t mode) {
  if (mode != 0 && mode != 1) throw error("Invalid padding mode " + std::to_string(mode));
}

}  // namespace

block8 randomkey() {
  block8 key{};
  if (RAND_bytes(reinterpret_cast<unsigned char*>(key.data()), 8) != 1) {
    throw error("no random bytes");
  }
  char x = 0;
  for (const char c : key)
    x = static_cast<char>(x ^ c);
  if (x == 0) key[0] = static_cast<char>(key[0] | 1);
  return key;
}

std::string base64encode(std::string_view bytes) {
  std::string out((bytes.size() + 2) / 3 * 4 + 1, '\0');
  const int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                                reinterpret_cast<const unsigned char*>(bytes.data()),
                                static_cast<int>(bytes.size()));
  out.resize(static_cast<std::size_t>(n));
  return out;
}

digest20 sha1(std::string_view bytes) {
  return digest<20>(EVP_sha1(), bytes);
}

digest16 md5(std::string_view bytes) {
  return digest<16>(EVP_md5(), bytes);
}

digest20 hmac_sha1(std::string_view key, std::string_view text) {
  digest20 out{};
  unsigned size = 0;
  if (HMAC(EVP_sha1(), key.data(), static_cast<int>(key.size()),
           reinterpret_cast<const unsigned char*>(text.data()), text.size(),
           reinterpret_cast<unsigned char*>(out.data()), &size) == nullptr ||
      size != out.size()) {
    throw error("hmac failed");
  }
  return out;
}

std::string desencode(std::string_view key, std::string_view text, std::int64_t mode) {
  check_des_key(key);
  check_mode(mode);
  // Padding is always added: a whole block when the text fills its last one.
  const std::size_t n = 8 - text.size() % 8;
  std::string padded(text.size() + n, static_cast<char>(n));
  text.copy(padded.data(), text.size());
  if (mode == static_cast<std::int64_t>(padding::iso7816_4)) {
    padded[text.size()] = '\x80';
    std::fill(padded.begin() + static_cast<std::ptrdiff_t>(text.size()) + 1, padded.end(), '\0');
  }
  return des_ecb(key, padded, true);
}

std::string desdecode(std::string_view key, std::string_view data, std::int64_t mode) {
  check_des_key(key);
  if (data.empty() || data.size() % 8 != 0) {
    throw error("Invalid des crypt text length " + std::to_string(data.size()));
  }
  check_mode(mode);
  std::string plain = des_ecb(key, data, false);
  std::size_t cut = 0;  // bytes of padding
  if (mode == static_cast<std::int64_t>(padding::iso7816_4)) {
    // Zero bytes back from the end, then the 0x80 marker, all within the last block.
    while (cut < 8 && plain[plain.size() - 1 - cut] == '\0')
      ++cut;
    if (cut == 8 || plain[plain.size() - 1 - cut] != '\x80') throw error("Invalid des crypt text");
    ++cut;
  } else {
    cut = static_cast<std::uint8_t>(plain.back());
    if (cut < 1 || cut > 8) throw error("Invalid des crypt text");
    for (std::size_t i = 1; i <= cut; ++i) {
      if (static_cast<std::size_t>(static_cast<std::uint8_t>(plain[plain.size() - i])) != cut) {
        throw error("Invalid des crypt text");
      }
    }
  }
  plain.erase(plain.size() - cut);
  return plain;
}

}  // namespace starling::crypt
