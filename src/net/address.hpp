#pragma once
// Socket addresses: name resolution, "ip:port" texts and the UDP address blob.
// Pure functions, safe from any thread (getaddrinfo blocks the caller while it resolves).

#include <sys/socket.h>

#include <array>
#include <cstddef>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.hpp"
#include "net/failure.hpp"

namespace starling::net {

/// An IPv4 or IPv6 socket address, held by value.
struct socket_address {
  sockaddr_storage storage{};
  socklen_t length = 0;

  [[nodiscard]] int family() const noexcept { return storage.ss_family; }
  [[nodiscard]] const sockaddr* get() const noexcept {
    return reinterpret_cast<const sockaddr*>(&storage);
  }
  [[nodiscard]] sockaddr* get() noexcept { return reinterpret_cast<sockaddr*>(&storage); }
};

/// The numeric ip ("127.0.0.1", "::1"); "" for a family other than IPv4/IPv6.
[[nodiscard]] std::string ip_text(const socket_address& address);
/// The port in host order; 0 for other families.
[[nodiscard]] int port_of(const socket_address& address);
/// "ip:port"; an IPv6 ip is written without brackets, as skynet does.
[[nodiscard]] std::string endpoint_text(const socket_address& address);

/// The addresses of host:port for `socktype` (SOCK_STREAM, SOCK_DGRAM), any family, in the
/// resolver's order, never empty. `passive` makes an empty host the wildcard address. Fails
/// with errc::socket_failed and the resolver's text.
[[nodiscard]] result<std::vector<socket_address>, failure> resolve_endpoint(std::string_view host,
                                                                            int port, int socktype,
                                                                            bool passive);

/// Every address getaddrinfo gives for `host` with no hints, as ip texts (one per result, so
/// duplicates stay). Fails as resolve_endpoint.
[[nodiscard]] result<std::vector<std::string>, failure> resolve_host(std::string_view host);

// ---- the UDP address blob: family tag (1 IPv4, 2 IPv6), port (network order), address -----

inline constexpr std::size_t udp_blob_v4_size = 1 + 2 + 4;
inline constexpr std::size_t udp_blob_v6_size = 1 + 2 + 16;

struct udp_blob {
  std::array<std::byte, udp_blob_v6_size> bytes{};
  std::size_t size = 0;  ///< 0: the address was neither IPv4 nor IPv6

  [[nodiscard]] std::span<const std::byte> view() const noexcept { return {bytes.data(), size}; }
};

[[nodiscard]] udp_blob encode_udp_address(const socket_address& address) noexcept;
/// The address of a 7 byte (IPv4) or 19 byte (IPv6) blob; nullopt for anything else.
[[nodiscard]] std::optional<socket_address> decode_udp_address(
    std::span<const std::byte> blob) noexcept;
/// The size of the blob whose first byte is `tag` (0 for an unknown tag).
[[nodiscard]] std::size_t udp_blob_size(std::byte tag) noexcept;

}  // namespace starling::net
