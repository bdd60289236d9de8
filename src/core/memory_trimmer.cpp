#include "core/memory_trimmer.hpp"

#include <algorithm>
#include <utility>

#if defined(__GLIBC__)
#include <malloc.h>
#endif

namespace starling {

namespace {

void trim_heap() {
#if defined(__GLIBC__)
  malloc_trim(0);
#endif
}

}  // namespace

memory_trimmer::memory_trimmer(length_fn length, trim_fn trim, std::chrono::milliseconds interval)
    : length_(std::move(length)),
      trim_(trim ? std::move(trim) : trim_fn(trim_heap)),
      interval_(interval),
      thread_([this] { run(); }) {}

memory_trimmer::~memory_trimmer() {
  stop();
}

void memory_trimmer::watch(handle_t service) {
  scoped_lock lock(mutex_);
  if (std::find(watched_.begin(), watched_.end(), service) == watched_.end()) {
    watched_.push_back(service);
  }
  wake_.notify_one();
}

void memory_trimmer::request() {
  scoped_lock lock(mutex_);
  requested_ = true;
  wake_.notify_one();
}

void memory_trimmer::stop() {
  {
    scoped_lock lock(mutex_);
    if (stopping_) return;
    stopping_ = true;
  }
  wake_.notify_one();
  thread_.join();
}

void memory_trimmer::run() {
  mutex_lock lock(mutex_);
  for (;;) {
    // Nothing to wait for: sleep until told. Otherwise look again every interval, which is
    // also the least time between two trims.
    while (!stopping_ && !requested_ && watched_.empty())
      lock.wait(wake_);
    if (stopping_) return;
    const auto until = std::chrono::steady_clock::now() + interval_;
    // The interval runs out unless we are stopped: other wake-ups go back to waiting.
    while (!stopping_ && lock.wait_until(wake_, until))
      continue;
    if (stopping_) return;
    std::vector<handle_t> watched = watched_;
    lock.unlock();
    std::vector<handle_t> drained;
    for (handle_t service : watched) {
      const std::optional<std::size_t> length = length_(service);
      if (!length || *length < drained_length) drained.push_back(service);
    }
    lock.lock();
    std::erase_if(watched_, [&](handle_t service) {
      return std::find(drained.begin(), drained.end(), service) != drained.end();
    });
    if (drained.empty() && !requested_) continue;
    requested_ = false;
    lock.unlock();
    trim_();
    lock.lock();
  }
}

}  // namespace starling
