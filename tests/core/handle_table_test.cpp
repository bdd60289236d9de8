#include "core/handle_table.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <latch>
#include <memory>
#include <random>
#include <thread>
#include <vector>

#include "../support/test_services.hpp"

namespace starling {
namespace {

using testing::eventually;

struct item : std::enable_shared_from_this<item> {
  handle_t h = 0;
  handle_t handle() const { return h; }
  void set_handle(handle_t value) { h = value; }
};

TEST(handle_table, sequential_launches_get_consecutive_handles) {
  handle_table<item> table(0);
  for (handle_t expected = 1; expected <= 20; ++expected) {
    auto v = std::make_shared<item>();
    EXPECT_EQ(table.insert(v), expected);
    EXPECT_EQ(v->handle(), expected) << "the value learns its handle";
  }
  EXPECT_EQ(table.live(), 20U);
}

TEST(handle_table, harbor_id_in_high_bits) {
  handle_table<item> table(2);
  EXPECT_EQ(table.insert(std::make_shared<item>()), 0x02000001U);
  EXPECT_TRUE(table.grab(0x02000001));
  EXPECT_FALSE(table.grab(0x00000001)) << "same local id, other harbor";
}

TEST(handle_table, retired_handles_are_not_reused) {
  handle_table<item> table(0);
  const handle_t a = table.insert(std::make_shared<item>());
  const handle_t b = table.insert(std::make_shared<item>());
  ASSERT_TRUE(table.retire(b));
  EXPECT_FALSE(table.grab(b));
  EXPECT_FALSE(table.retire(b)) << "retiring twice is a no-op";
  EXPECT_EQ(table.insert(std::make_shared<item>()), b + 1);
  EXPECT_TRUE(table.grab(a));
}

TEST(handle_table, skips_values_whose_slot_is_held) {
  handle_table<item> table(0);
  // Fill 1..4 (table size 4), retire 2..4: handle 1 still holds slot 1 of 4.
  for (int i = 0; i < 4; ++i)
    table.insert(std::make_shared<item>());
  for (handle_t h = 2; h <= 4; ++h)
    table.retire(h);
  // Next candidate 5 maps to slot 1 (taken by handle 1), so 6 is chosen.
  EXPECT_EQ(table.insert(std::make_shared<item>()), 6U);
}

TEST(handle_table, grows_past_the_initial_size) {
  handle_table<item> table(0);
  for (int i = 0; i < 1000; ++i)
    table.insert(std::make_shared<item>());
  for (handle_t h = 1; h <= 1000; ++h)
    ASSERT_TRUE(table.grab(h)) << h;
  EXPECT_EQ(table.handles().size(), 1000U);
}

TEST(handle_table, names_first_registration_wins) {
  handle_table<item> table(0);
  const handle_t a = table.insert(std::make_shared<item>());
  const handle_t b = table.insert(std::make_shared<item>());
  EXPECT_TRUE(table.bind_name("launcher", a));
  EXPECT_FALSE(table.bind_name("launcher", b));
  EXPECT_EQ(table.find_name("launcher"), a);
  EXPECT_FALSE(table.find_name("nobody"));
}

TEST(handle_table, one_handle_two_names_removed_on_retire) {
  handle_table<item> table(0);
  const handle_t a = table.insert(std::make_shared<item>());
  EXPECT_TRUE(table.bind_name("x", a));
  EXPECT_TRUE(table.bind_name("y", a));
  EXPECT_EQ(table.find_name("x"), a);
  EXPECT_EQ(table.find_name("y"), a);
  table.retire(a);
  EXPECT_FALSE(table.find_name("x"));
  EXPECT_FALSE(table.find_name("y"));
  EXPECT_FALSE(table.bind_name("z", a)) << "a dead handle cannot be named";
}

TEST(handle_table, retire_all_empties_the_table) {
  handle_table<item> table(0);
  for (int i = 0; i < 10; ++i)
    table.insert(std::make_shared<item>());
  table.bind_name("n", 3);
  auto all = table.retire_all();
  EXPECT_EQ(all.size(), 10U);
  EXPECT_EQ(all.front()->handle(), 1U);
  EXPECT_EQ(table.live(), 0U);
  EXPECT_FALSE(table.find_name("n"));
}

TEST(handle_table, visit_reaches_live_values_only) {
  handle_table<item> table(0);
  const handle_t a = table.insert(std::make_shared<item>());
  handle_t seen = 0;
  EXPECT_TRUE(table.visit(a, [&](item& v) { seen = v.handle(); }));
  EXPECT_EQ(seen, a);
  EXPECT_FALSE(table.visit(a + 1, [](item&) { FAIL() << "no such handle"; }));
  table.retire(a);
  EXPECT_FALSE(table.visit(a, [](item&) { FAIL() << "retired"; }));
}

TEST(handle_table, a_handle_sharing_the_slot_of_another_is_not_found) {
  handle_table<item> table(0);
  const handle_t a = table.insert(std::make_shared<item>());  // table size 4: slot 1
  EXPECT_FALSE(table.grab(a + 4)) << "same slot, not the handle it holds";
  EXPECT_FALSE(table.visit(a + 4, [](item&) {}));
}

TEST(handle_table, grab_holds_the_value_past_its_retirement) {
  handle_table<item> table(0);
  const handle_t a = table.insert(std::make_shared<item>());
  std::shared_ptr<item> held = table.grab(a);
  std::weak_ptr<item> watch = table.retire(a);
  EXPECT_FALSE(watch.expired());
  EXPECT_EQ(held->handle(), a);
  held.reset();
  EXPECT_TRUE(watch.expired());
}

TEST(handle_table, retire_waits_for_a_lookup_in_progress) {
  handle_table<item> table(0);
  const handle_t a = table.insert(std::make_shared<item>());
  std::latch inside(1);
  std::atomic<bool> leave{false};
  std::thread visitor([&] {
    table.visit(a, [&](item&) {
      inside.count_down();
      while (!leave.load())
        std::this_thread::yield();
    });
  });
  inside.wait();
  std::atomic<bool> retired{false};
  std::thread retirer([&] {
    EXPECT_TRUE(table.retire(a));
    retired = true;
  });
  ASSERT_TRUE(eventually([&] { return !table.grab(a); })) << "unlinked at once";
  // A negative can only be sampled: give the retirer time to return wrongly.
  std::this_thread::sleep_for(std::chrono::milliseconds(20));
  EXPECT_FALSE(retired) << "the value is still in use";
  leave = true;
  visitor.join();
  retirer.join();
  EXPECT_TRUE(retired);
}

/// A value that knows whether it is alive and how many lookups are inside `visit` with it.
struct tracked : std::enable_shared_from_this<tracked> {
  static constexpr std::uint64_t alive = 0x5eed5eed5eed5eed;
  handle_t h = 0;
  std::atomic<std::uint64_t> state{alive};
  std::atomic<int> visitors{0};
  ~tracked() { state.store(0); }
  handle_t handle() const { return h; }
  void set_handle(handle_t value) { h = value; }
};

// Lookups from several threads while others launch and retire, growing the table: a lookup
// sees either nothing or the value that holds its handle, and a value is never handed back by
// retire (nor destroyed) while a lookup is still using it.
TEST(handle_table, lookups_during_launches_and_retirements) {
  constexpr int rounds = 4;  // a fresh table each round: its growth overlaps the lookups
  constexpr int writers = 2;
  constexpr int readers = 3;
  constexpr int launches_per_writer = 5'000;
  constexpr long enough_hits = 5'000;  // per round; writers go on until the readers have them
  std::atomic<int> failures{0};
  long total_hits = 0;

  for (int round = 0; round < rounds; ++round) {
    handle_table<tracked> table(0);
    std::latch start(writers + readers);
    std::atomic<handle_t> highest{1};
    std::atomic<int> writers_done{0};
    std::atomic<long> hits{0};
    std::vector<std::thread> threads;
    for (int w = 0; w < writers; ++w) {
      threads.emplace_back([&, w] {
        std::mt19937 random(static_cast<unsigned>(round * 10 + w));
        std::vector<handle_t> mine;
        start.arrive_and_wait();
        for (int i = 0;
             i < launches_per_writer || (hits.load() < enough_hits && i < 50 * launches_per_writer);
             ++i) {
          const handle_t h = table.insert(std::make_shared<tracked>());
          for (handle_t seen = highest.load();
               seen < h && !highest.compare_exchange_weak(seen, h);) {
          }
          mine.push_back(h);
          // Up to a few hundred live per writer, retired in random order.
          if (mine.size() > 300 || (random() & 1)) {
            const std::size_t k = random() % mine.size();
            std::shared_ptr<tracked> gone = table.retire(mine[k]);
            if (!gone || gone->visitors.load() != 0) failures.fetch_add(1);
            mine[k] = mine.back();
            mine.pop_back();
          }
        }
        for (handle_t h : mine)
          table.retire(h);
        writers_done.fetch_add(1);
      });
    }
    for (int r = 0; r < readers; ++r) {
      threads.emplace_back([&, r] {
        std::mt19937 random(static_cast<unsigned>(round * 10 + 5 + r));
        start.arrive_and_wait();
        while (writers_done.load() < writers) {
          // Around the newest handles, where most live ones are, and a little past them.
          const handle_t top = highest.load();
          const handle_t h =
              top + 8 - static_cast<handle_t>(random() % std::min<handle_t>(top, 1000));
          auto check = [&](const tracked& v) {
            if (v.handle() != h || v.state.load() != tracked::alive) failures.fetch_add(1);
          };
          if (random() & 1) {
            const bool found = table.visit(h, [&](tracked& v) {
              v.visitors.fetch_add(1);
              check(v);
              if (random() % 64 == 0) std::this_thread::yield();  // a reader losing its core
              check(v);
              v.visitors.fetch_sub(1);
            });
            if (found) hits.fetch_add(1);
          } else if (std::shared_ptr<tracked> held = table.grab(h)) {
            check(*held);
            hits.fetch_add(1);
          }
        }
      });
    }
    for (std::thread& t : threads)
      t.join();
    EXPECT_EQ(table.live(), 0U);
    total_hits += hits.load();
  }
  EXPECT_EQ(failures.load(), 0);
  EXPECT_GE(total_hits, rounds * enough_hits) << "the readers found live values";
}

}  // namespace
}  // namespace starling
