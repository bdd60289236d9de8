#pragma once
// TLS over memory buffers (OpenSSL): the caller moves bytes between the socket and these
// objects, so TLS works on any socket layer (docs/WEB.md). No certificate verification is
// configured on either side, as in skynet: clients accept any server certificate.

#include <memory>
#include <string>
#include <string_view>

using SSL_CTX = struct ssl_ctx_st;
using SSL = struct ssl_st;
using BIO = struct bio_st;

namespace starling::net {

/// Settings shared by many connections (an SSL_CTX for any TLS version, client or server).
/// Failures throw std::runtime_error with the text skynet's ltls gives.
class tls_context {
 public:
  tls_context();
  /// A PEM certificate chain and its private key, checked against each other.
  void set_cert(const std::string& certfile, const std::string& keyfile);
  /// OpenSSL's cipher list syntax (TLS 1.2 and below).
  void set_ciphers(const std::string& ciphers);
  [[nodiscard]] SSL_CTX* native() const noexcept { return ctx_.get(); }

 private:
  struct free_ctx {
    void operator()(SSL_CTX* ctx) const noexcept;
  };
  std::unique_ptr<SSL_CTX, free_ctx> ctx_;
};

/// One TLS session. Ciphertext in: handshake(bytes) and read(bytes); ciphertext out: what
/// they and write(plaintext) return. Keeps its context alive (OpenSSL counts references).
class tls_connection {
 public:
  enum class role { client, server };
  /// `host_name`, when not empty, is sent as SNI by a client.
  tls_connection(const tls_context& ctx, role r, std::string_view host_name = {});

  /// Feeds received bytes, advances the handshake, returns the bytes to send (maybe none).
  std::string handshake(std::string_view received);
  [[nodiscard]] bool finished() const noexcept;
  /// Feeds received bytes, returns all plaintext they complete (maybe none).
  std::string read(std::string_view received);
  /// Encrypts `plain`; returns it with any other pending output.
  std::string write(std::string_view plain);
  /// Sets SNI; returns OpenSSL's result (1 on success).
  int set_host_name(const std::string& name);

 private:
  void feed(std::string_view received);
  std::string drain();
  struct free_ssl {
    void operator()(SSL* ssl) const noexcept;
  };
  std::unique_ptr<SSL, free_ssl> ssl_;
  BIO* in_ = nullptr;   // owned by ssl_
  BIO* out_ = nullptr;  // owned by ssl_
};

}  // namespace starling::net
