#pragma once
// sproto messages for C++ (docs/API.md, "sproto"): encode a value of a schema type to its wire
// bytes and decode them back, without Lua. The bytes are exactly those of the Lua module.
//
// Values: a struct is an `object` (field name -> value); an array field is an `array`; a map
// field (`*T(key)`, `*T()`) is an array of T objects too, in wire order (Lua's key -> element
// view is left to the caller). Integers are int64, doubles and decimals (`integer(n)`) double.

#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "seri/sproto_schema.hpp"

namespace starling::sproto {

/// What encode and decode raise; what() is the text the Lua module raises for the same fault.
class error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

class value;
using object = std::map<std::string, value, std::less<>>;
using array = std::vector<value>;

class value {
 public:
  using variant =
      std::variant<std::monostate, bool, std::int64_t, double, std::string, array, object>;

  value() = default;
  value(bool b) : v_(b) {}                      // NOLINT(*-explicit-*)
  value(std::int64_t i) : v_(i) {}              // NOLINT(*-explicit-*)
  value(int i) : v_(std::int64_t{i}) {}         // NOLINT(*-explicit-*)
  value(double d) : v_(d) {}                    // NOLINT(*-explicit-*)
  value(std::string s) : v_(std::move(s)) {}    // NOLINT(*-explicit-*)
  value(const char* s) : v_(std::string(s)) {}  // NOLINT(*-explicit-*)
  value(array a) : v_(std::move(a)) {}          // NOLINT(*-explicit-*)
  value(object o) : v_(std::move(o)) {}         // NOLINT(*-explicit-*)

  [[nodiscard]] const variant& get() const { return v_; }
  template <class T>
  [[nodiscard]] const T* as() const {
    return std::get_if<T>(&v_);
  }
  [[nodiscard]] bool is_nil() const { return std::holds_alternative<std::monostate>(v_); }

  friend bool operator==(const value&, const value&) = default;

 private:
  variant v_;
};

/// Structs nested this deep below the encoded one fail ("The table is too deep"), both ways.
constexpr int max_depth = 64;
/// Encoding past this size fails ("object is too large (>16777216)").
constexpr std::size_t max_encoded_size = 0x1000000;

/// The wire bytes of `v` as a `t`. Missing and nil fields are left out; unknown names ignored.
std::string encode(const type& t, const object& v);

struct decoded {
  object value;
  std::size_t size = 0;  // bytes the message took (trailing bytes are not read)
};

/// Decodes a `t` from the start of `bytes`.
decoded decode(const type& t, std::string_view bytes);

/// The wire integer of `value` in a decimal field of `scale` (10^n): rounded, and saturated at
/// int64's limits (what decoding gives for a wire value near them scales back to 2^63, and
/// must encode again); nullopt for NaN.
std::optional<std::int64_t> scaled_decimal(double value, std::int64_t scale) noexcept;

}  // namespace starling::sproto
