#include "core/timer.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <mutex>
#include <thread>
#include <vector>

#include "../support/test_services.hpp"
#include "base/clock.hpp"

namespace starling {
namespace {

struct fired_log {
  std::mutex mutex;
  std::vector<std::int32_t> sessions;
  void add(std::int32_t s) {
    std::lock_guard lock(mutex);
    sessions.push_back(s);
  }
  std::vector<std::int32_t> get() {
    std::lock_guard lock(mutex);
    return sessions;
  }
};

TEST(timer, equal_deadlines_fire_in_registration_order) {
  fired_log fired;
  timer t([&](handle_t, std::int32_t s) { fired.add(s); }, nullptr);
  const std::uint64_t deadline = monotonic_ns() + 20'000'000;
  for (std::int32_t s = 1; s <= 100; ++s)
    t.add(deadline, 1, s);
  ASSERT_TRUE(testing::eventually([&] { return fired.get().size() == 100; }));
  auto got = fired.get();
  for (std::int32_t s = 1; s <= 100; ++s)
    EXPECT_EQ(got[static_cast<std::size_t>(s - 1)], s);
}

TEST(timer, earlier_deadline_added_later_fires_first) {
  fired_log fired;
  timer t([&](handle_t, std::int32_t s) { fired.add(s); }, nullptr);
  const std::uint64_t now = monotonic_ns();
  t.add(now + 200'000'000, 1, 2);
  t.add(now + 10'000'000, 1, 1);
  ASSERT_TRUE(testing::eventually([&] { return fired.get().size() == 2; }));
  EXPECT_EQ(fired.get(), (std::vector<std::int32_t>{1, 2}));
}

TEST(timer, interleaved_deadlines_fire_by_deadline_then_registration) {
  fired_log fired;
  timer t([&](handle_t, std::int32_t s) { fired.add(s); }, nullptr);
  const std::uint64_t now = monotonic_ns();
  const std::uint64_t late = now + 30'000'000;
  const std::uint64_t early = now + 20'000'000;
  // Alternating between two grid slots, then a third one between them.
  for (std::int32_t s = 1; s <= 6; ++s)
    t.add(s % 2 == 1 ? late : early, 1, s);
  t.add(now + 25'000'000, 1, 7);
  ASSERT_TRUE(testing::eventually([&] { return fired.get().size() == 7; }));
  EXPECT_EQ(fired.get(), (std::vector<std::int32_t>{2, 4, 6, 7, 1, 3, 5}));
  EXPECT_EQ(t.pending(), 0U);
}

TEST(timer, many_slots_come_and_go) {
  // Slots are created and fired over and over (their vectors recycled): every entry fires once.
  std::atomic<int> count{0};
  timer t([&](handle_t, std::int32_t) { ++count; }, nullptr);
  for (int round = 0; round < 20; ++round) {
    const std::uint64_t base = monotonic_ns();
    for (int i = 0; i < 500; ++i)
      t.add(base + static_cast<std::uint64_t>(i % 100) * timer::resolution_ns, 1, i + 1);
  }
  ASSERT_TRUE(testing::eventually([&] { return count.load() == 20 * 500; }));
  EXPECT_EQ(t.pending(), 0U);
}

TEST(timer, never_fires_early) {
  // The target field indexes the deadline so the callback can check it.
  std::vector<std::uint64_t> deadlines;
  const std::uint64_t base = monotonic_ns() + 5'000'000;
  for (int i = 0; i < 200; ++i)
    deadlines.push_back(base + static_cast<std::uint64_t>(i % 20) * 1'000'000);
  std::atomic<int> early{0};
  std::atomic<int> count{0};
  timer t(
      [&](handle_t index, std::int32_t) {
        if (monotonic_ns() < deadlines[index]) ++early;
        ++count;
      },
      nullptr);
  for (std::size_t i = 0; i < deadlines.size(); ++i) {
    t.add(deadlines[i], static_cast<handle_t>(i), static_cast<std::int32_t>(i));
  }
  ASSERT_TRUE(testing::eventually([&] { return count.load() == 200; }));
  EXPECT_EQ(early.load(), 0);
}

TEST(timer, an_idle_caller_waits_for_the_firer_a_busy_one_does_not) {
  // A firer stuck inside a delivery (preempted, say) holds the others back. A busy worker must
  // not wait for it; an idle one must, and then find nothing due left: if it only tried, it
  // would wake for the same due deadline over and over and keep the firer from its core.
  std::atomic<bool> release{false};
  std::atomic<bool> stuck{false};
  fired_log fired;
  timer t(
      [&](handle_t, std::int32_t s) {
        if (s == 1) {
          stuck.store(true);
          while (!release.load())
            std::this_thread::yield();
        }
        fired.add(s);
      },
      [](std::uint64_t) { return true; });  // workers cover: the thread leaves entries a grace
  const std::uint64_t now = monotonic_ns();
  t.add(now, 1, 1);
  std::thread firer([&] { t.fire_due(timer::firer::skip); });
  ASSERT_TRUE(testing::eventually([&] { return stuck.load(); }));
  const std::uint64_t second = monotonic_ns() + timer::resolution_ns;
  t.add(second, 1, 2);
  while (!t.due(monotonic_ns()))
    std::this_thread::yield();

  t.fire_due(timer::firer::skip);  // returns at once, with 2 still due
  EXPECT_EQ(fired.get(), std::vector<std::int32_t>{});

  std::atomic<bool> waited{false};
  std::thread idle([&] {
    t.fire_due(timer::firer::wait);
    waited.store(true);
  });
  std::this_thread::sleep_for(std::chrono::milliseconds(20));
  EXPECT_FALSE(waited.load());  // still behind the stuck firer
  release.store(true);
  idle.join();
  firer.join();
  EXPECT_EQ(fired.get(), (std::vector<std::int32_t>{1, 2}));  // all fired, in order
  EXPECT_EQ(t.pending(), 0U);
}

TEST(timer, stop_drops_pending_entries) {
  std::atomic<int> count{0};
  timer t([&](handle_t, std::int32_t) { ++count; }, nullptr);
  t.add(monotonic_ns() + 60'000'000'000ULL, 1, 1);
  EXPECT_EQ(t.pending(), 1U);
  t.stop();
  t.stop();
  EXPECT_EQ(count.load(), 0);
}

}  // namespace
}  // namespace starling
