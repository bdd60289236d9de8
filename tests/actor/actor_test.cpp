#include "actor/actor.hpp"

#include <gtest/gtest.h>

#include <functional>
#include <mutex>
#include <stdexcept>
#include <string>
#include <vector>

#include "../support/test_services.hpp"

namespace starling {
namespace {

using outcome = testing::scenario_record;

outcome* current = nullptr;

void note(std::string e) {
  current->add(std::move(e));
}

std::string text_of(const result<reply>& r) {
  if (!r) return std::string("error:") + std::string(describe(r.error()));
  std::string out;
  for (const seri::value& v : r->values()) {
    if (!out.empty()) out += ",";
    out += v.is_integer() ? std::to_string(v.as_integer()) : std::string(v.as_string());
  }
  return out;
}

/// The service the scenarios talk to.
class echo final : public actor {
 protected:
  task<> on_request(request req) override {
    seri::value_list args = req.args();
    const std::string command(args.at(0).as_string());
    if (command == "echo") {
      req.reply(seri::value_list(args.begin() + 1, args.end()));
    } else if (command == "fail") {
      throw std::runtime_error("echo was asked to fail");
    } else if (command == "silent") {
      // Returns without replying: the caller must see call_failed.
    } else if (command == "defer") {
      deferred_.push_back(std::move(req));
    } else if (command == "release") {
      for (request& r : deferred_)
        r.reply("released");
      deferred_.clear();
      req.reply("ok");
    } else if (command == "slow") {
      (void)co_await sleep(args.at(1).as_integer());
      req.reply("slept");
    } else if (command == "exit") {
      co_await exit();
    } else if (command == "note") {
      note("echo got " + std::string(args.at(1).as_string()));
    }
    co_return;
  }

