#pragma once
// The sproto wire format's building blocks, shared by the schema loader, the C++ codec and the
// Lua binding (docs/LIBRARIES.md, "sproto"). Every type here is trivially destructible: the Lua
// binding keeps them in frames that a Lua error may unwind with longjmp.
//
// A struct is a u16 entry count, the u16 entries, then the data part. An entry 0 says "my value
// is the next data block" (u32 length + bytes); an even entry v is the inline value v/2-1; an
// odd entry skips (v+1)/2 tags. Tags are implicit: each entry moves one tag on.

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>

namespace starling::sproto::wire {

constexpr std::size_t header_size = 2;
constexpr std::size_t entry_size = 2;
constexpr std::size_t length_size = 4;
constexpr std::int64_t inline_limit = 0x7fff;  // integers 0..0x7ffe are written inline

inline unsigned u16_at(const char* p) {
  const auto* b = reinterpret_cast<const unsigned char*>(p);
  return static_cast<unsigned>(b[0]) | static_cast<unsigned>(b[1]) << 8U;
}

inline std::uint32_t u32_at(const char* p) {
  const auto* b = reinterpret_cast<const unsigned char*>(p);
  return static_cast<std::uint32_t>(b[0]) | static_cast<std::uint32_t>(b[1]) << 8U |
         static_cast<std::uint32_t>(b[2]) << 16U | static_cast<std::uint32_t>(b[3]) << 24U;
}

inline std::uint64_t u64_at(const char* p) {
  return static_cast<std::uint64_t>(u32_at(p)) | static_cast<std::uint64_t>(u32_at(p + 4)) << 32U;
}

/// One field of a struct being read: an inline value, or a data block.
struct entry {
  int tag = 0;
  bool has_data = false;
  std::int64_t value = 0;  // the inline value
  std::string_view data;   // the data block
};

/// Walks the entries of one struct. open() checks the whole layout (every data block within the
/// bytes) and tells how many bytes the struct takes; trailing bytes are not its business.
class struct_reader {
 public:
  [[nodiscard]] bool open(std::string_view bytes) {
    if (bytes.size() < header_size) return false;
    count_ = u16_at(bytes.data());
    const std::size_t head = header_size + entry_size * count_;
    if (bytes.size() < head) return false;
    entries_ = bytes.data() + header_size;
    data_ = bytes.data() + head;
    std::size_t at = head;
    for (unsigned i = 0; i < count_; ++i) {
      if (u16_at(entries_ + entry_size * i) != 0) continue;
      if (bytes.size() - at < length_size) return false;
      const std::uint32_t length = u32_at(bytes.data() + at);
      if (bytes.size() - at - length_size < length) return false;
      at += length_size + length;
    }
    size_ = at;
    return true;
  }

  /// The next field with a value; false at the end.
  [[nodiscard]] bool next(entry& e) {
    while (index_ < count_) {
      const unsigned v = u16_at(entries_ + entry_size * index_++);
      const int tag = tag_++;
      if ((v & 1U) != 0) {
        tag_ += static_cast<int>(v / 2);  // this entry stands for (v+1)/2 tags
        continue;
      }
      e.tag = tag;
      e.has_data = v == 0;
      if (e.has_data) {
        const std::uint32_t length = u32_at(data_);
        e.data = std::string_view(data_ + length_size, length);
        data_ += length_size + length;
      } else {
        e.value = static_cast<std::int64_t>(v / 2) - 1;
      }
      return true;
    }
    return false;
  }

  /// Entries in the header, skip entries included.
  [[nodiscard]] unsigned entry_count() const { return count_; }

  /// Bytes the struct takes: header, entries and data part.
  [[nodiscard]] std::size_t size() const { return size_; }

