#include "base/payload.hpp"

#include <gtest/gtest.h>

#include <cstdlib>
#include <cstring>
#include <string>

namespace starling {
namespace {

TEST(payload, default_is_empty) {
  payload p;
  EXPECT_TRUE(p.empty());
  EXPECT_EQ(p.size(), 0U);
  EXPECT_EQ(p.release_malloced(), nullptr);
}

TEST(payload, small_copy_is_inline_and_moves) {
  payload a = payload::copy_of(std::string_view("ping"));
  const std::byte* before = a.data();
  payload b = std::move(a);
  EXPECT_EQ(b.view(), "ping");
  EXPECT_TRUE(a.empty());  // NOLINT(bugprone-use-after-move): moved-from state is specified
  EXPECT_NE(b.data(), before) << "inline bytes travel with the object";
}

TEST(payload, large_move_keeps_the_heap_block) {
  std::string big(1000, 'x');
  payload a = payload::copy_of(big);
  const std::byte* block = a.data();
  payload b;
  b = std::move(a);
  EXPECT_EQ(b.data(), block) << "a move must not copy a heap body";
  EXPECT_EQ(b.view(), big);
}

TEST(payload, adopt_and_release_round_trip) {
  for (std::size_t size : {std::size_t{5}, payload::inline_capacity, payload::inline_capacity + 1,
                           std::size_t{4096}}) {
    auto* raw = static_cast<char*>(std::malloc(size));  // NOLINT: testing the C hand-off
    std::memset(raw, 'q', size);
    payload p = payload::adopt_malloced(raw, size);
    ASSERT_EQ(p.size(), size);
    EXPECT_EQ(p.view(), std::string(size, 'q'));
    void* out = p.release_malloced();
    EXPECT_TRUE(p.empty());
    EXPECT_EQ(std::string(static_cast<char*>(out), size), std::string(size, 'q'));
    std::free(out);  // NOLINT
  }
}

TEST(payload, adopt_empty_frees_the_block) {
  payload p = payload::adopt_malloced(std::malloc(1), 0);  // NOLINT
  EXPECT_TRUE(p.empty());
}

}  // namespace
}  // namespace starling