 private:
  std::vector<request> deferred_;
};

/// Runs a scenario (a subclass's `run`) as a start function and marks the outcome finished.
class scenario : public actor {
 protected:
  task<> start(std::vector<std::string> args) override {
    args_ = std::move(args);
    co_await run();
    current->finished = true;
  }
  virtual task<> run() = 0;
  handle_t spawn_echo() { return launch("echo", ""); }
  std::vector<std::string> args_;
};

/// Runs `Scenario` (with `echo` and whatever `extra` registers) until it finishes, and until
/// the log holds `expected_log` when one is given; returns the scenario's events.
template <class Scenario>
std::vector<std::string> play(std::string_view param = "",
                              const std::function<void(module_registry&)>& extra = {},
                              std::string_view expected_log = {}, node_options options = {}) {
  outcome result;
  current = &result;
  module_registry modules;
  register_actor<echo>(modules, "echo");
  register_actor<Scenario>(modules, "scenario");
  if (extra) extra(modules);
  {
    testing::node_fixture f(modules, options);
    EXPECT_NE(f.runtime->launch("scenario", param), 0U);
    EXPECT_TRUE(testing::eventually([&] { return result.finished.load(); }));
    if (!expected_log.empty()) {
      EXPECT_TRUE(testing::eventually([&] { return f.log->contains(expected_log); }))
          << "log line: " << expected_log;
    }
  }
  current = nullptr;
  return result.get();
}

TEST(actor, start_gets_the_launch_arguments) {
  struct s final : scenario {
    task<> run() override {
      for (const auto& a : args_)
        note(a);
      co_return;
    }
  };
  EXPECT_EQ(play<s>("alpha  beta gamma"), (std::vector<std::string>{"alpha", "beta", "gamma"}));
}

TEST(actor, call_round_trip_in_pack_format) {
  struct s final : scenario {
    task<> run() override {
      const handle_t e = spawn_echo();
      note(text_of(co_await call(e, "echo", "hello", 42)));
      note(text_of(co_await call(e, "echo")));
    }
  };
  EXPECT_EQ(play<s>(), (std::vector<std::string>{"hello,42", ""}));
}

TEST(actor, call_by_local_name) {
  struct s final : scenario {
    task<> run() override {
      runtime().bind_name("echo", spawn_echo());
      note(text_of(co_await call(".echo", "echo", 7)));
    }
  };
  EXPECT_EQ(play<s>(), (std::vector<std::string>{"7"}));
}

TEST(actor, invalid_addresses_fail_at_once) {
  struct s final : scenario {
    task<> run() override {
      note(text_of(co_await call(handle_t{0x99}, "echo")));
      note(text_of(co_await call(".nobody", "echo")));
      note(send(handle_t{0x99}, "x") ? "sent" : "not sent");
    }
  };
  EXPECT_EQ(play<s>(), (std::vector<std::string>{"error:call to invalid address",
                                                 "error:call to invalid address", "not sent"}));
}

TEST(actor, a_throwing_handler_fails_the_call) {
  struct s final : scenario {
    task<> run() override {
      const handle_t e = spawn_echo();
      note(text_of(co_await call(e, "fail")));
      note(text_of(co_await call(e, "echo", "still alive")));
    }
  };
  EXPECT_EQ(play<s>(), (std::vector<std::string>{"error:call failed", "still alive"}));
}

TEST(actor, an_unanswered_request_fails_the_call) {
  struct s final : scenario {
    task<> run() override { note(text_of(co_await call(spawn_echo(), "silent"))); }
  };
  EXPECT_EQ(play<s>(), (std::vector<std::string>{"error:call failed"}));
}

TEST(actor, deferred_responses_answer_later) {
  struct s final : scenario {
    task<> run() override {
      const handle_t e = spawn_echo();
      fork(waiter(e));
      fork(waiter(e));
      (void)co_await yield();
      note(text_of(co_await call(e, "release")));
      (void)co_await yield();
    }
    task<> waiter(handle_t e) { note("waiter " + text_of(co_await call(e, "defer"))); }
  };
  EXPECT_EQ(play<s>(), (std::vector<std::string>{"waiter released", "waiter released", "ok"}));
}

TEST(actor, call_within_times_out_and_ignores_the_late_reply) {
  struct s final : scenario {
    task<> run() override {
      const handle_t e = spawn_echo();
      note(text_of(co_await call_within(2, e, "slow", 50)));
      note(text_of(co_await call_within(500, e, "echo", "fast")));
      (void)co_await sleep(60);  // the late "slept" arrives meanwhile and is dropped
      note(text_of(co_await call(e, "echo", "after")));
    }
  };
  EXPECT_EQ(play<s>(), (std::vector<std::string>{"error:timeout", "fast", "after"}));
}

TEST(actor, the_node_call_timeout_bounds_calls_made_without_a_deadline) {
  struct s final : scenario {
    task<> run() override {
      const handle_t e = spawn_echo();
      note(text_of(co_await call(e, "defer")));                 // never answered
      note(text_of(co_await call_within(500, e, "slow", 20)));  // its own deadline wins
      note(text_of(co_await call(e, "echo", "fast")));
    }
  };
  node_options options;
  options.call_timeout = 5;
  EXPECT_EQ(play<s>("", {}, {}, options),
            (std::vector<std::string>{"error:timeout", "slept", "fast"}));
}

/// Watches for a graceful shutdown and notes what its hook does.
class shutdown_watcher final : public actor {
 protected:
  task<> start(std::vector<std::string> args) override {
    (void)args;
    watch_shutdown();
    co_return;
  }
  task<> on_shutdown(std::string reason) override {
    note("hook " + reason);
    (void)co_await sleep(1);
    note("hook done");
  }
};

TEST(actor, on_shutdown_runs_on_the_notice_and_tells_the_node_when_it_is_done) {
  struct s final : scenario {
    task<> run() override {
      auto w = co_await newservice("shutdown_watcher", "");
      if (!w) co_return;
      shutdown_board& board = runtime().shutdown();
      note(board.watching(*w) ? "watching" : "not watching");
      // What the application's supervisor sends when SIGTERM comes.
      runtime().send(0, *w, ptype::debug, 0, seri::pack("SHUTDOWN", "SIGTERM"));
      while (board.watching(*w))
        (void)co_await sleep(1);
      note("done with the shutdown");
    }
  };
  const auto extra = [](module_registry& m) {
    register_actor<shutdown_watcher>(m, "shutdown_watcher");
  };
  EXPECT_EQ(play<s>("", extra), (std::vector<std::string>{"watching", "hook SIGTERM", "hook done",
                                                          "done with the shutdown"}));
}

TEST(actor, other_debug_messages_are_unknown_messages) {
  struct s final : scenario {
    task<> run() override {
      runtime().send(self(), spawn_echo(), ptype::debug, 0, seri::pack("PING"));
      co_return;
    }
  };
  play<s>("", {}, "Unknown message type 9 from :00000002");  // the scenario
}

TEST(actor, sleep_and_wakeup) {
  struct s final : scenario {
    int token = 0;
    task<> run() override {
      fork(sleeper());
      (void)co_await yield();
      note(wakeup(&token) ? "woken" : "nobody");
      note(wakeup(&token) ? "woken" : "nobody");
      (void)co_await yield();
      const auto slept = co_await sleep(1);
      note(slept ? "slept a tick" : "interrupted");
    }
    task<> sleeper() {
      const auto r = co_await sleep(100000, &token);
      note(r ? "sleeper timed out" : std::string("sleeper ") + std::string(describe(r.error())));
    }
  };
  EXPECT_EQ(play<s>(), (std::vector<std::string>{"woken", "woken", "sleeper interrupted by wakeup",
                                                 "slept a tick"}))
      << "a second wakeup before the sleeper ran still answers true, as in skynet";
}

TEST(actor, woken_coroutines_run_in_wakeup_order_before_forks) {
  struct s final : scenario {
    int a = 0;
    int b = 0;
    task<> run() override {
      fork(waiter(&a, "A"));
      fork(waiter(&b, "B"));
      (void)co_await yield();
      fork(tagged("fork"));
      wakeup(&b);
      wakeup(&a);
      note("waker suspends");
      (void)co_await yield();
      note("waker resumed");
    }
    task<> waiter(int* token, std::string name) {
      (void)co_await wait(token);
      note(name);
    }
    task<> tagged(std::string name) {
      note(name);
      co_return;
    }
  };
  EXPECT_EQ(play<s>(),
            (std::vector<std::string>{"waker suspends", "B", "A", "fork", "waker resumed"}));
}

TEST(actor, forks_run_after_the_current_message_in_fifo_order) {
  struct s final : scenario {
    task<> run() override {
      fork(f1());
      fork(tagged("F2"));
      note("start");
      (void)co_await yield();
      (void)co_await yield();
    }
    task<> f1() {
      note("F1");
      fork(tagged("F1.1"));
      co_return;
    }
    task<> tagged(std::string name) {
      note(name);
      co_return;
    }
  };
  EXPECT_EQ(play<s>(), (std::vector<std::string>{"start", "F1", "F2", "F1.1"}));
}

TEST(actor, exit_fails_queued_and_suspended_calls) {
  struct s final : scenario {
    task<> run() override {
      const handle_t e = spawn_echo();
      fork(caller(e, "defer"));  // suspended inside echo when it exits
      (void)co_await yield();
      fork(caller(e, "exit"));
      fork(caller(e, "echo"));  // queued behind the exit
      (void)co_await wait(&answered);
      note(text_of(co_await call(e, "echo")));
    }
    int answered = 0;
    task<> caller(handle_t e, std::string command) {
      note(command + " " + text_of(co_await call(e, command)));
      if (++answered == 3) wakeup(&answered);
    }
  };
  const auto events = play<s>();
  ASSERT_EQ(events.size(), 4U);
  EXPECT_EQ(events[3], "error:call to invalid address") << "later calls fail at once";
  for (std::size_t i = 0; i < 3; ++i)
    EXPECT_TRUE(events[i].ends_with("error:call failed")) << events[i];
}

TEST(actor, kill_of_the_callee_fails_the_waiting_caller) {
  struct s final : scenario {
    task<> run() override {
      const handle_t e = spawn_echo();
      fork(killer(e));
      note(text_of(co_await call(e, "slow", 100000)));
    }
    task<> killer(handle_t e) {
      (void)co_await yield();
      runtime().kill(self(), e);
    }
  };
  EXPECT_EQ(play<s>(), (std::vector<std::string>{"error:call failed"}));
}

TEST(actor, sends_are_one_way_and_ordered) {
  struct s final : scenario {
    task<> run() override {
      const handle_t e = spawn_echo();
      for (int i = 0; i < 3; ++i)
        send(e, "note", std::to_string(i));
      note(text_of(co_await call(e, "echo", "sync")));
    }
  };
  EXPECT_EQ(play<s>(),
            (std::vector<std::string>{"echo got 0", "echo got 1", "echo got 2", "sync"}));
}

/// A service whose start function takes a while, or throws when launched with "throw".
class slow_starter final : public actor {
 protected:
  task<> start(std::vector<std::string> args) override {
    (void)co_await sleep(2);
    if (!args.empty() && args[0] == "throw") throw std::runtime_error("start refused");
    note("child started");
  }
};

TEST(actor, newservice_returns_after_the_start_function) {
  struct s final : scenario {
    task<> run() override {
      auto child = co_await newservice("slow_starter", "");
      note(child ? "newservice returned" : "newservice failed");
      auto broken = co_await newservice("slow_starter", "throw");
      note(broken ? "broken returned"
                  : std::string("broken: ") + std::string(describe(broken.error())));
      auto missing = co_await newservice("no_such_module", "");
      note(missing ? "missing returned" : "missing failed");
    }
  };
  const auto events = play<s>(
      "", [](module_registry& m) { register_actor<slow_starter>(m, "slow_starter"); },
      "init service failed: start refused");
  EXPECT_EQ(events, (std::vector<std::string>{"child started", "newservice returned",
                                              "broken: call failed", "missing failed"}));
}

TEST(actor, newservice_and_no_deadline_wait_longer_than_the_node_call_timeout) {
  struct s final : scenario {
    task<> run() override {
      auto child = co_await newservice("slow_starter", "");  // its start sleeps 2 ticks
      note(child ? "newservice returned" : "newservice failed");
      const handle_t e = spawn_echo();
      note(text_of(co_await call_within(no_deadline, e, "slow", 3)));
      note(text_of(co_await call(e, "slow", 3)));
    }
  };
  node_options options;
  options.call_timeout = 1;
  const auto events = play<s>(
      "", [](module_registry& m) { register_actor<slow_starter>(m, "slow_starter"); }, {}, options);
  EXPECT_EQ(events, (std::vector<std::string>{"child started", "newservice returned", "slept",
                                              "error:timeout"}));
}

TEST(actor, raw_messages_from_core_services_interoperate) {
  // A plain (non-actor) service answering in the pack format: the wire is the contract.
  struct s final : scenario {
    task<> run() override {
      const handle_t raw = launch("raw_echo", "");
      note(text_of(co_await rawcall(raw, ptype::lua, seri::pack("raw", 1))));
    }
  };
  const auto events = play<s>("", [](module_registry& m) {
    m.add("raw_echo", [] {
      return std::make_unique<testing::lambda_service>(nullptr, [](context& self, message& msg) {
        self.send(msg.source, ptype::response, msg.session, std::move(msg.data));
      });
    });
  });
  EXPECT_EQ(events, (std::vector<std::string>{"raw,1"}));
}

}  // namespace
}  // namespace starling
