#pragma once
// A live service: its handle, instance, mailbox, session counter and statistics.
// Reached through `node::grab(handle)`, which keeps it alive while the reference is held.
// Always owned by a shared_ptr: a lookup that holds only a pin makes its reference with
// shared_from_this.

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "core/handle.hpp"
#include "core/mailbox.hpp"
#include "core/message.hpp"
#include "core/message_log.hpp"
#include "core/service.hpp"

namespace starling {

class node;

class context : public std::enable_shared_from_this<context> {
 public:
  context(node& owner, std::unique_ptr<service> instance, std::string module, std::string param);
  context(const context&) = delete;
  context& operator=(const context&) = delete;

  // ---- identity ------------------------------------------------------------------------

  [[nodiscard]] handle_t handle() const noexcept { return handle_; }
  [[nodiscard]] node& owner() const noexcept { return owner_; }
  [[nodiscard]] service& instance() noexcept { return *instance_; }
  [[nodiscard]] mailbox& inbox() noexcept { return inbox_; }
  /// `<module> <param>` as launched.
  [[nodiscard]] const std::string& module() const noexcept { return module_; }
  [[nodiscard]] const std::string& param() const noexcept { return param_; }
  /// Set once by the handle table, before anyone else can see the context.
  void set_handle(handle_t h) noexcept { handle_ = h; }

  // ---- the service's own verbs (call from the service's dispatch, or from init) ----------

  /// A fresh session: 1, 2, ... wrapping from 0x7fffffff back to 1.
  std::int32_t new_session() noexcept;
  /// Sends with this service as source; false if `dest` is unknown.
  bool send(handle_t dest, ptype type, std::int32_t session, payload data) const;
  /// Schedules a `response` with `session` after `delay` ticks (<= 0: behind the queued messages).
  void timeout(std::int64_t delay, std::int32_t session) const;
  /// Logs a line with this service as source.
  void log(std::string_view text) const;
  /// Retires this service (logs `KILL self`).
  void exit() const;

  // ---- state and statistics (any thread) -----------------------------------------------

  [[nodiscard]] bool retired() const noexcept { return retired_.load(std::memory_order_acquire); }
  void mark_retired() noexcept { retired_.store(true, std::memory_order_release); }
  /// Read-and-clear of the endless-loop flag set by the stall monitor.
  bool take_endless() noexcept { return endless_.exchange(false, std::memory_order_relaxed); }
  void mark_endless() noexcept { endless_.store(true, std::memory_order_relaxed); }
  [[nodiscard]] std::uint64_t message_count() const noexcept {
    return message_count_.load(std::memory_order_relaxed);
  }
  [[nodiscard]] std::uint64_t cpu_ns() const noexcept {
    return cpu_ns_.load(std::memory_order_relaxed);
  }
  /// CPU spent so far in the message being dispatched (0 outside a dispatch or without
  /// profiling). The service's own thread only. The first call of a message estimates from
  /// the tick clock what came before it; later calls add the thread's CPU clock since then,
  /// so differences between two calls are exact.
  [[nodiscard]] std::uint64_t current_message_cpu_ns();
  /// Marks the start of a dispatch (a cpu_meter tick; 0: profiling off). The dispatching
  /// worker only.
  void begin_message(std::uint64_t start_tick) noexcept { message_start_tick_ = start_tick; }
  void end_message() noexcept {
    message_start_tick_ = 0;
    message_cpu_base_ = 0;
    // One writer at a time (the worker running the service; the run queue orders them), so
    // a load and a store rather than a locked read-modify-write.
    message_count_.store(message_count_.load(std::memory_order_relaxed) + 1,
                         std::memory_order_relaxed);
  }
  /// Adds CPU time measured by a worker's cpu_meter (any worker: windows of several workers
  /// may hold the same service).
  void add_cpu(std::uint64_t ns) noexcept {
    if (ns != 0) cpu_ns_.fetch_add(ns, std::memory_order_relaxed);
  }

  /// The LOGON / LOGOFF message log (any thread).
  [[nodiscard]] message_log& messages_log() noexcept { return message_log_; }

 private:
  node& owner_;
  handle_t handle_ = 0;
  std::unique_ptr<service> instance_;
  mailbox inbox_;
  // Read for every message, together after the mailbox (its first field is its `active` flag).
  std::int32_t session_ = 0;              // touched only by the service's own dispatch
  std::uint64_t message_start_tick_ = 0;  // likewise
  std::uint64_t message_cpu_base_ = 0;    // likewise: thread CPU ns at the message's start
  std::atomic<bool> retired_{false};
  std::atomic<bool> endless_{false};
  std::atomic<std::uint64_t> message_count_{0};
  std::atomic<std::uint64_t> cpu_ns_{0};
  message_log message_log_;
  std::string module_;
  std::string param_;
};

}  // namespace starling
