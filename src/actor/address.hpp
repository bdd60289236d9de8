#pragma once
// Where a native service sends: a handle, or text (`.local`, `:hex`, a global name).

#include <string_view>
#include <variant>

#include "core/handle.hpp"

namespace starling {

class address {
 public:
  address(handle_t h) : target_(h) {}                             // NOLINT: implicit by design
  address(std::string_view text) : target_(text) {}               // NOLINT: implicit by design
  address(const char* text) : target_(std::string_view(text)) {}  // NOLINT

  [[nodiscard]] bool is_handle() const noexcept { return target_.index() == 0; }
  [[nodiscard]] handle_t handle() const { return std::get<0>(target_); }
  [[nodiscard]] std::string_view text() const { return std::get<1>(target_); }

 private:
  std::variant<handle_t, std::string_view> target_;
};

}  // namespace starling
