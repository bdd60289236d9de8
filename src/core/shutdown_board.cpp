#include "core/shutdown_board.hpp"

#include <algorithm>
#include <utility>

namespace starling {

void shutdown_board::request_stop(int status, std::string reason) {
  scoped_lock lock(mutex_);
  if (!request_) request_ = request{status, std::move(reason)};
}

std::optional<shutdown_board::request> shutdown_board::requested() const {
  scoped_lock lock(mutex_);
  return request_;
}

void shutdown_board::watch(handle_t h) {
  scoped_lock lock(mutex_);
  if (std::find(watchers_.begin(), watchers_.end(), h) == watchers_.end()) watchers_.push_back(h);
  any_watchers_.store(true, std::memory_order_release);
}

void shutdown_board::done(handle_t h) {
  scoped_lock lock(mutex_);
  std::erase(watchers_, h);
  any_watchers_.store(!watchers_.empty(), std::memory_order_release);
}

bool shutdown_board::watching(handle_t h) const {
  scoped_lock lock(mutex_);
  return std::find(watchers_.begin(), watchers_.end(), h) != watchers_.end();
}

std::vector<handle_t> shutdown_board::watchers() const {
  scoped_lock lock(mutex_);
  return watchers_;
}

void shutdown_board::forget(handle_t h) {
  if (!any_watchers_.load(std::memory_order_acquire)) return;
  done(h);
}

}  // namespace starling
