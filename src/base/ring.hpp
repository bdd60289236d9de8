#pragma once
// A growable FIFO ring buffer (capacity doubles when full). Not thread-safe: owners lock.

#include <cstddef>
#include <memory>
#include <utility>

namespace starling {

template <class T>
class ring {
 public:
  explicit ring(std::size_t initial_capacity = 64)
      : slots_(std::make_unique<T[]>(initial_capacity)), capacity_(initial_capacity) {}

  [[nodiscard]] std::size_t size() const noexcept { return size_; }
  [[nodiscard]] bool empty() const noexcept { return size_ == 0; }

  void push(T&& item) {
    if (size_ == capacity_) grow();
    slots_[(head_ + size_) & (capacity_ - 1)] = std::move(item);
    ++size_;
  }

  /// Moves the oldest item into `out`; false when empty.
  bool pop(T& out) noexcept {
    if (size_ == 0) return false;
    out = std::move(slots_[head_]);
    head_ = (head_ + 1) & (capacity_ - 1);
    --size_;
    return true;
  }

 private:
  void grow() {
    auto bigger = std::make_unique<T[]>(capacity_ * 2);
    for (std::size_t i = 0; i < size_; ++i)
      bigger[i] = std::move(slots_[(head_ + i) & (capacity_ - 1)]);
    slots_ = std::move(bigger);
    capacity_ *= 2;
    head_ = 0;
  }

  std::unique_ptr<T[]> slots_;  // capacity_ is a power of two
  std::size_t capacity_;
  std::size_t head_ = 0;
  std::size_t size_ = 0;
};

}  // namespace starling
