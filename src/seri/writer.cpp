#include "seri/writer.hpp"

#include <cmath>
#include <cstdlib>
#include <new>
#include <stdexcept>
#include <type_traits>

namespace starling::seri {

writer::~writer() {
  if (data_ != inline_) std::free(data_);  // NOLINT(cppcoreguidelines-no-malloc): see grow()
}

void writer::throw_too_deep() {
  throw error("serialize can't pack too depth table");
}

void writer::grow(std::size_t n) {
  // malloc/realloc rather than new[]: finish() gives the block to a payload, which frees it
  // with std::free.
  std::size_t wanted = capacity_ * 2;
  if (wanted - size_ < n) wanted = size_ + n;
  void* block = nullptr;
  if (data_ == inline_) {
    block = std::malloc(wanted);  // NOLINT(cppcoreguidelines-no-malloc)
    if (block != nullptr) std::memcpy(block, inline_, size_);
  } else {
    block = std::realloc(data_, wanted);  // NOLINT(cppcoreguidelines-no-malloc)
  }
  if (block == nullptr) throw std::bad_alloc();
  data_ = static_cast<std::byte*>(block);
  capacity_ = wanted;
}

void writer::put_table_header(std::size_t array_count) {
  // skynet passes the count through a C int; past 2^31-1 it would write a wrong header.
  if (array_count > static_cast<std::size_t>(INT32_MAX)) {
    throw error("serialize can't pack too long table");
  }
  if (array_count < format::table_count_follows) {
    put_byte(format::tag(format::type_table, static_cast<std::uint8_t>(array_count)));
  } else {
    put_byte(format::tag(format::type_table, format::table_count_follows));
    put_integer(static_cast<std::int64_t>(array_count));
  }
}

void writer::begin_table(std::size_t array_count) {
  check_depth();
  put_table_header(array_count);
  ++depth_;
}

void writer::end_table() {
  if (depth_ == 0) throw std::logic_error("seri::writer::end_table without begin_table");
  --depth_;
  put_byte(format::tag(format::type_nil, 0));
}

void writer::write(const table& t) {
  check_depth();
  write_table(t, depth_);
}

void writer::write(const value_list& values) {
  for (const value& v : values)
    write_value(v, depth_);
}

inline void writer::put_value(const value& v, int depth) {
  v.visit([this, depth](const auto& contents) {
    using type = std::decay_t<decltype(contents)>;
    if constexpr (std::is_same_v<type, std::monostate>) {
      put_byte(format::tag(format::type_nil, 0));
    } else if constexpr (std::is_same_v<type, bool>) {
      put_byte(format::tag(format::type_boolean, contents ? 1 : 0));
    } else if constexpr (std::is_same_v<type, std::int64_t>) {
      put_integer(contents);
    } else if constexpr (std::is_same_v<type, double>) {
      put_real(contents);
    } else if constexpr (std::is_same_v<type, std::string>) {
      put_string(contents);
    } else if constexpr (std::is_same_v<type, light_userdata>) {
      put_light_userdata(contents.address);
    } else {
      static_assert(std::is_same_v<type, table>);
      write_table(contents, depth);
    }
  });
}

void writer::write_value(const value& v, int depth) {
  if (depth > max_depth) throw_too_deep();
  put_value(v, depth);
}

void writer::write_table(const table& t, int depth) {
  // Everything inside sits one level deeper; checking once here keeps the item loop tight.
  // Recursion is bounded by max_depth, so it is safe on any stack.
  if (depth >= max_depth && (!t.array.empty() || !t.hash.empty())) throw_too_deep();
  put_table_header(t.array.size());
  for (const value& item : t.array)
    put_value(item, depth + 1);
  for (const auto& [key, item] : t.hash) {
    // A nil key would read back as the terminator; Lua cannot hold either key.
    if (key.is_nil()) throw error("table index is nil");
    if (key.is_real() && std::isnan(key.as_real())) throw error("table index is NaN");
    put_value(key, depth + 1);
    put_value(item, depth + 1);
  }
  put_byte(format::tag(format::type_nil, 0));
}

payload writer::finish() {
  if (depth_ != 0) throw std::logic_error("seri::writer::finish with an open table");
  payload result;
  if (data_ == inline_ || size_ <= payload::inline_capacity) {
    // Small: the payload stores it inline (a heap buffer, if any, stays for reuse).
    result = payload::copy_of(bytes());
  } else {
    // Large: give the block away. Return a large unused tail to the allocator first, since
    // the message may sit in a queue for a while.
    if (capacity_ - size_ > 4096 && capacity_ - size_ > size_ / 4) {
      if (void* shrunk = std::realloc(data_, size_)) {  // NOLINT(cppcoreguidelines-no-malloc)
        data_ = static_cast<std::byte*>(shrunk);
      }
    }
    result = payload::adopt_malloced(data_, size_);
    data_ = inline_;
    capacity_ = inline_capacity;
  }
  size_ = 0;
  return result;
}

}  // namespace starling::seri
