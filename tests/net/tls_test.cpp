#include "net/tls.hpp"

#include <gtest/gtest.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <memory>
#include <stdexcept>
#include <string>

namespace starling::net {
namespace {

// A throwaway self-signed P-256 certificate and key in a directory of the test's own.
class tls_files : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("starling-tls-test-" + std::to_string(::getpid()));
    std::filesystem::create_directories(dir_);
    const std::unique_ptr<EVP_PKEY, decltype(&EVP_PKEY_free)> key(EVP_EC_gen("P-256"),
                                                                  EVP_PKEY_free);
    ASSERT_TRUE(key);
    const std::unique_ptr<X509, decltype(&X509_free)> cert(X509_new(), X509_free);
    ASSERT_TRUE(cert);
    ASN1_INTEGER_set(X509_get_serialNumber(cert.get()), 1);
    X509_gmtime_adj(X509_getm_notBefore(cert.get()), 0);
    X509_gmtime_adj(X509_getm_notAfter(cert.get()), 3600);
    X509_set_pubkey(cert.get(), key.get());
    X509_NAME* name = X509_get_subject_name(cert.get());
    X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
                               reinterpret_cast<const unsigned char*>("127.0.0.1"), -1, -1, 0);
    X509_set_issuer_name(cert.get(), name);
    ASSERT_GT(X509_sign(cert.get(), key.get(), EVP_sha256()), 0);
    cert_ = (dir_ / "cert.pem").string();
    key_ = (dir_ / "key.pem").string();
    const std::unique_ptr<FILE, decltype(&std::fclose)> c(std::fopen(cert_.c_str(), "w"),
                                                          std::fclose);
    ASSERT_TRUE(c && PEM_write_X509(c.get(), cert.get()) == 1);
    const std::unique_ptr<FILE, decltype(&std::fclose)> k(std::fopen(key_.c_str(), "w"),
                                                          std::fclose);
    ASSERT_TRUE(
        k && PEM_write_PrivateKey(k.get(), key.get(), nullptr, nullptr, 0, nullptr, nullptr) == 1);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  std::filesystem::path dir_;
  std::string cert_;
  std::string key_;
};

TEST_F(tls_files, handshake_and_data_in_memory) {
  tls_context server_ctx;
  server_ctx.set_cert(cert_, key_);
  const tls_context client_ctx;
  tls_connection server(server_ctx, tls_connection::role::server);
  tls_connection client(client_ctx, tls_connection::role::client, "localhost");
  std::string to_server = client.handshake({});
  std::string to_client;
  for (int i = 0; i < 10 && !(client.finished() && server.finished()); ++i) {
    if (!server.finished()) to_client += server.handshake(std::exchange(to_server, {}));
    if (!client.finished()) to_server += client.handshake(std::exchange(to_client, {}));
  }
  ASSERT_TRUE(client.finished());
  ASSERT_TRUE(server.finished());
  EXPECT_EQ(client.read(to_client), "");
  EXPECT_EQ(server.read(to_server), "");
  const std::string big(100000, 'x');
  EXPECT_EQ(server.read(client.write(big)), big);
  EXPECT_EQ(client.read(server.write("pong")), "pong");
}

TEST_F(tls_files, errors_carry_the_ltls_texts) {
  tls_context ctx;
  try {
    ctx.set_cert((dir_ / "missing.pem").string(), key_);
    FAIL() << "no error";
  } catch (const std::runtime_error& e) {
    EXPECT_STREQ(e.what(), "SSL_CTX_use_certificate_chain_file error:0");
  }
  ctx.set_cert(cert_, key_);
  tls_connection server(ctx, tls_connection::role::server);
  EXPECT_THROW((void)server.handshake("GET / HTTP/1.1\r\n\r\n"), std::runtime_error);
}

}  // namespace
}  // namespace starling::net
