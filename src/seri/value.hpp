#pragma once
// starling::seri::value: one value of the skynet.pack format, as a C++ object.
//
// A value is nil, a boolean, an integer, a real, a byte string, a light userdata or a table.
// Tables keep an array part (keys 1..n) and a hash part (every other key, in insertion order).
// The decoder always produces the canonical shape: the array part holds keys 1..n for the
// largest n such that all of them are present, the hash part holds the rest, every key once.

#include <concepts>
#include <cstddef>
#include <cstdint>
#include <iosfwd>
#include <memory>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <variant>
#include <vector>

namespace starling::seri {

struct light_userdata {
  std::uint64_t address = 0;
  friend bool operator==(light_userdata, light_userdata) = default;
};

struct table;
class value;
struct table_access;

// Owns one table. Deep copy rather than shared_ptr: a message handed to another thread must
// never alias the sender's data, and moves (the common case) stay a pointer swap.
class table_box {
 public:
  table_box();
  explicit table_box(table&& contents);
  table_box(const table_box& other);
  table_box(table_box&& other) noexcept = default;
  table_box& operator=(const table_box& other);
  table_box& operator=(table_box&& other) noexcept;
  ~table_box();

  [[nodiscard]] table& get() noexcept { return *ptr_; }
  [[nodiscard]] const table& get() const noexcept { return *ptr_; }

 private:
  friend struct table_access;
  std::unique_ptr<table> ptr_;
};

class value {
 public:
  /// The alternatives, in the order of the variant below.
  enum class kind : std::uint8_t { nil, boolean, integer, real, string, light_userdata, table };

  value() noexcept = default;
  // Implicit on purpose: `table{{1, "a"}, {{"k", 2.5}}}` and `pack(..., value(...))` read
  // like the Lua they mirror.
  value(std::nullptr_t) noexcept {}
  value(std::monostate) noexcept {}
  value(bool b) noexcept : v_(b) {}
  template <std::integral T>
  requires(!std::same_as<T, bool>) value(T i)
  noexcept : v_(static_cast<std::int64_t>(i)) {}
  template <std::floating_point T>
  value(T d) noexcept : v_(static_cast<double>(d)) {}
  value(const char* s) : v_(std::string(s)) {}
  value(std::string s) noexcept : v_(std::move(s)) {}
  value(std::string_view s) : v_(std::string(s)) {}
  value(light_userdata p) noexcept : v_(p) {}
  value(table t);

  value(const value&) = default;
  value& operator=(const value&) = default;
  // A moved-from value is nil, so it can never expose an empty table box.
  value(value&& other) noexcept : v_(std::move(other.v_)) { other.v_.emplace<0>(); }
  value& operator=(value&& other) noexcept {
    v_ = std::move(other.v_);
    other.v_.emplace<0>();
    return *this;
  }
  ~value() = default;

  [[nodiscard]] kind type() const noexcept { return static_cast<kind>(v_.index()); }
  [[nodiscard]] bool is_nil() const noexcept { return type() == kind::nil; }
  [[nodiscard]] bool is_boolean() const noexcept { return type() == kind::boolean; }
  [[nodiscard]] bool is_integer() const noexcept { return type() == kind::integer; }
  [[nodiscard]] bool is_real() const noexcept { return type() == kind::real; }
  [[nodiscard]] bool is_string() const noexcept { return type() == kind::string; }
  [[nodiscard]] bool is_light_userdata() const noexcept { return type() == kind::light_userdata; }
  [[nodiscard]] bool is_table() const noexcept { return type() == kind::table; }

  // Accessors require the matching kind; otherwise they throw std::bad_variant_access.
  [[nodiscard]] bool as_boolean() const { return std::get<bool>(v_); }
  [[nodiscard]] std::int64_t as_integer() const { return std::get<std::int64_t>(v_); }
  [[nodiscard]] double as_real() const { return std::get<double>(v_); }
  [[nodiscard]] const std::string& as_string() const { return std::get<std::string>(v_); }
  [[nodiscard]] std::string& as_string() { return std::get<std::string>(v_); }
  [[nodiscard]] light_userdata as_light_userdata() const { return std::get<light_userdata>(v_); }
  [[nodiscard]] const table& as_table() const { return std::get<table_box>(v_).get(); }
  [[nodiscard]] table& as_table() { return std::get<table_box>(v_).get(); }

  /// Calls `vis` with the contents: std::monostate (nil), bool, std::int64_t, double,
  /// const std::string&, light_userdata or const table&.
  template <class Visitor>
  decltype(auto) visit(Visitor&& vis) const;

  /// Deep equality. Reals compare bit for bit (NaN equals the same NaN, 0.0 differs from
  /// -0.0); tables compare their array parts in order and their hash parts as sets of pairs.
  friend bool operator==(const value& a, const value& b);

 private:
  friend struct table_access;
  std::variant<std::monostate, bool, std::int64_t, double, std::string, light_userdata, table_box>
      v_;
};

using value_list = std::vector<value>;

struct table {
  /// Keys 1..array.size(), in order.
  std::vector<value> array;
  /// Every other key, in insertion (stream) order.
  std::vector<std::pair<value, value>> hash;

  /// Raw lookup like Lua's `rawget(t, key)`: integral reals find integer keys, table keys
  /// match by identity. Null when the key is absent.
  [[nodiscard]] const value* find(const value& key) const;

  friend bool operator==(const table& a, const table& b);
};

inline value::value(table t) : v_(table_box(std::move(t))) {}

template <class Visitor>
decltype(auto) value::visit(Visitor&& vis) const {
  return std::visit(
      [&vis](const auto& contents) -> decltype(auto) {
        if constexpr (std::is_same_v<std::decay_t<decltype(contents)>, table_box>) {
          return vis(contents.get());
        } else {
          return vis(contents);
        }
      },
      v_);
}

/// Lua-like text for diagnostics (test failures, logs). Deep tables are elided.
std::ostream& operator<<(std::ostream& out, const value& v);
std::ostream& operator<<(std::ostream& out, const table& t);

}  // namespace starling::seri
