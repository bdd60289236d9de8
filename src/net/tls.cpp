#include "net/tls.hpp"

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/ssl.h>

#include <array>
#include <limits>
#include <stdexcept>

namespace starling::net {

namespace {

[[noreturn]] void fail(const std::string& text) {
  ERR_clear_error();
  throw std::runtime_error(text);
}

int clamp(std::size_t n) {
  return n > static_cast<std::size_t>(std::numeric_limits<int>::max())
             ? std::numeric_limits<int>::max()
             : static_cast<int>(n);
}

}  // namespace

void tls_context::free_ctx::operator()(SSL_CTX* ctx) const noexcept {
  SSL_CTX_free(ctx);
}

tls_context::tls_context() : ctx_(SSL_CTX_new(TLS_method())) {
  if (!ctx_) fail("SSL_CTX_new failed");
}

void tls_context::set_cert(const std::string& certfile, const std::string& keyfile) {
  ERR_clear_error();
  int ret = SSL_CTX_use_certificate_chain_file(ctx_.get(), certfile.c_str());
  if (ret != 1) fail("SSL_CTX_use_certificate_chain_file error:" + std::to_string(ret));
  ret = SSL_CTX_use_PrivateKey_file(ctx_.get(), keyfile.c_str(), SSL_FILETYPE_PEM);
  if (ret != 1) fail("SSL_CTX_use_PrivateKey_file error:" + std::to_string(ret));
  ret = SSL_CTX_check_private_key(ctx_.get());
  if (ret != 1) fail("SSL_CTX_check_private_key error:" + std::to_string(ret));
}

void tls_context::set_ciphers(const std::string& ciphers) {
  ERR_clear_error();
  const int ret = SSL_CTX_set_cipher_list(ctx_.get(), ciphers.c_str());
  if (ret != 1) fail("SSL_CTX_set_cipher_list error:" + std::to_string(ret));
}

void tls_connection::free_ssl::operator()(SSL* ssl) const noexcept {
  SSL_free(ssl);
}

tls_connection::tls_connection(const tls_context& ctx, role r, std::string_view host_name)
    : ssl_(SSL_new(ctx.native())) {
  if (!ssl_) fail("SSL_new failed");
  in_ = BIO_new(BIO_s_mem());
  out_ = BIO_new(BIO_s_mem());
  if (in_ == nullptr || out_ == nullptr) {
    BIO_free(in_);
    BIO_free(out_);
    fail("BIO_new failed");
  }
  // an empty buffer means "more data later", not end of stream
  BIO_set_mem_eof_return(in_, -1);
  BIO_set_mem_eof_return(out_, -1);
  SSL_set_bio(ssl_.get(), in_, out_);
  if (r == role::client) {
    SSL_set_connect_state(ssl_.get());
    if (!host_name.empty()) set_host_name(std::string(host_name));
  } else {
    SSL_set_accept_state(ssl_.get());
  }
}

void tls_connection::feed(std::string_view received) {
  while (!received.empty()) {
    const int n = BIO_write(in_, received.data(), clamp(received.size()));
    if (n <= 0) fail("BIO_write error:" + std::to_string(n));
    received.remove_prefix(static_cast<std::size_t>(n));
  }
}

std::string tls_connection::drain() {
  std::string out;
  std::array<char, 16384> buffer{};
  while (BIO_ctrl_pending(out_) > 0) {
    const int n = BIO_read(out_, buffer.data(), static_cast<int>(buffer.size()));
    if (n <= 0) break;
    out.append(buffer.data(), static_cast<std::size_t>(n));
  }
  return out;
}

std::string tls_connection::handshake(std::string_view received) {
  feed(received);
  ERR_clear_error();
  const int ret = SSL_do_handshake(ssl_.get());
  if (ret != 1) {
    const int e = SSL_get_error(ssl_.get(), ret);
    if (e != SSL_ERROR_WANT_READ && e != SSL_ERROR_WANT_WRITE) {
      fail("SSL_do_handshake error:" + std::to_string(e) + " ret:" + std::to_string(ret));
    }
  }
  return drain();
}

bool tls_connection::finished() const noexcept {
  return SSL_is_init_finished(ssl_.get()) != 0;
}

std::string tls_connection::read(std::string_view received) {
  feed(received);
  std::string plain;
  std::array<char, 16384> buffer{};
  ERR_clear_error();
  while (true) {
    const int n = SSL_read(ssl_.get(), buffer.data(), static_cast<int>(buffer.size()));
    if (n > 0) {
      plain.append(buffer.data(), static_cast<std::size_t>(n));
      continue;
    }
    const int e = SSL_get_error(ssl_.get(), n);
    if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_ZERO_RETURN) break;
    fail("SSL_read error:" + std::to_string(e));
  }
  return plain;
}

std::string tls_connection::write(std::string_view plain) {
  ERR_clear_error();
  while (!plain.empty()) {
    const int n = SSL_write(ssl_.get(), plain.data(), clamp(plain.size()));
    if (n <= 0) fail("SSL_write error:" + std::to_string(SSL_get_error(ssl_.get(), n)));
    plain.remove_prefix(static_cast<std::size_t>(n));
  }
  return drain();
}

int tls_connection::set_host_name(const std::string& name) {
  return static_cast<int>(SSL_set_tlsext_host_name(ssl_.get(), name.c_str()));
}

}  // namespace starling::net
