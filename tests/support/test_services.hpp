#pragma once
// Services and helpers shared by the tests: a lambda-driven service, a logger that records
// lines, and a wait-for-condition helper (tests wait on conditions, never on durations).

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

#include "core/context.hpp"
#include "core/module_registry.hpp"
#include "core/node.hpp"
#include "core/service.hpp"

namespace starling::testing {

/// Polls `done` until it holds or `limit` passes; true if it held.
inline bool eventually(const std::function<bool()>& done,
                       std::chrono::milliseconds limit = std::chrono::seconds(20)) {
  const auto deadline = std::chrono::steady_clock::now() + limit;
  while (!done()) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  return true;
}

/// What a scenario observed, in order, from any thread; read by the test after `finished`.
struct scenario_record {
  std::mutex mutex;
  std::vector<std::string> events;
  std::atomic<bool> finished{false};
  void add(std::string e) {
    std::lock_guard lock(mutex);
    events.push_back(std::move(e));
  }
  std::vector<std::string> get() {
    std::lock_guard lock(mutex);
    return events;
  }
};

/// A service whose init and dispatch are functions given at registration.
class lambda_service final : public service {
 public:
  using init_fn = std::function<bool(context&, std::string_view)>;
  using dispatch_fn = std::function<void(context&, message&)>;

  lambda_service(init_fn init, dispatch_fn dispatch)
      : init_(std::move(init)), dispatch_(std::move(dispatch)) {}
  bool init(context& self, std::string_view param) override {
    return init_ ? init_(self, param) : true;
  }
  void dispatch(context& self, message& msg) override {
    if (dispatch_) dispatch_(self, msg);
  }

 private:
  init_fn init_;
  dispatch_fn dispatch_;
};

/// One line as the logger received it.
struct log_line {
  handle_t source;
  std::string text;
};

/// Thread-safe record of the lines a capture logger received.
class log_record {
 public:
  void add(handle_t source, std::string text) {
    std::lock_guard lock(mutex_);
    lines_.push_back({source, std::move(text)});
  }
  std::vector<log_line> lines() const {
    std::lock_guard lock(mutex_);
    return lines_;
  }
  bool contains(std::string_view text) const {
    std::lock_guard lock(mutex_);
    for (const auto& l : lines_) {
      if (l.text == text) return true;
    }
    return false;
  }
  bool contains_prefix(std::string_view prefix) const {
    std::lock_guard lock(mutex_);
    for (const auto& l : lines_) {
      if (l.text.starts_with(prefix)) return true;
    }
    return false;
  }
  std::size_t count_prefix(std::string_view prefix) const {
    std::lock_guard lock(mutex_);
    std::size_t n = 0;
    for (const auto& l : lines_) {
      if (l.text.starts_with(prefix)) ++n;
    }
    return n;
  }

 private:
  mutable std::mutex mutex_;
  std::vector<log_line> lines_;
};

/// Registers `capture_logger`, a logger service writing into `record`.
inline void add_capture_logger(module_registry& modules, std::shared_ptr<log_record> record) {
  modules.add("capture_logger", [record] {
    return std::make_unique<lambda_service>(nullptr, [record](context&, message& msg) {
      if (msg.type == ptype::text) record->add(msg.source, std::string(msg.data.view()));
    });
  });
}

/// A started node with a capture logger named `logger`; aborts and joins on destruction.
class node_fixture {
 public:
  explicit node_fixture(module_registry& modules, node_options options = {})
      : log(std::make_shared<log_record>()) {
    add_capture_logger(modules, log);
    if (options.threads == 8) options.threads = 2;  // the CI machine has two cores
    runtime = std::make_unique<node>(options, modules, env);
    const handle_t logger = runtime->launch("capture_logger", "");
    runtime->bind_name("logger", logger);
    runtime->start();
  }
  ~node_fixture() {
    runtime->abort();
    runtime->wait();
  }
  node_fixture(const node_fixture&) = delete;
  node_fixture& operator=(const node_fixture&) = delete;

  environment env;
  std::shared_ptr<log_record> log;
  std::unique_ptr<node> runtime;
};

}  // namespace starling::testing
