#pragma once
// A native actor that runs one test coroutine as its start function, on a node with a socket
// thread, and the harness that runs it: the test writes `task<> body(script& s)` and reads
// what the script recorded and what the node logged.

#include <chrono>
#include <functional>
#include <initializer_list>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "actor/actor.hpp"
#include "net/socket_server.hpp"
#include "test_services.hpp"

namespace starling::testing {

class script final : public actor {
 public:
  using body = task<> (*)(script&);

  script(body b, scenario_record& record) : body_(b), record_(record) {}

  // The verbs a script uses, made public.
  using actor::fork;
  using actor::log;
  using actor::sleep;
  using actor::wait;
  using actor::wakeup;
  using actor::yield;

  /// Records an event for the test to check.
  void note(std::string event) { record_.add(std::move(event)); }
  /// The line `done` logs last: the log holds every earlier line of the script once it has it.
  static constexpr std::string_view done_line = "script: done";
  /// Ends the scenario.
  void done() {
    log(done_line);
    record_.finished = true;
  }
  /// Suspends until `ready` holds, checking every tick.
  task<> until(std::function<bool()> ready) {
    while (!ready())
      (void)co_await sleep(1);
  }

 protected:
  task<> start(std::vector<std::string> args) override {
    (void)args;
    co_await body_(*this);
  }

 private:
  body body_;
  scenario_record& record_;
};

/// What a scenario left behind.
struct script_outcome {
  std::vector<std::string> events;
  std::shared_ptr<log_record> log;
  bool finished = false;
};

/// The events a test expects of a script, as `events` holds them.
inline std::vector<std::string> wanted(std::initializer_list<const char*> lines) {
  return {lines.begin(), lines.end()};
}

/// Runs `body` on a fresh node; `meanwhile` runs on the test thread once it has started, with
/// the node's log.
inline script_outcome run_script(script::body body,
                                 const std::function<void(const log_record&)>& meanwhile = {},
                                 std::chrono::milliseconds limit = std::chrono::seconds(60)) {
  scenario_record record;
  module_registry modules;
  modules.add("script", [body, &record] { return std::make_unique<script>(body, record); });
  script_outcome out;
  {
    node_fixture f(modules);
    f.runtime->attach(std::make_shared<net::socket_server>(*f.runtime));
    out.log = f.log;
    if (f.runtime->launch("script", "") == 0) return out;
    if (meanwhile) meanwhile(*f.log);
    // The logger is a service: the script's lines reach it after `done` returns.
    out.finished = eventually(
        [&] { return record.finished.load() && f.log->contains(script::done_line); }, limit);
  }
  out.events = record.get();
  return out;
}

}  // namespace starling::testing
