#include "core/handle.hpp"

#include <fmt/format.h>

namespace starling {

std::string format_handle(handle_t h) {
  return fmt::format(":{:08x}", h);
}
std::string format_handle_short(handle_t h) {
  return fmt::format(":{:x}", h);
}
std::string format_handle_upper(handle_t h) {
  return fmt::format(":{:08X}", h);
}

std::optional<handle_t> parse_handle(std::string_view text) noexcept {
  if (text.size() < 2 || text.size() > 9 || text[0] != ':') return std::nullopt;
  handle_t value = 0;
  for (char c : text.substr(1)) {
    int digit = 0;
    if (c >= '0' && c <= '9') {
      digit = c - '0';
    } else if (c >= 'a' && c <= 'f') {
      digit = c - 'a' + 10;
    } else if (c >= 'A' && c <= 'F') {
      digit = c - 'A' + 10;
    } else {
      return std::nullopt;
    }
    value = (value << 4) | static_cast<handle_t>(digit);
  }
  return value;
}

}  // namespace starling
