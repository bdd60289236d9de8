#include "core/timer.hpp"

#include <gtest/gtest.h>

#include <mutex>
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
