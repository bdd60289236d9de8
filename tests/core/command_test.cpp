#include "core/command.hpp"

#include <fmt/format.h>
#include <gtest/gtest.h>

#include <fstream>
#include <mutex>
#include <string>
#include <vector>

#include "../support/temp_dir.hpp"
#include "../support/test_services.hpp"

namespace starling {
namespace {

using testing::eventually;

/// Runs commands inside a service (commands are for a service's own dispatch) and keeps the
/// answers; "-" stands for "nothing".
class commander {
 public:
  explicit commander(module_registry& modules) {
    modules.add("commander", [this] {
      return std::make_unique<testing::lambda_service>(nullptr, [this](context& self, message& m) {
        if (m.type != ptype::text) return;
        const std::string line(m.data.view());
        const auto blank = line.find(' ');
        const std::string command = line.substr(0, blank);
        const std::string param = blank == std::string::npos ? "" : line.substr(blank + 1);
        auto answer = run_command(self, command, param);
        std::lock_guard lock(mutex_);
        answers_.push_back(answer.value_or("-"));
      });
    });
  }

  /// Sends `line` to the commander `h` and waits for its answer.
  std::string run(node& runtime, handle_t h, const std::string& line) {
    std::size_t before = 0;
    {
      std::lock_guard lock(mutex_);
      before = answers_.size();
    }
    runtime.send(0, h, ptype::text, 0, payload::copy_of(line));
    EXPECT_TRUE(eventually([&] {
      std::lock_guard lock(mutex_);
      return answers_.size() > before;
    }));
    std::lock_guard lock(mutex_);
    return answers_.back();
  }

