#pragma once
// Service addresses: 32-bit handles, harbor id in the high 8 bits, local id in the low 24.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace starling {

using handle_t = std::uint32_t;

inline constexpr int harbor_shift = 24;
inline constexpr handle_t local_id_mask = 0x00ffffff;

[[nodiscard]] constexpr std::uint32_t harbor_of(handle_t h) noexcept {
  return h >> harbor_shift;
}
[[nodiscard]] constexpr handle_t local_id_of(handle_t h) noexcept {
  return h & local_id_mask;
}

/// `:0000000a`: the canonical text form (skynet.address, logger prefix).
[[nodiscard]] std::string format_handle(handle_t h);
/// `:a`: the unpadded form used by REG/QUERY/MONITOR and the KILL log line.
[[nodiscard]] std::string format_handle_short(handle_t h);
/// `:0000000A`: the form LAUNCH returns.
[[nodiscard]] std::string format_handle_upper(handle_t h);
/// Parses `:` followed by 1..8 hex digits of either case; nullopt otherwise.
[[nodiscard]] std::optional<handle_t> parse_handle(std::string_view text) noexcept;

}  // namespace starling
