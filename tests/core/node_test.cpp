#include "core/node.hpp"

#include <fmt/format.h>
#include <gtest/gtest.h>

#include <atomic>
#include <ctime>
#include <latch>
#include <mutex>
#include <string>
#include <vector>

#include "../support/test_services.hpp"

namespace starling {
namespace {

using testing::eventually;
using testing::lambda_service;

/// What a recording service saw.
struct seen {
  ptype type;
  handle_t source;
  std::int32_t session;
  std::string body;
};

class inbox_record {
 public:
  void add(const message& m) {
    std::lock_guard lock(mutex_);
    seen_.push_back({m.type, m.source, m.session, std::string(m.data.view())});
  }
  std::vector<seen> get() const {
    std::lock_guard lock(mutex_);
    return seen_;
  }
  std::size_t size() const {
    std::lock_guard lock(mutex_);
    return seen_.size();
  }

 private:
  mutable std::mutex mutex_;
  std::vector<seen> seen_;
};

/// Registers `recorder`, a service that records every message into `record`.
void add_recorder(module_registry& modules, std::shared_ptr<inbox_record> record) {
  modules.add("recorder", [record] {
    return std::make_unique<lambda_service>(nullptr,
                                            [record](context&, message& m) { record->add(m); });
  });
}

class node_test : public ::testing::Test {
 protected:
  module_registry modules;
  std::shared_ptr<inbox_record> record = std::make_shared<inbox_record>();
  void SetUp() override { add_recorder(modules, record); }
};

TEST_F(node_test, launch_logs_and_numbers_services_in_order) {
  testing::node_fixture f(modules);
  const handle_t a = f.runtime->launch("recorder", "one two");
  const handle_t b = f.runtime->launch("recorder", "");
  EXPECT_EQ(a, 2U) << "the logger took handle 1";
  EXPECT_EQ(b, 3U);
  ASSERT_TRUE(eventually([&] { return f.log->contains("LAUNCH recorder "); }));
  EXPECT_TRUE(f.log->contains("LAUNCH recorder one two"));
  for (const auto& line : f.log->lines()) {
    if (line.text == "LAUNCH recorder one two") {
      EXPECT_EQ(line.source, a);
    }
  }
}

TEST_F(node_test, launch_by_command_line) {
  testing::node_fixture f(modules);
  const handle_t h = f.runtime->launch("recorder  x y");
  ASSERT_NE(h, 0U);
  EXPECT_EQ(f.runtime->grab(h)->param(), "x y");
}

TEST_F(node_test, unknown_module_fails) {
  testing::node_fixture f(modules);
  EXPECT_EQ(f.runtime->launch("no_such_module", ""), 0U);
}

TEST_F(node_test, killed_handle_is_not_reused) {
  testing::node_fixture f(modules);
  const handle_t a = f.runtime->launch("recorder", "");
  f.runtime->kill(0, a);
  const handle_t b = f.runtime->launch("recorder", "");
  EXPECT_EQ(b, a + 1);
  EXPECT_FALSE(f.runtime->grab(a));
}

TEST_F(node_test, send_to_unknown_destinations_fails_at_once) {
  testing::node_fixture f(modules);
  EXPECT_FALSE(f.runtime->send(0, 0x77, ptype::lua, 0, payload::copy_of("x")));
  EXPECT_FALSE(f.runtime->send(0, std::string_view(".unknown"), ptype::lua, 0, {}));
  EXPECT_FALSE(f.runtime->send(0, std::string_view(":77"), ptype::lua, 0, {}));
  EXPECT_FALSE(f.runtime->send(5, 0, ptype::lua, 0, payload::copy_of("x")));
  ASSERT_TRUE(eventually([&] { return f.log->contains("error: Destination address can't be 0"); }));
}

TEST_F(node_test, messages_keep_source_session_and_body) {
  testing::node_fixture f(modules);
  const handle_t r = f.runtime->launch("recorder", "");
  ASSERT_TRUE(f.runtime->send(42, r, ptype::lua, 7, payload::copy_of("hello")));
  ASSERT_TRUE(eventually([&] { return record->size() == 1; }));
  const seen s = record->get()[0];
  EXPECT_EQ(s.type, ptype::lua);
  EXPECT_EQ(s.source, 42U);
  EXPECT_EQ(s.session, 7);
  EXPECT_EQ(s.body, "hello");
}

TEST_F(node_test, sends_from_one_source_arrive_in_order) {
  testing::node_fixture f(modules);
  const handle_t r = f.runtime->launch("recorder", "");
  for (int i = 0; i < 1000; ++i)
    f.runtime->send(9, r, ptype::lua, i, {});
  ASSERT_TRUE(eventually([&] { return record->size() == 1000; }));
  auto got = record->get();
  for (int i = 0; i < 1000; ++i)
    ASSERT_EQ(got[static_cast<std::size_t>(i)].session, i);
}

TEST_F(node_test, local_names) {
  testing::node_fixture f(modules);
  const handle_t a = f.runtime->launch("recorder", "");
  const handle_t b = f.runtime->launch("recorder", "");
  EXPECT_TRUE(f.runtime->bind_name("db", a));
  EXPECT_FALSE(f.runtime->bind_name("db", b)) << "first registration wins";
  EXPECT_TRUE(f.runtime->bind_name("db2", a)) << "one handle, two names";
  EXPECT_EQ(f.runtime->resolve(".db"), a);
  EXPECT_EQ(f.runtime->resolve(".db2"), a);
  ASSERT_TRUE(f.runtime->send(3, std::string_view(".db"), ptype::lua, 1, {}));
  ASSERT_TRUE(eventually([&] { return record->size() == 1; }));
  f.runtime->exit(a);
  EXPECT_FALSE(f.runtime->resolve(".db")) << "names go with their owner";
  EXPECT_FALSE(f.runtime->resolve(".db2"));
}

TEST_F(node_test, global_names_park_messages_until_registered) {
  testing::node_fixture f(modules);
  const handle_t r = f.runtime->launch("recorder", "");
  ASSERT_TRUE(f.runtime->send(5, std::string_view("LATER"), ptype::lua, 11, {}));
  EXPECT_EQ(record->size(), 0U);
  EXPECT_TRUE(f.runtime->register_global("LATER", r));
  ASSERT_TRUE(eventually([&] { return record->size() == 1; }));
  EXPECT_EQ(record->get()[0].source, 5U) << "source preserved";
  EXPECT_EQ(record->get()[0].session, 11) << "session preserved";
  EXPECT_FALSE(f.runtime->register_global("LATER", r)) << "a global name is registered once";
  EXPECT_EQ(f.runtime->resolve("LATER"), r);
}

TEST_F(node_test, global_name_of_dead_owner_swallows_messages) {
  testing::node_fixture f(modules);
  const handle_t r = f.runtime->launch("recorder", "");
  f.runtime->register_global("G", r);
  f.runtime->exit(r);
  EXPECT_TRUE(f.runtime->send(5, std::string_view("G"), ptype::lua, 0, {}));
}

TEST_F(node_test, queued_requests_of_an_exiting_service_get_errors) {
  // The victim blocks in its first message until the requests are queued, then exits.
  std::latch queued(1);
  modules.add("victim", [&] {
    return std::make_unique<lambda_service>(nullptr, [&](context& self, message& m) {
      if (m.session == 100) {
        queued.wait();
        self.exit();
        self.send(m.source, ptype::response, m.session, payload::copy_of("done"));
      }
    });
  });
  testing::node_fixture f(modules);
  const handle_t caller = f.runtime->launch("recorder", "");
  const handle_t victim = f.runtime->launch("victim", "");
  f.runtime->send(caller, victim, ptype::lua, 100, {});
  for (std::int32_t s : {1, 0, 2})
    f.runtime->send(caller, victim, ptype::lua, s, {});
  queued.count_down();
  ASSERT_TRUE(eventually([&] { return record->size() == 4; }));
  auto got = record->get();
  int errors = 0;
  bool reply = false;
  std::vector<std::int32_t> error_sessions;
  for (const seen& s : got) {
    EXPECT_EQ(s.source, victim);
    if (s.type == ptype::error) {
      ++errors;
      error_sessions.push_back(s.session);
    }
    if (s.type == ptype::response && s.session == 100) reply = true;
  }
  EXPECT_EQ(errors, 3);
  EXPECT_EQ(error_sessions, (std::vector<std::int32_t>{1, 0, 2})) << "same sessions, even 0";
  EXPECT_TRUE(reply) << "the message being processed completes";
  EXPECT_FALSE(f.runtime->send(caller, victim, ptype::lua, 5, {})) << "later sends fail at once";
}

TEST_F(node_test, messages_taken_with_the_exiting_one_get_errors_in_order) {
  // Queued during init, so the worker takes all five in one batch; the first one exits.
  std::atomic<handle_t> caller{0};
  std::atomic<int> dispatched{0};
  modules.add("quitter", [&] {
    return std::make_unique<lambda_service>(
        [&](context& self, std::string_view) {
          for (std::int32_t s = 1; s <= 5; ++s)
            self.owner().send(caller.load(), self.handle(), ptype::lua, s, {});
          return true;
        },
        [&](context& self, message&) {
          dispatched.fetch_add(1);
          self.exit();
        });
  });
  testing::node_fixture f(modules);
  caller = f.runtime->launch("recorder", "");
  const handle_t quitter = f.runtime->launch("quitter", "");
  ASSERT_TRUE(eventually([&] { return record->size() == 4; }));
  std::vector<std::int32_t> sessions;
  for (const seen& s : record->get()) {
    EXPECT_EQ(s.type, ptype::error);
    EXPECT_EQ(s.source, quitter);
    sessions.push_back(s.session);
  }
  EXPECT_EQ(sessions, (std::vector<std::int32_t>{2, 3, 4, 5}));
  EXPECT_EQ(dispatched.load(), 1) << "a retired service gets no more messages";
}

TEST_F(node_test, failed_init_logs_and_bounces_what_was_queued) {
  std::atomic<handle_t> sender{0};
  modules.add("broken", [&] {
    return std::make_unique<lambda_service>(
        [&](context& self, std::string_view) {
          // A message queued during init must be answered with an error.
          self.owner().send(sender.load(), self.handle(), ptype::lua, 9, {});
          return false;
        },
        nullptr);
  });
  testing::node_fixture f(modules);
  sender = f.runtime->launch("recorder", "");
  EXPECT_EQ(f.runtime->launch("broken", "arg"), 0U);
  ASSERT_TRUE(eventually([&] { return f.log->contains("error: launch broken FAILED"); }));
  ASSERT_TRUE(eventually([&] { return record->size() == 1; }));
  EXPECT_EQ(record->get()[0].type, ptype::error);
  EXPECT_EQ(record->get()[0].session, 9);
}

TEST_F(node_test, message_to_another_harbor_is_dropped_with_an_error) {
  testing::node_fixture f(modules);
  const handle_t r = f.runtime->launch("recorder", "");
  EXPECT_TRUE(f.runtime->send(r, 0x03000001, ptype::lua, 4, payload::copy_of("abc")));
  ASSERT_TRUE(eventually([&] { return record->size() == 1; }));
  EXPECT_EQ(record->get()[0].type, ptype::error);
  EXPECT_EQ(record->get()[0].session, 4);
  EXPECT_EQ(record->get()[0].source, 0x03000001U);
  ASSERT_TRUE(eventually([&] {
    return f.log->contains("Drop message to harbor 3 from " + fmt::format("{:x}", r) +
                           " to 3000001 (session = 4, msgsz = 3)");
  }));
}

/// A remote_router that records what the node hands it.
class recording_router final : public remote_router {
 public:
  struct routed {
    handle_t source;
    handle_t dest;  ///< 0 for a global name
    std::string name;
    ptype type;
    std::int32_t session;
    std::string body;
  };
  void send_remote(handle_t source, handle_t dest, ptype type, std::int32_t session,
                   payload data) override {
    std::lock_guard lock(mutex_);
    seen_.push_back({source, dest, {}, type, session, std::string(data.view())});
  }
  void send_global(handle_t source, std::string_view name, ptype type, std::int32_t session,
                   payload data) override {
    std::lock_guard lock(mutex_);
    seen_.push_back({source, 0, std::string(name), type, session, std::string(data.view())});
  }
  std::vector<routed> get() const {
    std::lock_guard lock(mutex_);
    return seen_;
  }

