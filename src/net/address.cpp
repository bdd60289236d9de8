#include "net/address.hpp"

#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>

#include <cstring>
#include <memory>

namespace starling::net {

namespace {

constexpr std::byte tag_v4{1};
constexpr std::byte tag_v6{2};

const sockaddr_in& as_v4(const socket_address& a) {
  return *reinterpret_cast<const sockaddr_in*>(&a.storage);
}
const sockaddr_in6& as_v6(const socket_address& a) {
  return *reinterpret_cast<const sockaddr_in6*>(&a.storage);
}

struct addrinfo_deleter {
  void operator()(addrinfo* list) const noexcept { freeaddrinfo(list); }
};

failure resolver_failure(int status) {
  const char* text = gai_strerror(status);
  return failure{errc::socket_failed, text != nullptr && *text != '\0'
                                          ? std::string(text)
                                          : std::string("cannot resolve the address")};
}

}  // namespace

std::string ip_text(const socket_address& address) {
  char text[INET6_ADDRSTRLEN] = {};
  const void* raw = nullptr;
  if (address.family() == AF_INET) raw = &as_v4(address).sin_addr;
  if (address.family() == AF_INET6) raw = &as_v6(address).sin6_addr;
  if (raw == nullptr || inet_ntop(address.family(), raw, text, sizeof text) == nullptr) return {};
  return text;
}

int port_of(const socket_address& address) {
  if (address.family() == AF_INET) return ntohs(as_v4(address).sin_port);
  if (address.family() == AF_INET6) return ntohs(as_v6(address).sin6_port);
  return 0;
}

std::string endpoint_text(const socket_address& address) {
  return ip_text(address) + ":" + std::to_string(port_of(address));
}

result<std::vector<socket_address>, failure> resolve_endpoint(std::string_view host, int port,
                                                              int socktype, bool passive) {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = socktype;
  hints.ai_protocol = socktype == SOCK_DGRAM ? IPPROTO_UDP : IPPROTO_TCP;
  if (passive) hints.ai_flags = AI_PASSIVE;
  const std::string name(host);
  const std::string service = std::to_string(port);
  addrinfo* raw = nullptr;
  const int status =
      getaddrinfo(name.empty() ? nullptr : name.c_str(), service.c_str(), &hints, &raw);
  const std::unique_ptr<addrinfo, addrinfo_deleter> list(raw);
  if (status != 0) return resolver_failure(status);
  std::vector<socket_address> found;
  for (const addrinfo* ai = list.get(); ai != nullptr; ai = ai->ai_next) {
    if (ai->ai_addrlen > sizeof(sockaddr_storage)) continue;
    socket_address& a = found.emplace_back();
    std::memcpy(&a.storage, ai->ai_addr, ai->ai_addrlen);
    a.length = ai->ai_addrlen;
  }
  if (found.empty()) return failure{errc::socket_failed, "no address of a known family"};
  return found;
}

result<std::vector<std::string>, failure> resolve_host(std::string_view host) {
  const std::string name(host);
  addrinfo* raw = nullptr;
  const int status = getaddrinfo(name.c_str(), nullptr, nullptr, &raw);
  const std::unique_ptr<addrinfo, addrinfo_deleter> list(raw);
  if (status != 0) return resolver_failure(status);
  std::vector<std::string> ips;
  for (const addrinfo* ai = list.get(); ai != nullptr; ai = ai->ai_next) {
    if (ai->ai_addrlen > sizeof(sockaddr_storage)) continue;
    socket_address a;
    std::memcpy(&a.storage, ai->ai_addr, ai->ai_addrlen);
    a.length = ai->ai_addrlen;
    ips.push_back(ip_text(a));
  }
  return ips;
}

udp_blob encode_udp_address(const socket_address& address) noexcept {
  udp_blob blob;
  std::uint16_t port = 0;  // network order, copied as is
  const void* ip = nullptr;
  std::size_t ip_size = 0;
  if (address.family() == AF_INET) {
    blob.bytes[0] = tag_v4;
    port = as_v4(address).sin_port;
    ip = &as_v4(address).sin_addr;
    ip_size = 4;
  } else if (address.family() == AF_INET6) {
    blob.bytes[0] = tag_v6;
    port = as_v6(address).sin6_port;
    ip = &as_v6(address).sin6_addr;
    ip_size = 16;
  } else {
    return blob;
  }
  std::memcpy(&blob.bytes[1], &port, 2);
  std::memcpy(&blob.bytes[3], ip, ip_size);
  blob.size = 3 + ip_size;
  return blob;
}

std::optional<socket_address> decode_udp_address(std::span<const std::byte> blob) noexcept {
  if (blob.empty() || udp_blob_size(blob[0]) != blob.size()) return std::nullopt;
  socket_address a;
  if (blob[0] == tag_v4) {
    auto& v4 = *reinterpret_cast<sockaddr_in*>(&a.storage);
    v4.sin_family = AF_INET;
    std::memcpy(&v4.sin_port, &blob[1], 2);
    std::memcpy(&v4.sin_addr, &blob[3], 4);
    a.length = sizeof v4;
  } else {
    auto& v6 = *reinterpret_cast<sockaddr_in6*>(&a.storage);
    v6.sin6_family = AF_INET6;
    std::memcpy(&v6.sin6_port, &blob[1], 2);
    std::memcpy(&v6.sin6_addr, &blob[3], 16);
    a.length = sizeof v6;
  }
  return a;
}

std::size_t udp_blob_size(std::byte tag) noexcept {
  if (tag == tag_v4) return udp_blob_v4_size;
  if (tag == tag_v6) return udp_blob_v6_size;
  return 0;
}

}  // namespace starling::net
