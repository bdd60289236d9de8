#pragma once
// How a node asks glibc's malloc to behave (docs/DESIGN.md, "malloc's fast bins").
//
// glibc keeps small freed chunks in fast bins without merging them, and merges them all at
// once (malloc_consolidate, with the arena's lock held) when a larger request comes. After a
// burst of small frees (10,000 coroutine frames, a Lua collection) that walk took 2-5 ms, and
// every thread that needed the arena meanwhile waited, the timer's firer among them: idle
// timers came late in clusters. Fast bins are turned off; the per-thread cache in front of
// them (tcache) still serves small allocations without a lock.

namespace starling {

/// Turns glibc's fast bins off, once per process, unless GLIBC_TUNABLES sets their size.
/// Any thread.
void apply_malloc_policy();

}  // namespace starling
