#pragma once
// The contract every service implements, native or Lua host: skynet's module interface
// (create / init / callback / release / signal) as a C++ class.

#include <cstddef>
#include <string_view>

#include "core/message.hpp"

namespace starling {

class context;

class service {
 public:
  service() = default;
  service(const service&) = delete;
  service& operator=(const service&) = delete;
  /// Release: runs when the last reference to the retired service goes, on any thread.
  virtual ~service() = default;

  /// Runs once, on the launching thread, before any message is dispatched. Returning false
  /// fails the launch: the handle is retired and queued messages are answered with errors.
  virtual bool init(context& self, std::string_view param) = 0;

  /// Handles one message. Runs on a worker, never concurrently for one service. The message
  /// is the callee's: moving its payload out keeps it (forward mode).
  virtual void dispatch(context& self, message& msg) = 0;

  /// The SIGNAL command (debug console `signal`). Safe to be called from any thread.
  virtual void signal(context& self, int number) {
    (void)self;
    (void)number;
  }

  /// Bytes held by the service's own allocator (a Lua state's), for `skynet.memory`; 0 for
  /// services that allocate from malloc directly. Safe from any thread.
  [[nodiscard]] virtual std::size_t memory_in_use() const noexcept { return 0; }
  /// Live blocks of that allocator. Safe from any thread.
  [[nodiscard]] virtual std::size_t blocks_in_use() const noexcept { return 0; }
};

}  // namespace starling
