#pragma once
// A clock for proportions within one thread, cheaper than any system clock: the time-stamp
// counter on x86-64 when the kernel itself keeps time with it (it then found the counter
// constant and synchronized across cores), else the monotonic clock. Its unit is unknown:
// compare two readings of one thread, or convert with a rate measured against another clock.
// Thread contract: any thread.

#include <cstdint>

#if defined(__x86_64__)
#include <x86intrin.h>
#endif

#include "base/clock.hpp"

namespace starling {

namespace detail {
/// Whether tick_now() reads the time-stamp counter (decided once, at start-up).
extern const bool ticks_from_tsc;
}  // namespace detail

[[nodiscard]] inline std::uint64_t tick_now() noexcept {
#if defined(__x86_64__)
  if (detail::ticks_from_tsc) return __rdtsc();
#endif
  return monotonic_ns();
}

}  // namespace starling
