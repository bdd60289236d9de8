#include "net/write_queue.hpp"

#include <sys/uio.h>

#include <array>
#include <cassert>
#include <cerrno>
#include <utility>

namespace starling::net {

namespace {

// Enough to cover a socket buffer with typical frames; the rest goes in the next writev.
constexpr std::size_t max_gather = 64;

}  // namespace

void write_queue::push(payload data, priority level) {
  if (data.empty()) return;
  add_bytes(data.size());
  if (level == priority::low && !(none(high_) && none(low_))) {
    made(low_).push_back(std::move(data));
  } else {
    made(high_).push_back(std::move(data));
  }
}

void write_queue::push_partial(payload data, std::size_t sent) {
  assert(empty() && sent < data.size());
  add_bytes(data.size() - sent);
  offset_ = sent;
  made(high_).push_back(std::move(data));
}

write_queue::flush_result write_queue::flush(int fd) {
  flush_result result;
  while (!empty()) {
    std::array<iovec, max_gather> parts{};
    std::size_t count = 0;
    std::size_t offered = 0;
    std::size_t skip = offset_;
    for (auto* queue : {&high_, &low_}) {
      if (!*queue) continue;
      for (payload& buffer : **queue) {
        if (count == max_gather) break;
        parts[count].iov_base = buffer.data() + skip;
        parts[count].iov_len = buffer.size() - skip;
        offered += parts[count].iov_len;
        skip = 0;
        ++count;
      }
    }
    const ssize_t n = ::writev(fd, parts.data(), static_cast<int>(count));
    if (n < 0) {
      if (errno == EINTR) continue;
      if (errno != EAGAIN && errno != EWOULDBLOCK) result.error = errno;
      return result;
    }
    consume(static_cast<std::size_t>(n));
    result.written += static_cast<std::size_t>(n);
    if (static_cast<std::size_t>(n) < offered) return result;  // the kernel is full
  }
  return result;
}

void write_queue::consume(std::size_t n) {
  bytes_.store(bytes() - n, std::memory_order_relaxed);
  while (n > 0 && !none(high_)) {
    const std::size_t left = high_->front().size() - offset_;
    if (n < left) {
      offset_ += n;
      return;
    }
    n -= left;
    offset_ = 0;
    high_->pop_front();
  }
  while (n > 0) {
    const std::size_t size = low_->front().size();
    if (n < size) {
      // High is empty here: the started low buffer becomes the first to finish.
      made(high_).push_back(std::move(low_->front()));
      low_->pop_front();
      offset_ = n;
      return;
    }
    n -= size;
    low_->pop_front();
  }
}

void write_queue::clear() noexcept {
  high_.reset();
  low_.reset();
  offset_ = 0;
  bytes_.store(0, std::memory_order_relaxed);
}

}  // namespace starling::net
