#pragma once
// An owned, move-only byte buffer: the body of a message.
//
// Small bodies (most calls and replies) live inline, so sending them allocates nothing.
// Larger bodies live in malloc'd memory, which lets a buffer produced by C code (Lua's
// skynet.pack) be adopted without a copy and handed back to C code the same way.

#include <cstddef>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <span>
#include <string_view>

namespace starling {

/// Frees a block that came from malloc: message bodies handed to or taken from C code.
struct malloc_deleter {
  void operator()(void* block) const noexcept { std::free(block); }  // NOLINT(*-no-malloc)
};
/// A malloc'd block with one owner.
template <class T = void>
using malloc_ptr = std::unique_ptr<T, malloc_deleter>;

class payload {
 public:
  /// Bytes stored without a heap allocation.
  static constexpr std::size_t inline_capacity = 48;

  payload() noexcept = default;
  /// A buffer of `size` bytes with unspecified contents.
  explicit payload(std::size_t size);
  /// A copy of `bytes`.
  static payload copy_of(std::span<const std::byte> bytes);
  static payload copy_of(std::string_view text);
  /// Takes ownership of `data`, which must come from malloc (or be null with size 0).
  static payload adopt_malloced(void* data, std::size_t size) noexcept;

  payload(payload&& other) noexcept { steal(other); }
  payload& operator=(payload&& other) noexcept {
    if (this != &other) {
      reset();
      steal(other);
    }
    return *this;
  }
  payload(const payload&) = delete;
  payload& operator=(const payload&) = delete;
  ~payload() {
    if (on_heap()) release_heap();
  }

  // ---- access --------------------------------------------------------------

  [[nodiscard]] std::byte* data() noexcept { return on_heap() ? heap_ : inline_; }
  [[nodiscard]] const std::byte* data() const noexcept { return on_heap() ? heap_ : inline_; }
  [[nodiscard]] std::size_t size() const noexcept { return size_; }
  [[nodiscard]] bool empty() const noexcept { return size_ == 0; }
  [[nodiscard]] std::span<const std::byte> bytes() const noexcept { return {data(), size_}; }
  [[nodiscard]] std::string_view view() const noexcept {
    return {reinterpret_cast<const char*>(data()), size_};
  }

  // ---- ownership -----------------------------------------------------------

  /// Gives the bytes away as a malloc'd block (copied out of inline storage if needed) and
  /// leaves this payload empty. The caller frees the block with std::free. Null when empty.
  [[nodiscard]] void* release_malloced();
  /// Frees the bytes; the payload becomes empty.
  void reset() noexcept {
    if (on_heap()) release_heap();
    size_ = 0;
  }

 private:
  [[nodiscard]] bool on_heap() const noexcept { return size_ > inline_capacity; }
  void release_heap() noexcept;
  // Messages move several times on their way: a fixed-size copy of the inline bytes is a
  // few register moves, where a copy of exactly `size_` bytes is a call into libc.
  void steal(payload& other) noexcept {
    size_ = other.size_;
    if (other.on_heap()) {
      heap_ = other.heap_;
    } else {
      std::memcpy(inline_, other.inline_, inline_capacity);
    }
    other.size_ = 0;
  }

  // Heap storage is used exactly when size_ > inline_capacity.
  union {
    std::byte* heap_;
    std::byte inline_[inline_capacity];
  };
  std::size_t size_ = 0;
};

}  // namespace starling
