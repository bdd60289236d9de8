#include "base/clock.hpp"

#include <gtest/gtest.h>

#include <ctime>

namespace starling {
namespace {

TEST(clock, monotonic_never_goes_back) {
  std::uint64_t previous = monotonic_ns();
  for (int i = 0; i < 1000; ++i) {
    std::uint64_t now = monotonic_ns();
    ASSERT_GE(now, previous);
    previous = now;
  }
}

TEST(clock, wall_clock_matches_time) {
  auto seconds = std::chrono::duration_cast<std::chrono::seconds>(wall_clock_ns()).count();
  EXPECT_LE(std::abs(seconds - static_cast<long>(std::time(nullptr))), 1);
}

TEST(clock, thread_cpu_advances_with_work) {
  std::uint64_t start = thread_cpu_ns();
  volatile std::uint64_t sink = 0;
  for (int i = 0; i < 10'000'000; ++i)
    sink = sink + static_cast<std::uint64_t>(i);
  EXPECT_GT(thread_cpu_ns(), start);
}

}  // namespace
}  // namespace starling
