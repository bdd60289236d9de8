#pragma once
// What a graceful shutdown needs from the core (docs/DESIGN.md, "Stopping"): the services
// that asked to be told when one starts, and a request to stop made from inside the node.
// The core only keeps them; the application (src/app) acts on them: it tells the watchers,
// waits (bounded) until each is done or gone, flushes the log and aborts the node.
//
// Thread contract: every member is safe from any thread.

#include <atomic>
#include <optional>
#include <string>
#include <vector>

#include "base/mutex.hpp"
#include "core/handle.hpp"

namespace starling {

class shutdown_board {
 public:
  struct request {
    int status = 0;      ///< what the process exits with
    std::string reason;  ///< one line; printed on stderr when status is not 0
  };

  /// Asks the application to stop the node gracefully. The first request wins.
  void request_stop(int status, std::string reason);
  [[nodiscard]] std::optional<request> requested() const;

  /// `h` is told when a graceful shutdown starts, and holds it up until `done(h)` (or until it
  /// retires, or the shutdown's time runs out).
  void watch(handle_t h);
  void done(handle_t h);
  [[nodiscard]] bool watching(handle_t h) const;
  [[nodiscard]] std::vector<handle_t> watchers() const;
  /// A retired service watches nothing; cheap when nobody watches.
  void forget(handle_t h);

 private:
  mutable mutex mutex_;
  std::optional<request> request_ GUARDED_BY(mutex_);
  std::vector<handle_t> watchers_ GUARDED_BY(mutex_);  // few, in subscription order
  std::atomic<bool> any_watchers_{false};
};

}  // namespace starling