 private:
  std::mutex mutex_;
  std::vector<std::string> answers_;
};

class command_test : public ::testing::Test {
 protected:
  module_registry modules;
  commander commands{modules};
};

TEST_F(command_test, reg_query_and_name) {
  testing::node_fixture f(modules);
  const handle_t h = f.runtime->launch("commander", "");
  node& n = *f.runtime;
  EXPECT_EQ(commands.run(n, h, "REG"), format_handle_short(h));
  EXPECT_EQ(commands.run(n, h, "REG .mine"), "-");
  EXPECT_EQ(commands.run(n, h, "QUERY .mine"), format_handle_short(h));
  EXPECT_EQ(commands.run(n, h, "QUERY .nobody"), "-");
  EXPECT_EQ(commands.run(n, h, "REG GLOBAL"), "-");
  ASSERT_TRUE(
      eventually([&] { return f.log->contains("error: Can't register global name GLOBAL in C"); }));
  EXPECT_EQ(commands.run(n, h, "NAME .other " + format_handle(h)), "-");
  EXPECT_EQ(n.find_name("other"), h);
}

TEST_F(command_test, launch_answers_uppercase_hex_and_kill_logs) {
  testing::node_fixture f(modules);
  node& n = *f.runtime;
  const handle_t h = n.launch("commander", "");
  const std::string launched = commands.run(n, h, "LAUNCH commander x");
  ASSERT_EQ(launched.size(), 9U);
  const handle_t child = *parse_handle(launched);
  EXPECT_EQ(launched, format_handle_upper(child));
  EXPECT_EQ(commands.run(n, h, "LAUNCH no_such_module"), "-");
  EXPECT_EQ(commands.run(n, h, "KILL " + format_handle_short(child)), "-");
  EXPECT_FALSE(n.grab(child));
  ASSERT_TRUE(eventually([&] { return f.log->contains("KILL " + format_handle_short(child)); }));
  EXPECT_EQ(commands.run(n, h, "KILL .unknown"), "-");
}

TEST_F(command_test, shutdown_watch_done_and_request) {
  testing::node_fixture f(modules);
  node& n = *f.runtime;
  const handle_t a = n.launch("commander", "");
  const handle_t b = n.launch("commander", "");
  shutdown_board& board = n.shutdown();
  EXPECT_EQ(commands.run(n, a, "SHUTDOWN watch"), "-");
  EXPECT_EQ(commands.run(n, b, "SHUTDOWN watch"), "-");
  EXPECT_EQ(commands.run(n, a, "SHUTDOWN watch"), "-");  // once only
  EXPECT_EQ(board.watchers(), (std::vector<handle_t>{a, b}));
  EXPECT_EQ(commands.run(n, a, "SHUTDOWN done"), "-");
  EXPECT_FALSE(board.watching(a));
  n.kill(0, b);  // a retired service watches nothing
  EXPECT_TRUE(board.watchers().empty());

  EXPECT_FALSE(board.requested());
  EXPECT_EQ(commands.run(n, a, "SHUTDOWN request 3 the reason, with blanks"), "-");
  EXPECT_EQ(commands.run(n, a, "SHUTDOWN request 0 a later one"), "-");  // the first wins
  const auto request = board.requested();
  ASSERT_TRUE(request);
  EXPECT_EQ(request->status, 3);
  EXPECT_EQ(request->reason, "the reason, with blanks");
}

TEST_F(command_test, logon_writes_every_dispatched_message_until_logoff) {
  testing::temp_dir dir;
  testing::node_fixture f(modules);
  node& n = *f.runtime;
  const handle_t h = n.launch("commander", "");
  const handle_t target = n.launch("commander", "");
  EXPECT_EQ(commands.run(n, h, "LOGON " + format_handle(target)), "-");
  EXPECT_FALSE(f.log->contains("Open log file")) << "no logpath: nothing happens";
  f.env.set("logpath", dir.path());
  EXPECT_EQ(commands.run(n, h, "LOGON " + format_handle(target)), "-");
  const std::string path = fmt::format("{}/{:08x}.log", dir.path(), target);
  ASSERT_TRUE(eventually([&] { return f.log->contains("Open log file " + path); }));
  EXPECT_EQ(commands.run(n, target, "REG"), format_handle_short(target));
  EXPECT_EQ(commands.run(n, h, "LOGOFF " + format_handle(target)), "-");
  ASSERT_TRUE(
      eventually([&] { return f.log->contains("Close log file " + format_handle(target)); }));
  EXPECT_EQ(commands.run(n, target, "REG"), format_handle_short(target));  // not logged

  std::ifstream in(path);
  std::string header, line, footer, extra;
  std::getline(in, header);
  std::getline(in, line);
  std::getline(in, footer);
  EXPECT_EQ(header.rfind("open time: ", 0), 0U) << header;
  EXPECT_EQ(line.rfind(":00000000 0 0 ", 0), 0U) << line;
  EXPECT_TRUE(line.ends_with(" 524547")) << "the payload \"REG\" in hex: " << line;
  EXPECT_EQ(footer.rfind("close time: ", 0), 0U) << footer;
  EXPECT_FALSE(std::getline(in, extra)) << extra;
}

TEST_F(command_test, env_and_starttime) {
  testing::node_fixture f(modules);
  node& n = *f.runtime;
  const handle_t h = n.launch("commander", "");
  EXPECT_EQ(commands.run(n, h, "GETENV k"), "-");
  EXPECT_EQ(commands.run(n, h, "SETENV k a value with spaces"), "-");
  EXPECT_EQ(commands.run(n, h, "GETENV k"), "a value with spaces");
  EXPECT_EQ(commands.run(n, h, "SETENV nospace"), "-");
  EXPECT_EQ(commands.run(n, h, "GETENV nospace"), "-") << "a parameter without a space is ignored";
  EXPECT_EQ(commands.run(n, h, "STARTTIME"), std::to_string(n.start_time()));
}

TEST_F(command_test, timeout_allocates_a_session_and_fires) {
  auto record = std::make_shared<std::atomic<int>>(0);
  modules.add("watch", [record] {
    return std::make_unique<testing::lambda_service>(nullptr, [record](context& self, message& m) {
      if (m.type == ptype::text) {
        EXPECT_EQ(run_command(self, "TIMEOUT", "1"), "1") << "the first session is 1";
        EXPECT_EQ(run_command(self, "TIMEOUT", "0"), "2");
      } else if (m.type == ptype::response && m.source == 0) {
        record->fetch_add(m.session);
      }
    });
  });
  testing::node_fixture f(modules);
  const handle_t h = f.runtime->launch("watch", "");
  f.runtime->send(0, h, ptype::text, 0, {});
  ASSERT_TRUE(eventually([&] { return record->load() == 3; }));
}

TEST_F(command_test, monitor_set_and_read) {
  testing::node_fixture f(modules);
  node& n = *f.runtime;
  const handle_t h = n.launch("commander", "");
  EXPECT_EQ(commands.run(n, h, "MONITOR"), "-");
  EXPECT_EQ(commands.run(n, h, "MONITOR " + format_handle(h)), "-");
  EXPECT_EQ(commands.run(n, h, "MONITOR"), format_handle_short(h));
}

TEST_F(command_test, stat_values) {
  testing::node_fixture f(modules);
  node& n = *f.runtime;
  const handle_t h = n.launch("commander", "");
  EXPECT_EQ(commands.run(n, h, "STAT mqlen"), "0");
  EXPECT_EQ(commands.run(n, h, "STAT endless"), "0");
  EXPECT_EQ(commands.run(n, h, "STAT message"), "2")
      << "the two earlier commands (counted when done)";
  EXPECT_EQ(commands.run(n, h, "STAT unknown"), "");
  EXPECT_GE(std::stod(commands.run(n, h, "STAT cpu")), 0.0);
  EXPECT_GE(std::stod(commands.run(n, h, "STAT time")), 0.0);
  EXPECT_EQ(commands.run(n, h, "NOSUCH"), "-");
}

TEST_F(command_test, mqlimit_sets_and_reads_the_mailbox_limit) {
  testing::node_fixture f(modules);
  node& n = *f.runtime;
  const handle_t h = n.launch("commander", "");
  EXPECT_EQ(commands.run(n, h, "MQLIMIT"), "0") << "no limit unless asked";
  EXPECT_EQ(commands.run(n, h, "MQLIMIT 100"), "100");
  EXPECT_EQ(commands.run(n, h, "MQLIMIT"), "100");
  EXPECT_EQ(commands.run(n, h, "MQLIMIT -1"), "-");
  EXPECT_EQ(commands.run(n, h, "MQLIMIT 12x"), "-");
  EXPECT_EQ(commands.run(n, h, "MQLIMIT"), "100") << "a bad parameter changes nothing";
  EXPECT_EQ(commands.run(n, h, "MQLIMIT 0"), "0");
}

TEST_F(command_test, signal_reaches_the_service) {
  auto received = std::make_shared<std::atomic<int>>(-1);
  struct signalled final : service {
    explicit signalled(std::shared_ptr<std::atomic<int>> r) : received(std::move(r)) {}
    bool init(context&, std::string_view) override { return true; }
    void dispatch(context&, message&) override {}
    void signal(context&, int number) override { received->store(number); }
    std::shared_ptr<std::atomic<int>> received;
  };
  modules.add("signalled", [received] { return std::make_unique<signalled>(received); });
  testing::node_fixture f(modules);
  node& n = *f.runtime;
  const handle_t target = n.launch("signalled", "");
  const handle_t h = n.launch("commander", "");
  commands.run(n, h, "SIGNAL " + format_handle_short(target) + " 1");
  EXPECT_EQ(received->load(), 1);
  commands.run(n, h, "SIGNAL " + format_handle_short(target));
  EXPECT_EQ(received->load(), 0) << "the number defaults to 0";
}

TEST_F(command_test, exit_and_abort) {
  testing::node_fixture f(modules);
  node& n = *f.runtime;
  const handle_t h = n.launch("commander", "");
  commands.run(n, h, "EXIT");
  EXPECT_FALSE(n.grab(h));
  ASSERT_TRUE(eventually([&] { return f.log->contains("KILL self"); }));
  const handle_t other = n.launch("commander", "");
  n.send(0, other, ptype::text, 0, payload::copy_of("ABORT"));
  ASSERT_TRUE(eventually([&] { return n.live_services() == 0; }));
}

}  // namespace
}  // namespace starling
