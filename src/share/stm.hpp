#pragma once
// starling::share::stm_cell: one message shared by a single writer and many readers
// (skynet.stm, docs/LIBRARIES.md "stm and sharemap"). The writer swaps the message; a reader
// takes a reference to the current one, so a message lives until its last reader lets go.

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <memory>

#include "base/mutex.hpp"
#include "base/thread_safety.hpp"

namespace starling::share {

/// A malloc'd message (as skynet.pack makes them), owned.
class stm_message {
 public:
  stm_message(void* data, std::size_t size) noexcept : data_(data), size_(size) {}
  ~stm_message() { std::free(data_); }  // NOLINT(*-no-malloc)
  stm_message(const stm_message&) = delete;
  stm_message& operator=(const stm_message&) = delete;

  [[nodiscard]] const void* data() const noexcept { return data_; }
  [[nodiscard]] std::size_t size() const noexcept { return size_; }

 private:
  void* data_;
  std::size_t size_;
};

class stm_cell {
 public:
  /// Replaces the message (the previous one lives on while readers hold it).
  void write(std::shared_ptr<const stm_message> message);
  /// The writer is gone: no message from now on.
  void close();
  /// The current message when it is newer than the version in `seen` (then updated), else null.
  std::shared_ptr<const stm_message> read(std::uint64_t& seen) const;

 private:
  mutable mutex mutex_;
  std::shared_ptr<const stm_message> current_ GUARDED_BY(mutex_);
  std::uint64_t version_ GUARDED_BY(mutex_) = 0;
};

}  // namespace starling::share
