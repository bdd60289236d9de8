#include "lua/small_heap.hpp"

#include <gtest/gtest.h>

#include <cstdint>
#include <cstring>
#include <vector>

namespace starling::lua {
namespace {

TEST(small_heap, small_blocks_come_from_pages_and_are_reused_per_size_class) {
  small_heap heap;
  void* a = heap.allocate(24);
  ASSERT_NE(a, nullptr);
  EXPECT_EQ(heap.pages(), 1u);
  EXPECT_EQ(reinterpret_cast<std::uintptr_t>(a) % 16, 0u);
  heap.release(a, 24);
  EXPECT_EQ(heap.allocate(32), a) << "24 and 32 bytes share the 32-byte class";
  void* other = heap.allocate(40);
  EXPECT_NE(other, a);
  heap.release(other, 40);
  heap.release(a, 32);
}

TEST(small_heap, blocks_do_not_overlap_and_keep_their_bytes) {
  small_heap heap;
  std::vector<std::pair<unsigned char*, std::size_t>> blocks;
  for (std::size_t i = 0; i < 2000; ++i) {
    const std::size_t size = 1 + (i * 37) % 200;  // small and large sizes mixed
    auto* block = static_cast<unsigned char*>(heap.allocate(size));
    ASSERT_NE(block, nullptr);
    std::memset(block, static_cast<int>(i & 0xff), size);
    blocks.emplace_back(block, size);
  }
  for (std::size_t i = 0; i < blocks.size(); ++i) {
    const auto [block, size] = blocks[i];
    for (std::size_t j = 0; j < size; ++j)
      ASSERT_EQ(block[j], static_cast<unsigned char>(i & 0xff)) << "block " << i;
    heap.release(block, size);
  }
}

TEST(small_heap, resize_moves_between_classes_and_to_malloc_keeping_the_prefix) {
  small_heap heap;
  auto* block = static_cast<char*>(heap.allocate(10));
  std::memcpy(block, "0123456789", 10);
  auto* same = static_cast<char*>(heap.resize(block, 10, 16));
  EXPECT_EQ(same, block) << "same class: no move";
  auto* bigger = static_cast<char*>(heap.resize(same, 16, 100));
  EXPECT_EQ(std::memcmp(bigger, "0123456789", 10), 0);
  auto* large = static_cast<char*>(heap.resize(bigger, 100, 5000));
  EXPECT_EQ(std::memcmp(large, "0123456789", 10), 0);
  auto* larger = static_cast<char*>(heap.resize(large, 5000, 9000));
  EXPECT_EQ(std::memcmp(larger, "0123456789", 10), 0);
  auto* small_again = static_cast<char*>(heap.resize(larger, 9000, 8));
  EXPECT_EQ(std::memcmp(small_again, "01234567", 8), 0);
  heap.release(small_again, 8);
}

TEST(small_heap, past_the_page_cap_small_blocks_come_from_malloc) {
  small_heap heap;
  std::vector<void*> blocks;
  const std::size_t per_page = small_heap::page_size / small_heap::max_small;
  for (std::size_t i = 0; i < (small_heap::max_pages + 4) * per_page; ++i)
    blocks.push_back(heap.allocate(small_heap::max_small));
  EXPECT_EQ(heap.pages(), small_heap::max_pages);
  for (void* block : blocks)
    heap.release(block, small_heap::max_small);  // malloc'd ones go back to free (ASan checks)
}

}  // namespace
}  // namespace starling::lua
