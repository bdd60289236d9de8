#include "core/stall_monitor.hpp"

#include <utility>

namespace starling {

stall_monitor::stall_monitor(std::vector<worker_probe>& probes, std::chrono::milliseconds interval,
                             report_fn report)
    : probes_(probes),
      interval_(interval),
      report_(std::move(report)),
      thread_([this] { run(); }) {}

stall_monitor::~stall_monitor() {
  stop();
}

void stall_monitor::check() {
  checker_.claim();
  for (worker_probe& probe : probes_) {
    const std::uint32_t version = probe.version_.load(std::memory_order_acquire);
    if (version != probe.checked_version_) {
      probe.checked_version_ = version;
      continue;
    }
    const handle_t dest = probe.dest_.load(std::memory_order_relaxed);
    if (dest != 0) report_(probe.source_.load(std::memory_order_relaxed), dest, version);
  }
}

void stall_monitor::stop() {
  {
    scoped_lock lock(mutex_);
    if (stopping_) return;
    stopping_ = true;
  }
  wake_.notify_one();
  thread_.join();
}

void stall_monitor::run() {
  mutex_lock lock(mutex_);
  for (;;) {
    const auto until = std::chrono::steady_clock::now() + interval_;
    // The interval runs out unless we are stopped: other wake-ups go back to waiting.
    while (!stopping_ && lock.wait_until(wake_, until))
      continue;
    if (stopping_) return;
    lock.unlock();
    check();
    lock.lock();
  }
}

}  // namespace starling