 private:
  const char* entries_ = nullptr;
  const char* data_ = nullptr;
  unsigned count_ = 0;
  unsigned index_ = 0;
  int tag_ = 0;
  std::size_t size_ = 0;
};

/// An integer data block: 4 bytes (sign-extended) or 8.
inline bool integer_of(std::string_view data, std::int64_t& out) {
  if (data.size() == 4) {
    out = static_cast<std::int32_t>(u32_at(data.data()));
    return true;
  }
  if (data.size() == 8) {
    out = static_cast<std::int64_t>(u64_at(data.data()));
    return true;
  }
  return false;
}

inline bool real_of(std::string_view data, double& out) {
  if (data.size() != 8) return false;
  const std::uint64_t bits = u64_at(data.data());
  std::memcpy(&out, &bits, sizeof out);
  return true;
}

/// An integer or double array's layout: a width byte, then whole elements (empty: no width).
inline bool number_array_of(std::string_view data, bool real, std::size_t& width,
                            std::size_t& count) {
  count = 0;
  width = 0;
  if (data.empty()) return true;
  width = static_cast<unsigned char>(data[0]);
  if (width != 8 && (real || width != 4)) return false;
  if ((data.size() - 1) % width != 0) return false;
  count = (data.size() - 1) / width;
  return true;
}

inline std::int64_t number_element(std::string_view data, std::size_t width, std::size_t i) {
  const char* p = data.data() + 1 + width * i;
  return width == 4 ? static_cast<std::int32_t>(u32_at(p)) : static_cast<std::int64_t>(u64_at(p));
}

/// Takes the next u32-length-prefixed element of a string or struct array.
inline bool next_block(std::string_view& rest, std::string_view& block) {
  if (rest.size() < length_size) return false;
  const std::uint32_t length = u32_at(rest.data());
  if (rest.size() - length_size < length) return false;
  block = rest.substr(length_size, length);
  rest.remove_prefix(length_size + length);
  return true;
}

inline void append_u32(std::string& out, std::uint32_t v) {
  const char bytes[4] = {static_cast<char>(v), static_cast<char>(v >> 8U),
                         static_cast<char>(v >> 16U), static_cast<char>(v >> 24U)};
  out.append(bytes, sizeof bytes);
}

inline void append_u64(std::string& out, std::uint64_t v) {
  append_u32(out, static_cast<std::uint32_t>(v));
  append_u32(out, static_cast<std::uint32_t>(v >> 32U));
}

inline void put_u16(std::string& out, std::size_t at, unsigned v) {
  out[at] = static_cast<char>(v & 0xffU);
  out[at + 1] = static_cast<char>((v >> 8U) & 0xffU);
}

inline void put_u32(std::string& out, std::size_t at, std::uint32_t v) {
  for (unsigned i = 0; i < 4; ++i) {
    out[at + i] = static_cast<char>((v >> (8U * i)) & 0xffU);
  }
}

inline bool fits_int32(std::int64_t v) {
  return v >= INT32_MIN && v <= INT32_MAX;
}

/// Writes one struct at the end of `out`. Room for `entries` entries (type::max_entries) is
/// reserved first; finish() closes the gap left by the entries not needed.
class struct_writer {
 public:
  struct_writer(std::string& out, std::size_t entries)
      : out_(&out), start_(out.size()), room_(entries) {
    out.append(header_size + entry_size * room_, '\0');
    data_ = out.size();
  }

  /// An inline entry: `v` is the value, 0..0x7ffe.
  void put_inline(int tag, std::int64_t v) { put_entry(tag, static_cast<unsigned>((v + 1) * 2)); }

  /// Starts the data block of `tag`; the caller appends the bytes, then calls end_data.
  [[nodiscard]] std::size_t begin_data(int tag) {
    put_entry(tag, 0);
    const std::size_t at = out_->size();
    out_->append(length_size, '\0');
    return at;
  }
  void end_data(std::size_t at) {
    put_u32(*out_, at, static_cast<std::uint32_t>(out_->size() - at - length_size));
  }

  void put_integer(int tag, std::int64_t v) {
    if (v >= 0 && v < inline_limit) {
      put_inline(tag, v);
      return;
    }
    const std::size_t at = begin_data(tag);
    if (fits_int32(v)) {
      append_u32(*out_, static_cast<std::uint32_t>(v));
    } else {
      append_u64(*out_, static_cast<std::uint64_t>(v));
    }
    end_data(at);
  }

  void finish() {
    std::string& out = *out_;
    const std::size_t head = start_ + header_size + entry_size * count_;
    put_u16(out, start_, count_);
    if (head != data_) {
      out.erase(head, data_ - head);
    }
  }

 private:
  void put_entry(int tag, unsigned v) {
    if (tag > last_ + 1) {
      append_entry(static_cast<unsigned>((tag - last_ - 2) * 2 + 1));
    }
    append_entry(v);
    last_ = tag;
  }
  void append_entry(unsigned v) {
    put_u16(*out_, start_ + header_size + entry_size * count_, v);
    ++count_;
  }

  std::string* out_;
  std::size_t start_;
  std::size_t room_;
  std::size_t data_;
  unsigned count_ = 0;
  int last_ = -1;
};

/// The array form of integers: a width byte, then 4-byte elements until one needs 8, when
/// every element written so far is widened (sign-extended) in place. An empty array is no bytes.
class integer_array_writer {
 public:
  explicit integer_array_writer(std::string& out) : out_(&out), start_(out.size()) {}
  void add(std::int64_t v) {
    std::string& out = *out_;
    if (!started_) {
      out.push_back(4);
      started_ = true;
    }
    if (wide_) {
      append_u64(out, static_cast<std::uint64_t>(v));
      return;
    }
    if (fits_int32(v)) {
      append_u32(out, static_cast<std::uint32_t>(v));
      return;
    }
    widen();
    append_u64(out, static_cast<std::uint64_t>(v));
  }

 private:
  void widen() {
    std::string& out = *out_;
    const std::size_t first = start_ + 1;
    const std::size_t n = (out.size() - first) / 4;
    out.resize(first + n * 8);
    for (std::size_t i = n; i-- > 0;) {
      const auto v =
          static_cast<std::int64_t>(static_cast<std::int32_t>(u32_at(out.data() + first + i * 4)));
      for (std::size_t b = 0; b < 8; ++b) {
        out[first + i * 8 + b] =
            static_cast<char>((static_cast<std::uint64_t>(v) >> (8 * b)) & 0xffU);
      }
    }
    out[start_] = 8;
    wide_ = true;
  }

  std::string* out_;
  std::size_t start_;
  bool started_ = false;
  bool wide_ = false;
};

}  // namespace starling::sproto::wire
