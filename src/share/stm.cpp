#include "share/stm.hpp"

#include <utility>

namespace starling::share {

void stm_cell::write(std::shared_ptr<const stm_message> message) {
  std::shared_ptr<const stm_message> old;  // freed outside the lock
  mutex_lock hold(mutex_);
  old = std::exchange(current_, std::move(message));
  ++version_;
}

void stm_cell::close() {
  std::shared_ptr<const stm_message> old;
  mutex_lock hold(mutex_);
  old = std::exchange(current_, nullptr);
  ++version_;
}

std::shared_ptr<const stm_message> stm_cell::read(std::uint64_t& seen) const {
  mutex_lock hold(mutex_);
  if (current_ == nullptr || version_ == seen) return nullptr;
  seen = version_;
  return current_;
}

}  // namespace starling::share
