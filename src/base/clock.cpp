#include "base/clock.hpp"

#include <ctime>

#if defined(__linux__)
#include <sys/prctl.h>
#endif

namespace starling {

namespace {

std::uint64_t read_ns(clockid_t clock) noexcept {
  timespec ts{};
  clock_gettime(clock, &ts);
  return static_cast<std::uint64_t>(ts.tv_sec) * 1'000'000'000U +
         static_cast<std::uint64_t>(ts.tv_nsec);
}

}  // namespace

std::uint64_t monotonic_ns() noexcept {
  return read_ns(CLOCK_MONOTONIC);
}

std::chrono::nanoseconds wall_clock_ns() noexcept {
  return std::chrono::nanoseconds(read_ns(CLOCK_REALTIME));
}

std::uint64_t thread_cpu_ns() noexcept {
  return read_ns(CLOCK_THREAD_CPUTIME_ID);
}

void use_precise_timers() noexcept {
#if defined(__linux__)
  (void)prctl(PR_SET_TIMERSLACK, 1UL);  // 0 would mean "the default" again
#endif
}

}  // namespace starling
