#pragma once
// Clocks used by the runtime. Thread contract: every function is safe from any thread.

#include <chrono>
#include <cstdint>

namespace starling {

/// One tick is 1/100 s, skynet's unit for timers and `now`.
using ticks = std::chrono::duration<std::int64_t, std::centi>;

/// Monotonic nanoseconds since an arbitrary epoch (skynet.hpc).
[[nodiscard]] std::uint64_t monotonic_ns() noexcept;

/// Wall-clock time since the Unix epoch.
[[nodiscard]] std::chrono::nanoseconds wall_clock_ns() noexcept;

/// CPU time consumed by the calling thread, in nanoseconds.
[[nodiscard]] std::uint64_t thread_cpu_ns() noexcept;

/// Makes the calling thread's timed waits end at their deadline: Linux lets a normal thread's
/// wait run 50 us late by default (its timer slack) to batch wake-ups, a quarter of a worker's
/// timer lateness. For the threads that fire timers.
void use_precise_timers() noexcept;

}  // namespace starling
