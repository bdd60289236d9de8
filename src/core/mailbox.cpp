#include "core/mailbox.hpp"

#include <mutex>
#include <utility>

#include "core/socket_message.hpp"

namespace starling {

mailbox::~mailbox() {
  message msg;
  while (batch_.pop(msg))
    release_socket_buffer(msg);
  while (queue_.pop(msg))
    release_socket_buffer(msg);
}

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
  if (!batch_.empty()) {
    batch_.pop(out);
    remaining = batch_.size();
    batch_size_.store(remaining, std::memory_order_relaxed);
    return true;
  }
  {
    std::lock_guard guard(lock_);
    if (queue_.empty()) {
      go_idle();
      return false;
    }
    if (queue_.size() == 1) {
      // A lone message (a call, a reply) is cheaper to pop in place than to swap.
      queue_.pop(out);
      remaining = 0;
      return true;
    }
    // The senders get the batch's emptied block, if it kept one, so neither side allocates.
    std::swap(batch_, queue_);
    batch_has_block_ = true;
    batch_out_ = true;
    batch_.pop(out);
    remaining = batch_.size();
    // Under the lock, so that size() never sees the batch in neither place.
    batch_size_.store(remaining, std::memory_order_relaxed);
  }
  if (remaining > overload_threshold_) {
    while (remaining > overload_threshold_)
      overload_threshold_ *= 2;
    overload = remaining;
  }
  return true;
}

bool mailbox::release_if_empty() {
  if (!batch_.empty()) return false;
  std::lock_guard guard(lock_);
  if (!queue_.empty()) return false;
  go_idle();
  return true;
}

void mailbox::go_idle() {
  scheduled_ = false;
  batch_out_ = false;
  overload_threshold_ = initial_overload_threshold;
  // An idle mailbox needs one block, not one on each side: keep the batch's (the queue's, if
  // any, goes back to the heap).
  if (batch_has_block_) {
    queue_ = std::move(batch_);
    batch_has_block_ = false;
  }
}

message_queue mailbox::close() {
  std::lock_guard guard(lock_);
  closed_ = true;
  if (batch_out_) return {};
  return std::exchange(queue_, message_queue());
}

std::size_t mailbox::size() {
  std::lock_guard guard(lock_);
  return queue_.size() + batch_size_.load(std::memory_order_relaxed);
}

}  // namespace starling
