#include "actor/frame_pool.hpp"

#include <array>
#include <new>

namespace starling::detail {

namespace {

constexpr std::size_t size_class_bytes = 64;
constexpr std::size_t size_classes = 16;  // frames up to 1 KiB are pooled
constexpr std::size_t max_cached_per_class = 256;

struct free_block {
  free_block* next;
};

struct free_lists {
  std::array<free_block*, size_classes> heads{};
  std::array<std::size_t, size_classes> counts{};
  ~free_lists() {
    for (free_block* head : heads) {
      while (head != nullptr) {
        free_block* next = head->next;
        ::operator delete(head);
        head = next;
      }
    }
  }
};

thread_local free_lists pool;

std::size_t class_of(std::size_t size) noexcept {
  return (size - 1) / size_class_bytes;
}

}  // namespace

void* allocate_frame(std::size_t size) {
  const std::size_t cls = class_of(size);
  if (cls >= size_classes) return ::operator new(size);
  if (free_block* block = pool.heads[cls]; block != nullptr) {
    pool.heads[cls] = block->next;
    --pool.counts[cls];
    return block;
  }
  return ::operator new((cls + 1) * size_class_bytes);
}

void free_frame(void* frame, std::size_t size) noexcept {
  const std::size_t cls = class_of(size);
  if (cls >= size_classes || pool.counts[cls] >= max_cached_per_class) {
    ::operator delete(frame);
    return;
  }
  auto* block = static_cast<free_block*>(frame);
  block->next = pool.heads[cls];
  pool.heads[cls] = block;
  ++pool.counts[cls];
}

}  // namespace starling::detail
