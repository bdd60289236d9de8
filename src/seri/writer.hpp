#pragma once
// Encoder for the skynet.pack format: values are appended one after another to a growable
// byte buffer, and finish() hands the bytes over as a starling::payload.
//
// The first `inline_capacity` bytes live inside the writer, so packing a short call such as
// ("ping", 42) touches no heap at all (the result fits payload's own inline storage).
//
// Tables are streamed as: begin_table(n), exactly n array items, then key/value pairs
// (each a write_* call; a nil key would end the table early), then end_table().
// After any exception the buffer holds a partial message: call clear() before reusing.

#include <concepts>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <span>
#include <string>
#include <string_view>
#include <variant>

#include "base/payload.hpp"
#include "seri/error.hpp"
#include "seri/format.hpp"
#include "seri/value.hpp"

namespace starling::seri {

class writer {
 public:
  /// Bytes buffered without a heap allocation.
  static constexpr std::size_t inline_capacity = 128;
  /// skynet's limit: a value nested deeper than this (top level = 0) cannot be packed.
  static constexpr int max_depth = 32;

  writer() noexcept = default;
  writer(const writer&) = delete;
  writer& operator=(const writer&) = delete;
  ~writer();

  void write_nil() {
    check_depth();
    put_byte(format::tag(format::type_nil, 0));
  }
  void write_bool(bool b) {
    check_depth();
    put_byte(format::tag(format::type_boolean, b ? 1 : 0));
  }
  void write_integer(std::int64_t v) {
    check_depth();
    put_integer(v);
  }
  void write_real(double v) {
    check_depth();
    put_real(v);
  }
  void write_string(std::string_view s) {
    check_depth();
    put_string(s);
  }
  void write_light_userdata(std::uint64_t address) {
    check_depth();
    put_light_userdata(address);
  }
  /// Opens a table whose array part has `array_count` items (at most 2^31-1).
  void begin_table(std::size_t array_count);
  /// Closes the innermost open table (writes the nil terminator).
  void end_table();

  /// Writes a whole value tree. Raises "serialize can't pack too depth table" past max_depth
  /// and "table index is nil" / "table index is NaN" for keys Lua could not hold.
  void write(const value& v) { write_value(v, depth_); }
  void write(const table& t);
  /// Writes each value in turn (a multi-value message).
  void write(const value_list& values);

  [[nodiscard]] std::span<const std::byte> bytes() const noexcept { return {data_, size_}; }
  [[nodiscard]] std::size_t size() const noexcept { return size_; }

  /// Hands the bytes over and leaves the writer empty. Small messages are copied into the
  /// payload's inline storage; large ones give away the malloc'd buffer without a copy.
  [[nodiscard]] payload finish();
  /// Drops the bytes and any open tables.
  void clear() noexcept {
    size_ = 0;
    depth_ = 0;
  }

 private:
  void check_depth() const {
    if (depth_ > max_depth) throw_too_deep();
  }
  [[noreturn]] static void throw_too_deep();

  // Room for `n` more bytes; returns where they go.
  std::byte* reserve(std::size_t n) {
    if (capacity_ - size_ < n) grow(n);
    return data_ + size_;
  }
  void grow(std::size_t n);

  void put_byte(std::uint8_t b) {
    *reserve(1) = static_cast<std::byte>(b);
    ++size_;
  }
  template <class T>
  static void store(std::byte* at, T v) noexcept {
    std::memcpy(at, &v, sizeof v);
  }
  void put_integer(std::int64_t v);
  void put_real(double v) {
    std::byte* p = reserve(9);
    p[0] = static_cast<std::byte>(format::tag(format::type_number, format::number_real));
    store(p + 1, v);
    size_ += 9;
  }
  void put_string(std::string_view s);
  void put_light_userdata(std::uint64_t address) {
    std::byte* p = reserve(9);
    p[0] = static_cast<std::byte>(format::tag(format::type_userdata, 0));
    store(p + 1, address);
    size_ += 9;
  }
  void put_table_header(std::size_t array_count);
  void write_value(const value& v, int depth);  // checks the depth, then put_value
  void put_value(const value& v, int depth);
  void write_table(const table& t, int depth);

