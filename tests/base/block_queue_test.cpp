#include "base/block_queue.hpp"

#include <gtest/gtest.h>

#include <deque>
#include <memory>
#include <random>

namespace starling {
namespace {

TEST(block_queue, fifo_across_blocks) {
  block_queue<int, 4> q;
  for (int i = 0; i < 100; ++i)
    q.push(int{i});
  EXPECT_EQ(q.size(), 100U);
  int out = -1;
  for (int i = 0; i < 100; ++i) {
    ASSERT_TRUE(q.pop(out));
    ASSERT_EQ(out, i);
  }
  EXPECT_FALSE(q.pop(out));
  EXPECT_TRUE(q.empty());
}

TEST(block_queue, peek_sees_what_pop_will_return_across_blocks) {
  block_queue<int, 4> q;
  EXPECT_EQ(q.peek(0), nullptr);
  for (int i = 0; i < 10; ++i)
    q.push(int{i});
  int out = -1;
  ASSERT_TRUE(q.pop(out));
  ASSERT_TRUE(q.pop(out));  // the head is now in the middle of the first block
  for (std::size_t ahead = 0; ahead < 8; ++ahead) {
    const int* item = q.peek(ahead);
    ASSERT_NE(item, nullptr) << ahead;
    EXPECT_EQ(*item, static_cast<int>(ahead) + 2);
  }
  EXPECT_EQ(q.peek(8), nullptr) << "past the newest";
  EXPECT_EQ(q.size(), 8U) << "peeking takes nothing";
  ASSERT_TRUE(q.pop(out));
  EXPECT_EQ(out, 2);
}

TEST(block_queue, matches_a_deque_under_random_push_and_pop) {
  block_queue<std::unique_ptr<int>, 4> q;
  std::deque<int> model;
  std::mt19937 rng(11);
  int next = 0;
  for (int step = 0; step < 100000; ++step) {
    if (rng() % 3 != 0) {
      q.push(std::make_unique<int>(next));
      model.push_back(next++);
    } else {
      std::unique_ptr<int> out;
      const bool got = q.pop(out);
      ASSERT_EQ(got, !model.empty());
      if (got) {
        ASSERT_EQ(*out, model.front());
        model.pop_front();
      }
    }
    ASSERT_EQ(q.size(), model.size());
  }
}

TEST(block_queue, move_hands_over_everything) {
  block_queue<int, 4> a;
  for (int i = 0; i < 10; ++i)
    a.push(int{i});
  block_queue<int, 4> b = std::move(a);
  EXPECT_TRUE(a.empty());  // NOLINT(bugprone-use-after-move): the moved-from state is specified
  a.push(42);
  int out = 0;
  ASSERT_TRUE(a.pop(out));
  EXPECT_EQ(out, 42);
  for (int i = 0; i < 10; ++i) {
    ASSERT_TRUE(b.pop(out));
    EXPECT_EQ(out, i);
  }
}

TEST(block_queue, a_million_items_free_without_recursion) {
  block_queue<int> q;
  for (int i = 0; i < 1'000'000; ++i)
    q.push(int{i});
  EXPECT_EQ(q.size(), 1'000'000U);
}  // destruction of the 62 500-block chain must not overflow the stack

}  // namespace
}  // namespace starling
