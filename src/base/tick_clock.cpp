#include "base/tick_clock.hpp"

#include <fstream>
#include <string>

namespace starling::detail {

namespace {

bool kernel_keeps_time_with_tsc() {
#if defined(__x86_64__)
  std::ifstream source("/sys/devices/system/clocksource/clocksource0/current_clocksource");
  std::string name;
  return static_cast<bool>(source >> name) && name == "tsc";
#else
  return false;
#endif
}

}  // namespace

const bool ticks_from_tsc = kernel_keeps_time_with_tsc();

}  // namespace starling::detail
