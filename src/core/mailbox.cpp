#include "core/mailbox.hpp"

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

bool mailbox::limited(const message& msg) noexcept {
  return msg.type != ptype::response && msg.type != ptype::error && msg.type != ptype::socket;
}

mailbox::push_outcome mailbox::push(message& msg) {
  push_outcome out;
  scoped_lock guard(lock_);
  if (closed_) {
    out.result = push_result::closed;
    return out;
  }
  if (limit_ != 0 && limited(msg) &&
      queue_.size() + batch_size_.load(std::memory_order_relaxed) >= limit_) [[unlikely]] {
    out.result = push_result::full;
    out.refused = ++refused_;
    return out;
  }
  queue_.push(std::move(msg));
  const std::size_t queued = queue_.size();
  queue_size_.store(queued, std::memory_order_relaxed);
  // The senders' half only: reading the worker's batch length on every push would pull its
  // cache line over for each message. The batch was this queue once, and was checked then.
  if (queued > overload_threshold_) [[unlikely]] {
    while (queued > overload_threshold_)
      overload_threshold_ *= 2;
    out.overload = queued + batch_size_.load(std::memory_order_relaxed);
  }
  if (!scheduled_) {
    scheduled_ = true;
    out.result = push_result::schedule;
  }
  return out;
}

void mailbox::set_limit(std::size_t length) {
  scoped_lock guard(lock_);
  limit_ = length;
}

std::size_t mailbox::limit() {
  scoped_lock guard(lock_);
  return limit_;
}

bool mailbox::activate() {
  scoped_lock guard(lock_);
  if (queue_.empty() || closed_) {
    scheduled_ = false;
    return false;
  }
  return true;
}

bool mailbox::pop(message& out, std::size_t& remaining) {
  if (!batch_.empty()) {
    batch_.pop(out);
    remaining = batch_.size();
    batch_size_.store(remaining, std::memory_order_relaxed);
    return true;
  }
  {
    scoped_lock guard(lock_);
    if (queue_.empty()) {
      go_idle();
      return false;
    }
    if (queue_.size() == 1) {
      // A lone message (a call, a reply) is cheaper to pop in place than to swap.
      queue_.pop(out);
      queue_size_.store(0, std::memory_order_relaxed);
      remaining = 0;
      return true;
    }
    // The senders get the batch's emptied block, if it kept one, so neither side allocates.
    std::swap(batch_, queue_);
    queue_size_.store(0, std::memory_order_relaxed);
    batch_has_block_ = true;
    batch_out_ = true;
    batch_.pop(out);
    remaining = batch_.size();
    // Under the lock, so that size() never sees the batch in neither place.
    batch_size_.store(remaining, std::memory_order_relaxed);
  }
  return true;
}

bool mailbox::release_if_empty() {
  if (!batch_.empty()) return false;
  scoped_lock guard(lock_);
  if (!queue_.empty()) return false;
  go_idle();
  return true;
}

void mailbox::go_idle() {
  scheduled_ = false;
  batch_out_ = false;
  overload_threshold_ = initial_overload_threshold;
  refused_ = 0;
  // An idle mailbox needs one block, not one on each side: keep the batch's (the queue's, if
  // any, goes back to the heap).
  if (batch_has_block_) {
    queue_ = std::move(batch_);
    batch_has_block_ = false;
  }
}

message_queue mailbox::close() {
  scoped_lock guard(lock_);
  closed_ = true;
  if (batch_out_) return {};
  queue_size_.store(0, std::memory_order_relaxed);
  return std::exchange(queue_, message_queue());
}

std::size_t mailbox::size() {
  scoped_lock guard(lock_);
  return queue_.size() + batch_size_.load(std::memory_order_relaxed);
}

}  // namespace starling
