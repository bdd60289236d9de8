#pragma once
// An unbounded FIFO made of fixed-size blocks. Not thread-safe: owners lock.
//
// A mailbox can grow to millions of messages when a sender outruns its receiver. A doubling
// ring would copy everything on each growth and, once large, get fresh pages from mmap every
// time (each one a page fault); blocks are never copied, and freed blocks go back to the
// allocator's heap, where the next burst finds them. The last block is kept when the queue
// empties, so steady traffic allocates nothing.

#include <cstddef>
#include <memory>
#include <utility>

namespace starling {

template <class T, std::size_t block_size = 16>
class block_queue {
 public:
  block_queue() = default;
  block_queue(block_queue&& other) noexcept { steal(other); }
  block_queue& operator=(block_queue&& other) noexcept {
    if (this != &other) {
      release_chain();
      steal(other);
    }
    return *this;
  }
  block_queue(const block_queue&) = delete;
  block_queue& operator=(const block_queue&) = delete;
  ~block_queue() { release_chain(); }

  [[nodiscard]] std::size_t size() const noexcept { return size_; }
  [[nodiscard]] bool empty() const noexcept { return size_ == 0; }

  void push(T&& item) {
    if (!head_) {
      head_ = std::make_unique<block>();
      tail_ = head_.get();
    } else if (tail_index_ == block_size) {
      tail_->next = std::make_unique<block>();
      tail_ = tail_->next.get();
      tail_index_ = 0;
    }
    tail_->slots[tail_index_++] = std::move(item);
    ++size_;
  }

  /// The item `ahead` places after the oldest (0: the oldest), or null past the newest.
  [[nodiscard]] const T* peek(std::size_t ahead) const noexcept {
    if (ahead >= size_) return nullptr;
    const block* at = head_.get();
    std::size_t index = head_index_ + ahead;
    for (; index >= block_size; index -= block_size)
      at = at->next.get();
    return &at->slots[index];
  }

  /// Moves the oldest item into `out`; false when empty.
  bool pop(T& out) noexcept {
    if (size_ == 0) return false;
    out = std::move(head_->slots[head_index_++]);
    --size_;
    if (size_ == 0) {
      // Empty: rewind onto the one remaining block instead of freeing it.
      head_index_ = 0;
      tail_index_ = 0;
    } else if (head_index_ == block_size) {
      head_ = std::move(head_->next);
      head_index_ = 0;
    }
    return true;
  }

 private:
  struct block {
    T slots[block_size];
    std::unique_ptr<block> next;
  };

  void steal(block_queue& other) noexcept {
    head_ = std::move(other.head_);
    tail_ = std::exchange(other.tail_, nullptr);
    head_index_ = std::exchange(other.head_index_, 0);
    tail_index_ = std::exchange(other.tail_index_, 0);
    size_ = std::exchange(other.size_, 0);
  }

  /// Frees the chain iteratively: a recursive unique_ptr chain of a million-message queue
  /// would overflow the stack.
  void release_chain() noexcept {
    while (head_)
      head_ = std::move(head_->next);
    tail_ = nullptr;
    head_index_ = tail_index_ = size_ = 0;
  }

  std::unique_ptr<block> head_;
  block* tail_ = nullptr;
  std::size_t head_index_ = 0;
  std::size_t tail_index_ = 0;
  std::size_t size_ = 0;
};

}  // namespace starling
