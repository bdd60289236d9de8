#pragma once
// Recycles coroutine frames: every request a native service handles starts a coroutine, and
// a frame from a per-thread free list costs far less than a trip through malloc.
// Thread contract: any thread; a frame freed on another thread joins that thread's list.

#include <cstddef>

namespace starling::detail {

[[nodiscard]] void* allocate_frame(std::size_t size);
void free_frame(void* frame, std::size_t size) noexcept;

}  // namespace starling::detail
