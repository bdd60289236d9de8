#include "core/malloc_policy.hpp"

#include <gtest/gtest.h>
#include <malloc.h>

#include <cstdlib>
#include <vector>

namespace starling {
namespace {

TEST(malloc_policy, small_frees_stay_out_of_fast_bins) {
  // Past the per-thread cache (7 chunks a size), small frees used to go to the fast bins,
  // which malloc_consolidate later walks with the arena locked.
  apply_malloc_policy();
  apply_malloc_policy();  // once per process; a second call changes nothing
  std::vector<void*> blocks;
  for (int i = 0; i < 1000; ++i)
    blocks.push_back(std::malloc(48));
  for (void* block : blocks)
    std::free(block);
  EXPECT_EQ(mallinfo2().fsmblks, 0U);
}

}  // namespace
}  // namespace starling
