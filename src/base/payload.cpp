#include "base/payload.hpp"

#include <new>
#include <utility>

namespace starling {

namespace {

std::byte* malloc_or_throw(std::size_t size) {
  // NOLINTNEXTLINE(cppcoreguidelines-no-malloc): malloc'd so that C code can own it later.
  auto* block = static_cast<std::byte*>(std::malloc(size));
  if (block == nullptr) throw std::bad_alloc();
  return block;
}

}  // namespace

payload::payload(std::size_t size) : size_(size) {
  if (size > inline_capacity) heap_ = malloc_or_throw(size);
}

payload payload::copy_of(std::span<const std::byte> bytes) {
  payload result(bytes.size());
  if (!bytes.empty()) std::memcpy(result.data(), bytes.data(), bytes.size());
  return result;
}

payload payload::copy_of(std::string_view text) {
  return copy_of(std::as_bytes(std::span(text.data(), text.size())));
}

payload payload::adopt_malloced(void* data, std::size_t size) noexcept {
  payload result;
  if (size == 0) {
    std::free(data);  // NOLINT(cppcoreguidelines-no-malloc): we own it now
    return result;
  }
  if (size <= inline_capacity) {
    // Keep the invariant "heap exactly when large": small blocks move inline.
    std::memcpy(result.inline_, data, size);
    std::free(data);  // NOLINT(cppcoreguidelines-no-malloc)
  } else {
    result.heap_ = static_cast<std::byte*>(data);
  }
  result.size_ = size;
  return result;
}

void* payload::release_malloced() {
  if (size_ == 0) return nullptr;
  void* block = nullptr;
  if (on_heap()) {
    block = heap_;
  } else {
    block = malloc_or_throw(size_);
    std::memcpy(block, inline_, size_);
  }
  size_ = 0;
  return block;
}

void payload::release_heap() noexcept {
  std::free(heap_);  // NOLINT(cppcoreguidelines-no-malloc)
}

}  // namespace starling