  std::byte* data_ = inline_;
  std::size_t size_ = 0;
  std::size_t capacity_ = inline_capacity;
  int depth_ = 0;  // tables opened with begin_table and not yet closed
  std::byte inline_[inline_capacity];
};

inline void writer::put_integer(std::int64_t v) {
  // docs/SERI.md, "Numbers": the first matching rule wins; there is no short negative form.
  std::byte* p = reserve(9);
  if (v == 0) {
    p[0] = static_cast<std::byte>(format::tag(format::type_number, format::number_zero));
    size_ += 1;
  } else if (v < INT32_MIN || v > INT32_MAX) {
    p[0] = static_cast<std::byte>(format::tag(format::type_number, format::number_qword));
    store(p + 1, v);
    size_ += 9;
  } else if (v > 0 && v < 0x100) {
    p[0] = static_cast<std::byte>(format::tag(format::type_number, format::number_byte));
    p[1] = static_cast<std::byte>(v);
    size_ += 2;
  } else if (v > 0 && v < 0x10000) {
    p[0] = static_cast<std::byte>(format::tag(format::type_number, format::number_word));
    store(p + 1, static_cast<std::uint16_t>(v));
    size_ += 3;
  } else {
    p[0] = static_cast<std::byte>(format::tag(format::type_number, format::number_dword));
    store(p + 1, static_cast<std::int32_t>(v));
    size_ += 5;
  }
}

inline void writer::put_string(std::string_view s) {
  const std::size_t n = s.size();
  std::byte* p = nullptr;
  if (n <= format::max_short_string) {
    p = reserve(1 + n);
    p[0] = static_cast<std::byte>(
        format::tag(format::type_short_string, static_cast<std::uint8_t>(n)));
    p += 1;
    size_ += 1 + n;
  } else if (n < 0x10000) {
    p = reserve(3 + n);
    p[0] = static_cast<std::byte>(format::tag(format::type_long_string, 2));
    store(p + 1, static_cast<std::uint16_t>(n));
    p += 3;
    size_ += 3 + n;
  } else {
    // skynet passes lengths through a C int and writes a wrong header past 2^31-1; refuse.
    if (n > static_cast<std::size_t>(INT32_MAX))
      throw error("serialize can't pack too long string");
    p = reserve(5 + n);
    p[0] = static_cast<std::byte>(format::tag(format::type_long_string, 4));
    store(p + 1, static_cast<std::uint32_t>(n));
    p += 5;
    size_ += 5 + n;
  }
  if (n != 0) std::memcpy(p, s.data(), n);
}

namespace detail {

inline void write_arg(writer& w, bool b) {
  w.write_bool(b);
}
template <std::integral T>
requires(!std::same_as<T, bool>) void write_arg(writer& w, T v) {
  // Unsigned values past INT64_MAX wrap, as they would in a Lua integer.
  w.write_integer(static_cast<std::int64_t>(v));
}
template <std::floating_point T>
void write_arg(writer& w, T v) {
  w.write_real(static_cast<double>(v));
}
inline void write_arg(writer& w, const char* s) {
  if (s == nullptr) {
    w.write_nil();
  } else {
    w.write_string(s);
  }
}
inline void write_arg(writer& w, std::string_view s) {
  w.write_string(s);
}
inline void write_arg(writer& w, const std::string& s) {
  w.write_string(s);
}
inline void write_arg(writer& w, std::nullptr_t) {
  w.write_nil();
}
inline void write_arg(writer& w, std::monostate) {
  w.write_nil();
}
inline void write_arg(writer& w, light_userdata p) {
  w.write_light_userdata(p.address);
}
inline void write_arg(writer& w, const value& v) {
  w.write(v);
}
inline void write_arg(writer& w, const table& t) {
  w.write(t);
}
inline void write_arg(writer& w, const value_list& values) {
  w.write(values);
}

}  // namespace detail

/// skynet.pack(...): bool, integers, floating point, C strings, std::string(_view), nullptr
/// or std::monostate (nil), light_userdata, value, table, and value_list (several values).
template <class... Args>
[[nodiscard]] payload pack(const Args&... args) {
  writer w;
  (detail::write_arg(w, args), ...);
  return w.finish();
}

}  // namespace starling::seri