 private:
  mutable std::mutex mutex_;
  std::vector<routed> seen_;
};

TEST_F(node_test, a_remote_router_takes_other_harbors_and_global_names_but_not_local_ones) {
  testing::node_fixture f(modules);
  const handle_t r = f.runtime->launch("recorder", "");
  auto router = std::make_shared<recording_router>();
  ASSERT_TRUE(f.runtime->set_remote_router(router));
  EXPECT_FALSE(f.runtime->set_remote_router(std::make_shared<recording_router>()))
      << "only the first router is taken";
  EXPECT_TRUE(f.runtime->send(r, 0x03000001, ptype::lua, 4, payload::copy_of("abc")));
  EXPECT_TRUE(f.runtime->send(r, ":03000002", ptype::lua, 0, payload::copy_of("hex")));
  EXPECT_TRUE(f.runtime->send(r, "GLOBAL", ptype::lua, 5, payload::copy_of("by name")));
  // Local destinations are not the router's: harbor 0 and a `.name`.
  ASSERT_TRUE(f.runtime->bind_name("local", r));
  EXPECT_TRUE(f.runtime->send(r, ".local", ptype::text, 0, payload::copy_of("here")));
  ASSERT_TRUE(eventually([&] { return record->size() == 1; }));
  EXPECT_EQ(record->get()[0].body, "here");
  const auto routed = router->get();
  ASSERT_EQ(routed.size(), 3U);
  EXPECT_EQ(routed[0].dest, 0x03000001U);
  EXPECT_EQ(routed[0].source, r);
  EXPECT_EQ(routed[0].session, 4);
  EXPECT_EQ(routed[0].body, "abc");
  EXPECT_EQ(routed[1].dest, 0x03000002U);
  EXPECT_EQ(routed[2].name, "GLOBAL");
  EXPECT_EQ(routed[2].session, 5);
  EXPECT_FALSE(f.log->contains("Drop message to harbor"));
}

TEST_F(node_test, timeouts_zero_run_behind_queued_messages_and_before_one_tick) {
  std::latch release(1);
  std::atomic<handle_t> target{0};
  modules.add("sleeper", [&] {
    return std::make_unique<lambda_service>(nullptr, [&](context& self, message& m) {
      if (m.session == -1) {
        // Hold the service while the test queues work behind it.
        release.wait();
        return;
      }
      (void)self;
    });
  });
  testing::node_fixture f(modules);
  const handle_t r = f.runtime->launch("recorder", "");
  target = r;
  // The recorder sees: a queued message, then timeout(0) x2 in order, then timeout(1).
  f.runtime->send(1, r, ptype::lua, 50, {});
  f.runtime->timeout(r, 1, 3);
  f.runtime->timeout(r, 0, 1);
  f.runtime->timeout(r, 0, 2);
  ASSERT_TRUE(eventually([&] { return record->size() == 4; }));
  auto got = record->get();
  EXPECT_EQ(got[0].session, 50);
  EXPECT_EQ(got[1].session, 1);
  EXPECT_EQ(got[2].session, 2);
  EXPECT_EQ(got[3].session, 3);
  for (std::size_t i = 1; i < 4; ++i) {
    EXPECT_EQ(got[i].type, ptype::response);
    EXPECT_EQ(got[i].source, 0U);
    EXPECT_TRUE(got[i].body.empty());
  }
  release.count_down();
}

TEST_F(node_test, clock_values) {
  testing::node_fixture f(modules);
  EXPECT_LT(f.runtime->now(), 100 + 50) << "now starts at the wall clock's centiseconds";
  EXPECT_LE(std::abs(f.runtime->start_time() - static_cast<std::int64_t>(std::time(nullptr))), 2);
  const std::int64_t before = f.runtime->now();
  ASSERT_TRUE(eventually([&] { return f.runtime->now() > before; }));
  const std::uint64_t first = node::hpc();
  ASSERT_TRUE(eventually([&] { return node::hpc() > first; })) << "hpc is monotonic ns";
}

TEST_F(node_test, overload_is_warned_as_the_queue_grows_not_when_the_service_gets_to_it) {
  std::latch release(1);
  modules.add("slow", [&] {
    return std::make_unique<lambda_service>(nullptr, [&](context&, message& m) {
      if (m.session == 1) release.wait();
    });
  });
  testing::node_fixture f(modules);
  const handle_t slow = f.runtime->launch("slow", "");
  f.runtime->send(0, slow, ptype::lua, 1, {});
  ASSERT_TRUE(eventually([&] { return f.runtime->queue_length(slow) == 0U; })) << "it is busy";
  for (int i = 0; i < 5000; ++i)
    f.runtime->send(0, slow, ptype::lua, 2, {});
  const std::string prefix = "error: May overload, message queue length = ";
  // Still stuck in its first message: skynet's thresholds, from the pushes themselves.
  ASSERT_TRUE(eventually([&] { return f.log->count_prefix(prefix) == 3; }));
  std::vector<std::string> lengths;
  for (const auto& line : f.log->lines()) {
    if (!line.text.starts_with(prefix)) continue;
    EXPECT_EQ(line.source, slow);
    lengths.push_back(line.text.substr(prefix.size()));
  }
  EXPECT_EQ(lengths, (std::vector<std::string>{"1025", "2049", "4097"}));
  EXPECT_EQ(f.runtime->queue_length(slow), 5000U);
  release.count_down();
  ASSERT_TRUE(eventually([&] { return f.runtime->queue_length(slow) == 0U; }));
  EXPECT_EQ(f.log->count_prefix(prefix), 3U);
  EXPECT_FALSE(f.runtime->queue_length(0x00ffffff).has_value()) << "no such service";
}

TEST_F(node_test, a_full_mailbox_fails_calls_drops_sends_and_keeps_replies) {
  std::latch release(1);
  std::atomic<int> handled{0};
  modules.add("limited", [&] {
    return std::make_unique<lambda_service>(
        [](context& self, std::string_view) {
          self.inbox().set_limit(3);
          return true;
        },
        [&](context&, message& m) {
          if (m.session == 100) release.wait();
          handled.fetch_add(1);
        });
  });
  add_recorder(modules, record);
  testing::node_fixture f(modules);
  const handle_t limited = f.runtime->launch("limited", "");
  const handle_t caller = f.runtime->launch("recorder", "");
  f.runtime->send(caller, limited, ptype::lua, 100, {});  // keeps it busy
  ASSERT_TRUE(eventually([&] { return f.runtime->queue_length(limited) == 0U; }));
  for (int i = 1; i <= 3; ++i)
    ASSERT_TRUE(f.runtime->send(caller, limited, ptype::lua, 0, {}));
  // Past the limit: a call is answered with an error at once, a send is dropped, and both
  // report success (the message was dealt with); replies and errors still get in.
  EXPECT_TRUE(f.runtime->send(caller, limited, ptype::lua, 7, {}));
  EXPECT_TRUE(f.runtime->send(caller, limited, ptype::lua, 0, {}));
  EXPECT_TRUE(f.runtime->send(caller, limited, ptype::lua, 8, {}));
  EXPECT_TRUE(f.runtime->send(caller, limited, ptype::response, 9, {}));
  EXPECT_TRUE(f.runtime->send(caller, limited, ptype::error, 10, {}));
  ASSERT_TRUE(eventually([&] { return record->size() == 2; }));
  const auto errors = record->get();
  EXPECT_EQ(errors[0].type, ptype::error);
  EXPECT_EQ(errors[0].source, limited);
  EXPECT_EQ(errors[0].session, 7);
  EXPECT_EQ(errors[1].session, 8) << "no error for the send: session 0 would mean 'gone'";
  const std::string prefix = "error: mailbox full, ";
  ASSERT_TRUE(eventually([&] { return f.log->count_prefix(prefix) == 2; }));
  EXPECT_TRUE(f.log->contains("error: mailbox full, 1 message(s) refused since it was last empty"));
  EXPECT_TRUE(f.log->contains("error: mailbox full, 2 message(s) refused since it was last empty"))
      << "then once per power of two: 1, 2, 4, ...";
  release.count_down();
  ASSERT_TRUE(eventually([&] { return handled.load() == 6; })) << "the first, 3 sends, 2 replies";
  EXPECT_EQ(record->size(), 2U);
}

TEST_F(node_test, stall_monitor_reports_a_long_dispatch) {
  std::atomic<bool> flagged{false};
  modules.add("looper", [&] {
    return std::make_unique<lambda_service>(nullptr, [&](context& self, message&) {
      // Spin until the monitor has flagged us: the test depends on the event, not on time.
      while (!self.take_endless())
        std::this_thread::yield();
      flagged = true;
    });
  });
  node_options options;
  options.stall_interval = std::chrono::milliseconds(20);
  testing::node_fixture f(modules, options);
  const handle_t looper = f.runtime->launch("looper", "");
  f.runtime->send(7, looper, ptype::lua, 0, {});
  ASSERT_TRUE(eventually([&] { return flagged.load(); }));
  const std::string expected_prefix = "error: A message from [ :00000007 ] to [ " +
                                      format_handle(looper) + " ] maybe in an endless loop";
  ASSERT_TRUE(eventually([&] { return f.log->contains_prefix(expected_prefix); }));
  for (const auto& line : f.log->lines()) {
    if (line.text.starts_with(expected_prefix)) {
      EXPECT_EQ(line.source, 0U);
    }
  }
  EXPECT_FALSE(f.runtime->grab(looper)->take_endless()) << "the flag is read-and-clear";
}

TEST_F(node_test, exit_monitor_hears_exit_and_kill) {
  testing::node_fixture f(modules);
  const handle_t monitor = f.runtime->launch("recorder", "");
  f.runtime->set_exit_monitor(monitor);
  modules.add("quiet", [] { return std::make_unique<lambda_service>(nullptr, nullptr); });
  const handle_t a = f.runtime->launch("quiet", "");
  const handle_t b = f.runtime->launch("quiet", "");
  f.runtime->exit(a);
  f.runtime->kill(monitor, b);
  f.runtime->kill(monitor, 0xd0);  // does not exist: still logged and reported
  ASSERT_TRUE(eventually([&] { return record->size() == 3; }));
  auto got = record->get();
  EXPECT_EQ(got[0].source, a);
  EXPECT_EQ(got[1].source, b);
  EXPECT_EQ(got[2].source, 0xd0U);
  for (const seen& s : got) {
    EXPECT_EQ(s.type, ptype::client);
    EXPECT_EQ(s.session, 0);
  }
  ASSERT_TRUE(eventually([&] { return f.log->contains("KILL :d0"); }));
  EXPECT_TRUE(f.log->contains("KILL self"));
  EXPECT_TRUE(f.log->contains("KILL " + format_handle_short(b)));
}

TEST_F(node_test, abort_retires_everything_and_wait_returns) {
  module_registry local;
  auto log = std::make_shared<testing::log_record>();
  testing::add_capture_logger(local, log);
  environment env;
  node n(node_options{.threads = 2}, local, env);
  n.bind_name("logger", n.launch("capture_logger", ""));
  n.start();
  n.abort();
  n.wait();
  EXPECT_EQ(n.live_services(), 0U);
  EXPECT_FALSE(log->contains_prefix("KILL"));
}

TEST_F(node_test, profile_accounts_cpu_only_when_enabled) {
  for (bool profile : {true, false}) {
    modules.add("busy", [] {
      return std::make_unique<lambda_service>(nullptr, [](context&, message&) {
        volatile std::uint64_t x = 0;
        for (int i = 0; i < 2'000'000; ++i)
          x = x + static_cast<std::uint64_t>(i);
      });
    });
    node_options options;
    options.profile = profile;
    testing::node_fixture f(modules, options);
    const handle_t h = f.runtime->launch("busy", "");
    f.runtime->send(0, h, ptype::lua, 0, {});
    auto ctx = f.runtime->grab(h);
    ASSERT_TRUE(eventually([&] { return ctx->message_count() == 1; }));
    // The worker's CPU meter settles when it waits for work, after the message.
    if (profile) {
      EXPECT_TRUE(eventually([&] { return ctx->cpu_ns() > 0; }));
    }
    f.runtime->abort();
    f.runtime->wait();
    EXPECT_EQ(ctx->cpu_ns() > 0, profile);
  }
}

}  // namespace
}  // namespace starling

namespace starling {
namespace {

TEST(command_line, splits_module_and_param_at_the_first_blank) {
  EXPECT_EQ(split_command_line("snlua bootstrap").module, "snlua");
  EXPECT_EQ(split_command_line("snlua bootstrap").param, "bootstrap");
  EXPECT_EQ(split_command_line("main").module, "main");
  EXPECT_EQ(split_command_line("main").param, "");
  EXPECT_EQ(split_command_line("m \t a  b ").param, "a  b ") << "the rest is kept as written";
  EXPECT_EQ(split_command_line("m   ").param, "");
  EXPECT_EQ(split_command_line("").module, "");
}

}  // namespace
}  // namespace starling
