#pragma once
// The allocator behind one Lua state's small objects (strings, tables, closures, up to 128
// bytes): 1 KiB pages carved into 16-byte size classes, with one free list per class. A
// fresh service holds a dozen pages; smaller pages waste less in the last one and in classes
// whose blocks the boot freed.
//
// Lua tells the allocator the size of every block it frees or resizes, so blocks carry no
// header, and a service creates and frees thousands of such objects while it boots: malloc's
// bookkeeping was a third of the instructions of a spawn. Pages go back only when the state
// closes, so the pages are capped (256 KiB per state): past the cap small blocks come from
// malloc like large ones, and the memory a burst of small objects leaves behind is bounded.
//
// Thread contract: one state, one thread at a time (the service's dispatch).

#include <array>
#include <cstddef>
#include <vector>

namespace starling::lua {

class small_heap {
 public:
  static constexpr std::size_t page_size = 1024;
  static constexpr std::size_t granule = 16;
  static constexpr std::size_t max_small = 128;
  static constexpr std::size_t max_pages = 256;

  small_heap() = default;
  small_heap(const small_heap&) = delete;
  small_heap& operator=(const small_heap&) = delete;
  ~small_heap();

  /// A block of `size` bytes (size > 0), aligned for any Lua object; null when out of memory.
  void* allocate(std::size_t size);
  /// Frees a block that allocate or resize returned with this `size`.
  void release(void* block, std::size_t size) noexcept;
  /// lua_Alloc's realloc case: block != null, both sizes > 0.
  void* resize(void* block, std::size_t old_size, std::size_t new_size);

  /// Pages held (for tests).
  [[nodiscard]] std::size_t pages() const noexcept { return pages_.size(); }

 private:
  struct free_block {
    free_block* next;
  };
  static std::size_t class_of(std::size_t size) noexcept { return (size - 1) / granule; }
  [[nodiscard]] bool owns(const void* block) const noexcept;
  void* carve(std::size_t size);

  std::array<free_block*, max_small / granule> free_{};
  std::byte* bump_ = nullptr;  // the unused tail of the newest page
  std::byte* bump_end_ = nullptr;
  std::vector<std::byte*> pages_;  // sorted by address
};

}  // namespace starling::lua
