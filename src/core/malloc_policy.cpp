#include "core/malloc_policy.hpp"

#include <malloc.h>

#include <cstdlib>
#include <cstring>
#include <mutex>

namespace starling {

void apply_malloc_policy() {
  static std::once_flag once;
  std::call_once(once, [] {
    // Whoever sets the size in the environment has measured their own case.
    const char* tunables = std::getenv("GLIBC_TUNABLES");
    if (tunables != nullptr && std::strstr(tunables, "glibc.malloc.mxfast") != nullptr) return;
    mallopt(M_MXFAST, 0);
  });
}

}  // namespace starling
