#include "core/pin_board.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <functional>
#include <thread>
#include <vector>

#include "../support/test_services.hpp"

namespace starling {
namespace {

using testing::eventually;

TEST(pin_board, wait_returns_at_once_when_nothing_is_pinned) {
  pin_board board;
  int object = 0;
  board.wait_unpinned(&object);
  const std::vector<const void*> none;
  board.wait_unpinned(none);
}

TEST(pin_board, pins_held_together_take_different_slots) {
  pin_board board;
  int a = 0;
  int b = 0;
  const std::size_t first = board.pin(&a);
  const std::size_t second = board.pin(&b);
  const std::size_t again = board.pin(&a);
  EXPECT_NE(first, second);
  EXPECT_NE(first, again);
  EXPECT_NE(second, again);
  board.unpin(first);
  board.unpin(second);
  board.unpin(again);
  board.wait_unpinned(&a);
}

TEST(pin_board, wait_lasts_until_the_pin_is_gone) {
  pin_board board;
  int object = 0;
  int other = 0;
  const std::size_t slot = board.pin(&object);
  const std::size_t unrelated = board.pin(&other);
  std::atomic<bool> returned{false};
  std::thread waiter([&] {
    board.wait_unpinned(&object);
    returned = true;
  });
  // A negative can only be sampled: give the waiter time to return wrongly.
  std::this_thread::sleep_for(std::chrono::milliseconds(20));
  EXPECT_FALSE(returned);
  board.unpin(slot);
  EXPECT_TRUE(eventually([&] { return returned.load(); }));
  waiter.join();
  board.unpin(unrelated);
}

TEST(pin_board, wait_for_many_watches_every_listed_object) {
  pin_board board;
  int objects[3] = {};
  std::vector<const void*> sorted{&objects[0], &objects[1], &objects[2]};
  std::sort(sorted.begin(), sorted.end(), std::less<>());
  const std::size_t slot = board.pin(&objects[1]);
  std::atomic<bool> returned{false};
  std::thread waiter([&] {
    board.wait_unpinned(sorted);
    returned = true;
  });
  std::this_thread::sleep_for(std::chrono::milliseconds(20));
  EXPECT_FALSE(returned);
  board.unpin(slot);
  EXPECT_TRUE(eventually([&] { return returned.load(); }));
  waiter.join();
}

TEST(pin_board, more_threads_than_slots_share_them) {
  pin_board board;
  constexpr int threads = static_cast<int>(pin_board::slot_count) + 16;
  std::atomic<int> inside{0};
  std::atomic<int> most_inside{0};
  int object = 0;
  std::vector<std::thread> pool;
  for (int t = 0; t < threads; ++t) {
    pool.emplace_back([&] {
      for (int i = 0; i < 200; ++i) {
        const std::size_t slot = board.pin(&object);
        const int now = inside.fetch_add(1) + 1;
        int seen = most_inside.load();
        while (now > seen && !most_inside.compare_exchange_weak(seen, now)) {
        }
        inside.fetch_sub(1);
        board.unpin(slot);
      }
    });
  }
  for (std::thread& t : pool)
    t.join();
  EXPECT_LE(most_inside.load(), static_cast<int>(pin_board::slot_count));
  board.wait_unpinned(&object);  // every slot is free again
}

}  // namespace
}  // namespace starling
