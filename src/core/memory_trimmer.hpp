#pragma once
// memory_trimmer: gives the memory of a drained flood back to the system (docs/DESIGN.md,
// "Memory after a flood").
//
// glibc's malloc keeps what is freed for later allocations and returns to the system only
// the top of each heap, so after a flood (millions of queued messages, a long write queue)
// the process keeps its peak size for good. malloc_trim(0) returns the free pages from the
// middle of the heaps too. It costs up to a few hundred milliseconds on a heap that held
// gigabytes, with the arena's lock held, so it runs on a thread of its own and only after a
// flood: when a mailbox that passed the overload threshold has drained (`watch`), or when a
// part of the runtime has just freed a lot (`request`), at most once a second. An idle node
// never wakes this thread.
//
// Thread contract: `watch` and `request` from any thread; the rest from the owner.

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <thread>
#include <vector>

#include "base/mutex.hpp"
#include "core/handle.hpp"

namespace starling {

class memory_trimmer {
 public:
  /// How many messages a service has queued (nullopt: it is gone).
  using length_fn = std::function<std::optional<std::size_t>(handle_t)>;
  /// What trims: malloc_trim(0) by default; tests count calls instead.
  using trim_fn = std::function<void()>;

  /// A watched mailbox counts as drained below this length.
  static constexpr std::size_t drained_length = 1024;

  explicit memory_trimmer(length_fn length, trim_fn trim = {},
                          std::chrono::milliseconds interval = std::chrono::seconds(1));
  ~memory_trimmer();
  memory_trimmer(const memory_trimmer&) = delete;
  memory_trimmer& operator=(const memory_trimmer&) = delete;

  /// `service`'s queue is long: trim once it has drained. Any thread.
  void watch(handle_t service);
  /// A lot was freed: trim soon. Any thread.
  void request();
  /// Stops the thread. Idempotent.
  void stop();

 private:
  void run();

  const length_fn length_;
  const trim_fn trim_;
  const std::chrono::milliseconds interval_;
  mutex mutex_;
  std::condition_variable wake_;
  std::vector<handle_t> watched_ GUARDED_BY(mutex_);
  bool requested_ GUARDED_BY(mutex_) = false;
  bool stopping_ GUARDED_BY(mutex_) = false;
  std::thread thread_;
};

}  // namespace starling
