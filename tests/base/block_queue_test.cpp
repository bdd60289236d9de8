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
