#include "net/address.hpp"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>

#include <cstring>
#include <vector>

namespace starling::net {
namespace {

socket_address v4(const char* ip, int port) {
  socket_address a;
  auto& in = *reinterpret_cast<sockaddr_in*>(&a.storage);
  in.sin_family = AF_INET;
  in.sin_port = htons(static_cast<std::uint16_t>(port));
  inet_pton(AF_INET, ip, &in.sin_addr);
  a.length = sizeof in;
  return a;
}

socket_address v6(const char* ip, int port) {
  socket_address a;
  auto& in = *reinterpret_cast<sockaddr_in6*>(&a.storage);
  in.sin6_family = AF_INET6;
  in.sin6_port = htons(static_cast<std::uint16_t>(port));
  inet_pton(AF_INET6, ip, &in.sin6_addr);
  a.length = sizeof in;
  return a;
}

std::vector<std::byte> bytes(std::initializer_list<int> values) {
  std::vector<std::byte> out;
  for (int v : values)
    out.push_back(static_cast<std::byte>(v));
  return out;
}

TEST(address, texts) {
  EXPECT_EQ(ip_text(v4("127.0.0.1", 8000)), "127.0.0.1");
  EXPECT_EQ(port_of(v4("127.0.0.1", 8000)), 8000);
  EXPECT_EQ(endpoint_text(v4("10.1.2.3", 65535)), "10.1.2.3:65535");
  EXPECT_EQ(endpoint_text(v6("::1", 80)), "::1:80") << "no brackets, as skynet writes it";
  EXPECT_EQ(ip_text(socket_address{}), "");
}

TEST(address, udp_blob_of_ipv4_is_tag_port_address) {
  const udp_blob blob = encode_udp_address(v4("127.0.0.1", 0x1234));
  ASSERT_EQ(blob.size, 7U);
  const auto expected = bytes({1, 0x12, 0x34, 127, 0, 0, 1});
  EXPECT_TRUE(std::equal(expected.begin(), expected.end(), blob.view().begin()));
  const auto back = decode_udp_address(blob.view());
  ASSERT_TRUE(back);
  EXPECT_EQ(endpoint_text(*back), "127.0.0.1:4660");
}

TEST(address, udp_blob_of_ipv6_round_trips) {
  const udp_blob blob = encode_udp_address(v6("fe80::1:2", 53));
  ASSERT_EQ(blob.size, 19U);
  EXPECT_EQ(blob.bytes[0], std::byte{2});
  EXPECT_EQ(blob.bytes[2], std::byte{53});
  const auto back = decode_udp_address(blob.view());
  ASSERT_TRUE(back);
  EXPECT_EQ(back->family(), AF_INET6);
  EXPECT_EQ(endpoint_text(*back), "fe80::1:2:53");
}

TEST(address, malformed_blobs_decode_to_nothing) {
  EXPECT_FALSE(decode_udp_address({}));
  EXPECT_FALSE(decode_udp_address(bytes({1, 0, 1, 127, 0, 0})));        // 6 bytes
  EXPECT_FALSE(decode_udp_address(bytes({1, 0, 1, 127, 0, 0, 1, 9})));  // 8 bytes
  EXPECT_FALSE(decode_udp_address(bytes({2, 0, 1, 127, 0, 0, 1})));     // IPv6 tag, 7 bytes
  EXPECT_FALSE(decode_udp_address(bytes({3, 0, 1, 127, 0, 0, 1})));     // unknown tag
  EXPECT_EQ(encode_udp_address(socket_address{}).size, 0U);
}

TEST(address, resolve_endpoint_loopback_and_failure) {
  const auto found = resolve_endpoint("127.0.0.1", 1234, SOCK_STREAM, false);
  ASSERT_TRUE(found);
  ASSERT_EQ(found->size(), 1U);
  EXPECT_EQ(endpoint_text(found->front()), "127.0.0.1:1234");
  const auto six = resolve_endpoint("::1", 53, SOCK_DGRAM, false);
  ASSERT_TRUE(six);
  ASSERT_EQ(six->size(), 1U);
  EXPECT_EQ(six->front().family(), AF_INET6);
  const auto none = resolve_endpoint("no such host.invalid", 1, SOCK_STREAM, false);
  ASSERT_FALSE(none);
  EXPECT_EQ(none.error().code, errc::socket_failed);
  EXPECT_FALSE(none.error().detail.empty()) << "the resolver's text";
}

TEST(address, resolve_host_keeps_one_entry_per_result) {
  const auto ips = resolve_host("127.0.0.1");
  ASSERT_TRUE(ips) << ips.error().detail;
  for (const auto& ip : *ips)
    EXPECT_EQ(ip, "127.0.0.1");
  EXPECT_GT(ips->size(), 1U) << "no hints: one result per socket type";
  EXPECT_FALSE(resolve_host("no such host.invalid"));
}

}  // namespace
}  // namespace starling::net
