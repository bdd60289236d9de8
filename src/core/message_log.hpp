#pragma once
// The per-service message log of LOGON / LOGOFF: every
// message dispatched to the service is written, before dispatch, as
// `:<source> <type> <session> <now> <payload in hex>` to `<logpath>/<handle>.log`; a socket
// message as `[socket] <type> <id> <ud> ` and its text in brackets or its data in hex.
//
// Thread contract: open/close come from any service's thread (the LOGON command), writes
// from the worker dispatching the service; one internal mutex serialises them, and the
// atomic `active` flag keeps the dispatch path lock-free while logging is off.

#include <atomic>
#include <cstdint>
#include <cstdio>
#include <memory>
#include <string>
#include <string_view>

#include "base/mutex.hpp"
#include "core/message.hpp"

namespace starling {

class message_log {
 public:
  /// Opens (appending) the log at `path`; false if it is already open or cannot be opened.
  bool open(const std::string& path, std::int64_t now);
  /// Closes it; false if it was not open.
  bool close(std::int64_t now);
  /// Writes one line for `msg`, if open.
  void write(const message& msg, std::int64_t now);
  [[nodiscard]] bool active() const noexcept { return active_.load(std::memory_order_acquire); }

 private:
  struct file_closer {
    void operator()(std::FILE* f) const { std::fclose(f); }
  };
  std::atomic<bool> active_{false};  // first: every dispatch reads it
  mutex mutex_;
  std::unique_ptr<std::FILE, file_closer> file_ GUARDED_BY(mutex_);
};

}  // namespace starling
