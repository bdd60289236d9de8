#pragma once
// Asks the CPU to start loading memory that will be read soon. A hint only: no fault, no effect
// on what the program computes, free to drop.

#include <cstddef>

namespace starling {

inline constexpr std::size_t cache_line = 64;

/// Starts loading every cache line of the `size` bytes at `address`, for writing.
inline void prefetch_for_write(const void* address, std::size_t size) noexcept {
  const char* bytes = static_cast<const char*>(address);
  for (std::size_t offset = 0; offset < size; offset += cache_line)
    __builtin_prefetch(bytes + offset, 1);
}

}  // namespace starling
