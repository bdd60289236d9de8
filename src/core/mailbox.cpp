#include "core/mailbox.hpp"

#include <mutex>
#include <utility>

namespace starling {

mailbox::push_result mailbox::push(message& msg) {
  std::lock_guard guard(lock_);
  if (closed_) return push_result::closed;
  queue_.push(std::move(msg));
  if (scheduled_) return push_result::queued;
  scheduled_ = true;
  return push_result::schedule;
}

bool mailbox::activate() {
  std::lock_guard guard(lock_);
  if (queue_.empty() || closed_) {
    scheduled_ = false;
    return false;
  }
  return true;
}

bool mailbox::pop(message& out, std::size_t& remaining, std::optional<std::size_t>& overload) {
  std::lock_guard guard(lock_);
  if (!queue_.pop(out)) {
    scheduled_ = false;
    overload_threshold_ = initial_overload_threshold;
    return false;
  }
  remaining = queue_.size();
  if (remaining > overload_threshold_) {
    while (remaining > overload_threshold_)
      overload_threshold_ *= 2;
    overload = remaining;
  }
  return true;
}

bool mailbox::release_if_empty() {
  std::lock_guard guard(lock_);
  if (!queue_.empty()) return false;
  scheduled_ = false;
  overload_threshold_ = initial_overload_threshold;
  return true;
}

block_queue<message> mailbox::close() {
  std::lock_guard guard(lock_);
  closed_ = true;
  return std::exchange(queue_, block_queue<message>());
}

std::size_t mailbox::size() {
  std::lock_guard guard(lock_);
  return queue_.size();
}

}  // namespace starling
