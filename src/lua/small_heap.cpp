#include "lua/small_heap.hpp"

#include <algorithm>
#include <cstdlib>
#include <cstring>

namespace starling::lua {

small_heap::~small_heap() {
  for (std::byte* page : pages_)
    std::free(page);  // NOLINT(cppcoreguidelines-no-malloc)
}

bool small_heap::owns(const void* block) const noexcept {
  const auto* p = static_cast<const std::byte*>(block);
  auto it = std::upper_bound(pages_.begin(), pages_.end(), p, std::less<>());
  if (it == pages_.begin()) return false;
  --it;
  return p < *it + page_size;
}

void* small_heap::carve(std::size_t size) {
  const std::size_t rounded = (class_of(size) + 1) * granule;
  if (static_cast<std::size_t>(bump_end_ - bump_) < rounded) {
    if (pages_.size() == max_pages) return nullptr;
    auto* page =
        static_cast<std::byte*>(std::malloc(page_size));  // NOLINT(cppcoreguidelines-no-malloc)
    if (page == nullptr) return nullptr;
    pages_.insert(std::upper_bound(pages_.begin(), pages_.end(), page, std::less<>()), page);
    bump_ = page;
    bump_end_ = page + page_size;
  }
  void* block = bump_;
  bump_ += rounded;
  return block;
}

void* small_heap::allocate(std::size_t size) {
  if (size <= max_small) {
    free_block*& head = free_[class_of(size)];
    if (head != nullptr) {
      free_block* block = head;
      head = block->next;
      return block;
    }
    if (void* block = carve(size)) return block;
  }
  return std::malloc(size);  // NOLINT(cppcoreguidelines-no-malloc)
}

void small_heap::release(void* block, std::size_t size) noexcept {
  if (size <= max_small && owns(block)) {
    auto* freed = static_cast<free_block*>(block);
    free_block*& head = free_[class_of(size)];
    freed->next = head;
    head = freed;
    return;
  }
  std::free(block);  // NOLINT(cppcoreguidelines-no-malloc)
}

void* small_heap::resize(void* block, std::size_t old_size, std::size_t new_size) {
  const bool small_before = old_size <= max_small && owns(block);
  if (small_before && new_size <= max_small && class_of(new_size) == class_of(old_size)) {
    return block;
  }
  if (!small_before && new_size > max_small) {
    return std::realloc(block, new_size);  // NOLINT(cppcoreguidelines-no-malloc)
  }
  void* moved = allocate(new_size);
  if (moved == nullptr) return nullptr;
  std::memcpy(moved, block, std::min(old_size, new_size));
  release(block, old_size);
  return moved;
}

}  // namespace starling::lua
