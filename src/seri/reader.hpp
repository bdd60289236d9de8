#pragma once
// Decoder for the skynet.pack format: pulls values one at a time out of a byte span.
//
// Any input is safe: malformed bytes raise seri::error with skynet's own text
// ("Invalid serialize stream <remaining> (line:<L>)", "table index is NaN"), never a crash.
// Tables are decoded without recursion and nest at most max_depth levels deep
// ("Invalid serialize stream <remaining> (depth limit 10000)"); skynet has no limit and
// overflows its C stack instead. After an error the reader's position is unspecified.

#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>
#include <vector>

#include "base/payload.hpp"
#include "seri/error.hpp"
#include "seri/value.hpp"

namespace starling::seri {

class reader {
 public:
  /// Most tables one value may nest (the outermost table is level 1).
  static constexpr std::size_t max_depth = 10000;

  explicit reader(std::span<const std::byte> bytes) noexcept;
  reader(const reader&) = delete;
  reader& operator=(const reader&) = delete;
  ~reader();

  /// True when every byte has been consumed: the message has no more values.
  [[nodiscard]] bool at_end() const noexcept { return pos_ == end_; }
  [[nodiscard]] std::size_t remaining() const noexcept {
    return static_cast<std::size_t>(end_ - pos_);
  }

  /// The kind of the next value, without consuming it.
  [[nodiscard]] value::kind peek_kind() const;

  /// Reads one whole value (a table with everything inside it).
  value read();
  /// Reads every remaining value.
  value_list read_all();

  // Typed reads: the next value must have that kind, otherwise they throw
  // "Invalid serialize stream <remaining> (expected <kind>, got <kind>)" without consuming.
  // read_integer accepts integers only, read_real reals only (Lua keeps the two apart).
  void read_nil();
  bool read_bool();
  std::int64_t read_integer();
  double read_real();
  /// A view into the input bytes: no copy, valid as long as they are.
  std::string_view read_string();
  std::uint64_t read_light_userdata();

 private:
  struct frame;

  [[noreturn, gnu::cold]] void fail(int line) const;
  [[noreturn, gnu::cold]] void fail_end() const;
  [[noreturn, gnu::cold]] void fail_depth() const;
  [[noreturn, gnu::cold]] void fail_kind(value::kind expected) const;
  std::uint8_t peek_tag() const;

  template <class T>
  T take(int line);
  std::int64_t integer_body(std::uint8_t cookie);
  double real_body();
  std::string_view string_body(std::uint8_t type, std::uint8_t cookie);
  template <class Make>
  auto scalar(std::uint8_t tag, Make&& make);
  value scalar(std::uint8_t tag);
  std::uint32_t table_count(std::uint8_t cookie);
  value read_table(std::uint8_t tag);
  bool read_element(value& slot);
  void open_table(value& slot, std::uint8_t tag);
  void assign(frame& f);
  static void finish_table(frame& f);

  const std::byte* pos_;
  const std::byte* end_;
  frame& frame_at(std::size_t level);

  // Open tables of the value being read: the outermost one's frame is on read_table's stack,
  // nested ones are kept here between reads to reuse the allocation.
  frame* outermost_ = nullptr;
  std::vector<frame> frames_;
  std::size_t depth_ = 0;           // open tables
  std::size_t reserve_budget_ = 0;  // array slots the current read may still reserve
};

/// skynet.unpack: every value of a message.
[[nodiscard]] value_list unpack(std::span<const std::byte> bytes);
[[nodiscard]] inline value_list unpack(const payload& message) {
  return unpack(message.bytes());
}

}  // namespace starling::seri
