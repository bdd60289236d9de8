#include "core/cpu_meter.hpp"

#include "core/context.hpp"

namespace starling {

cpu_meter& cpu_meter::local() noexcept {
  thread_local cpu_meter meter;
  return meter;
}

void cpu_meter::open_window() {
  window_cpu_start_ = thread_cpu_ns();
  window_start_ = tick_now();
  if (!open_) {
    first_tick_ = window_start_;
    first_ns_ = monotonic_ns();
    open_ = true;
  }
}

cpu_meter::entry* cpu_meter::find(context& target) {
  for (std::size_t i = 0; i < used_; ++i) {
    if (entries_[i].target.get() == &target) return &entries_[i];
  }
  if (used_ == entries_.size()) return nullptr;
  entry& fresh = entries_[used_++];
  fresh.target = target.shared_from_this();
  fresh.ticks = 0;
  return &fresh;
}

void cpu_meter::charge(context& target, std::uint64_t start) {
  const std::uint64_t end = tick_now();
  entry* e = find(target);
  if (e == nullptr) {
    settle();
    e = find(target);
  }
  // A counter that went back (a thread moved between cores whose counters disagree) gives 0.
  e->ticks += end > start ? end - start : 0;
  if (++messages_ == window_messages) settle();
}

void cpu_meter::settle() {
  if (!open_) return;  // profiling is off, or this thread has run no message yet
  const std::uint64_t cpu_now = thread_cpu_ns();
  const std::uint64_t ticks_now = tick_now();
  const std::uint64_t cpu = cpu_now - window_cpu_start_;
  const std::uint64_t window = ticks_now > window_start_ ? ticks_now - window_start_ : 0;
  const double cpu_per_tick =
      window != 0 ? static_cast<double>(cpu) / static_cast<double>(window) : 0.0;
  for (std::size_t i = 0; i < used_; ++i) {
    entry& e = entries_[i];
    const std::uint64_t charged = e.ticks < window ? e.ticks : window;
    e.target->add_cpu(static_cast<std::uint64_t>(static_cast<double>(charged) * cpu_per_tick));
    e.target.reset();
  }
  used_ = 0;
  messages_ = 0;
  window_cpu_start_ = cpu_now;
  window_start_ = ticks_now;
}

std::uint64_t cpu_meter::elapsed_ns(std::uint64_t start) const {
  const std::uint64_t now = tick_now();
  const std::uint64_t ns = monotonic_ns();
  if (now <= start || now <= first_tick_) return 0;
  const double ns_per_tick =
      static_cast<double>(ns - first_ns_) / static_cast<double>(now - first_tick_);
  return static_cast<std::uint64_t>(static_cast<double>(now - start) * ns_per_tick);
}

}  // namespace starling
