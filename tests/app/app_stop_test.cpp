// The `starling` binary, run as a child process: failures that must not be silent (a pid file
// or a log file that cannot be written, a log device that fails, a bootstrap or start service
// that fails, harbor mode) and stopping (SIGTERM and SIGINT: graceful shutdown with hooks, a
// bounded wait, a second signal; shutdown.request). docs/DESIGN.md, "Stopping".

#include <gtest/gtest.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <csignal>
#include <filesystem>
#include <optional>
#include <regex>
#include <string>
#include <string_view>
#include <vector>

#include "app_harness.hpp"

namespace starling {
namespace {

namespace fs = std::filesystem;
using namespace app_testing;

const std::string source_dir = STARLING_SOURCE_DIR;

/// A node with the native bootstrap and `start`; `extra` is appended.
std::string native_config(std::string_view start, std::string_view extra = {}) {
  return cpath_line + "thread = 2\nharbor = 0\nbootstrap = \"bootstrap\"\nstart = \"" +
         std::string(start) + "\"\n" + std::string(extra);
}

/// A node with skynet's boot sequence (snlua bootstrap) and `start`, found in service/ or
/// tests/lua/services/; `extra` is appended.
std::string lua_config(std::string_view start, std::string_view extra = {}) {
  const std::string& s = source_dir;
  return "thread = 2\nharbor = 0\nstart = \"" + std::string(start) + "\"\n" + "lualoader = [==[" +
         s + "/lualib/loader.lua]==]\n" + "lua_path = [==[" + s + "/lualib/?.lua;" + s +
         "/lualib/?/init.lua]==]\n" + "luaservice = [==[" + s + "/service/?.lua;" + s +
         "/tests/lua/services/?.lua]==]\n" + std::string(extra);
}

/// The lines of `text` that contain `what`, in order.
std::vector<std::string> lines_with(const std::string& text, std::string_view what) {
  std::vector<std::string> found;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) {
    if (contains(line, what)) found.push_back(line);
  }
  return found;
}

/// Where `what` first appears in `text` (npos if it does not).
std::size_t at(const std::string& text, std::string_view what) {
  return text.find(what);
}

bool exited_with(const std::optional<int>& status, int code) {
  return status && WIFEXITED(*status) && WEXITSTATUS(*status) == code;
}

/// The pid in a complete pid file ("N\n"), or nothing yet.
std::optional<pid_t> read_pid(const std::string& path) {
  static const std::regex complete(R"((\d+)\n)");
  std::smatch m;
  const std::string text = read_file(path);
  if (!std::regex_match(text, m, complete)) return std::nullopt;
  return static_cast<pid_t>(std::stol(m[1]));
}

class app_stop : public app {
 protected:
  /// Starts the binary with `cfg`, stdout and stderr into the files of `s`.
  struct running {
    launch_spec spec;
    child_process child;
    explicit running(launch_spec s) : spec(std::move(s)), child(spec) {}
    [[nodiscard]] std::string out() const { return read_file(spec.out_path); }
    [[nodiscard]] std::string err() const { return read_file(spec.err_path); }
    /// Waits until stdout contains `what`.
    [[nodiscard]] bool says(std::string_view what) const {
      return poll_until([&] { return contains(out(), what); });
    }
  };
  running start(std::string_view config) {
    write_config(config);
    return running(spec({"cfg"}));
  }
};

// ---- failures that must not be silent -------------------------------------------------

TEST_F(app_stop, daemon_with_a_pid_file_that_cannot_be_written_exits_one_before_detaching) {
  // It used to detach first: the message went to /dev/null and the command exited 0.
  const std::string pid_file = dir_.file("no/such/dir/node.pid");
  write_config(native_config("pong", "daemon = \"" + pid_file + "\"\n"));
  const run_result r = run({"cfg"});
  ASSERT_EQ(r.exit_code(), 1) << r.describe();
  EXPECT_EQ(r.err, "starling: cannot write pid file " + pid_file + ": No such file or directory\n");
  EXPECT_EQ(r.out, "");
}

TEST_F(app_stop, daemon_with_a_log_file_that_cannot_be_opened_exits_one_before_detaching) {
  const std::string pid_file = dir_.file("node.pid");
  const std::string log = dir_.file("no/such/dir/node.log");
  write_config(native_config("pong", "daemon = \"" + pid_file + "\"\nlogger = \"" + log + "\"\n"));
  const run_result r = run({"cfg"});
  ASSERT_EQ(r.exit_code(), 1) << r.describe();
  EXPECT_EQ(r.err, "logger: cannot open log file " + log +
                       ": No such file or directory\nCan't launch logger service\n");
  EXPECT_FALSE(fs::exists(pid_file));
}

TEST_F(app_stop, log_file_on_a_full_device_is_reported_once_and_the_node_goes_on) {
  // pingpong_main logs a few lines, every one lost, then aborts the node normally.
  write_config(native_config("pingpong_main", "logger = \"/dev/full\"\n"));
  const run_result r = run({"cfg"});
  ASSERT_EQ(r.exit_code(), 0) << r.describe();
  EXPECT_EQ(r.err,
            "logger: cannot write to /dev/full: No space left on device; lines are lost until "
            "it works again\n");
}

TEST_F(app_stop, stdout_on_a_full_device_is_reported_once_and_the_node_goes_on) {
  write_config(native_config("pingpong_main"));
  launch_spec s = spec({"cfg"});
  s.out_path = "/dev/full";  // never read back: reading /dev/full never ends
  std::optional<int> status;
  {
    child_process child(s);
    ASSERT_TRUE(child.started());
    status = child.wait_for(run_limit);
  }
  EXPECT_TRUE(exited_with(status, 0)) << (status ? *status : -1);
  EXPECT_EQ(read_file(s.err_path),
            "logger: cannot write to stdout: No space left on device; lines are lost until it "
            "works again\n");
}

TEST_F(app_stop, native_start_service_that_fails_exits_one_with_the_reason) {
  // skynet's bootstrap ignores it and the node idles on with nothing running.
  write_config(native_config("nosuch"));
  const run_result r = run({"cfg"});
  ASSERT_EQ(r.exit_code(), 1) << r.describe();
  EXPECT_TRUE(r.err.ends_with("starling: bootstrap: start service nosuch failed\n")) << r.err;
  EXPECT_TRUE(contains(r.out, "[:00000002] error: start service nosuch failed\n")) << r.out;
}

TEST_F(app_stop, lua_start_service_that_fails_exits_one_with_the_reason) {
  write_config(lua_config("startfail"));
  const run_result r = run({"cfg"});
  ASSERT_EQ(r.exit_code(), 1) << r.describe();
  EXPECT_EQ(r.err,
            "starling: bootstrap: start service startfail failed (its error is in the log "
            "above)\n");
  EXPECT_LT(at(r.out, "init service failed: "), at(r.out, "bootstrap: start service startfail"))
      << r.out;
  EXPECT_TRUE(contains(r.out, "startfail: boom in start")) << r.out;
}

TEST_F(app_stop, lua_bootstrap_in_harbor_mode_without_address_exits_one) {
  // harbor = 1 is harbor mode (docs/HARBOR.md); without `address` the cslave cannot start.
  write_config(lua_config("main", "harbor = 1\n"));
  const run_result r = run({"cfg"});
  ASSERT_EQ(r.exit_code(), 1) << r.describe();
  EXPECT_EQ(r.err, "starling: bootstrap: cslave failed to start (its error is in the log above)\n");
  EXPECT_TRUE(contains(r.out, "[:01000004] init service failed: ")) << r.out;
  EXPECT_TRUE(contains(r.out, "cslave.lua")) << r.out;
  EXPECT_TRUE(contains(r.out, "assertion failed!")) << r.out;
}

TEST_F(app_stop, lua_bootstrap_that_cannot_be_loaded_exits_one) {
  // Nothing is left but the logger: nothing could ever run again.
  write_config(lua_config("main", "luaservice = [==[" + dir_.file("nowhere/?.lua") + "]==]\n"));
  const run_result r = run({"cfg"});
  ASSERT_EQ(r.exit_code(), 1) << r.describe();
  EXPECT_TRUE(
      contains(r.out, "lua loader error : cannot open " + dir_.file("nowhere/bootstrap.lua")))
      << r.out;
  EXPECT_EQ(r.err,
            "starling: no service is running but the logger (did the bootstrap or the start "
            "service fail? see the log)\n");
}

TEST_F(app_stop, out_of_file_descriptors_listen_and_require_say_so) {
  // A require then said only "module 'skynet.queue' not found: ... no file '...'".
  write_config(lua_config("fdhog"));
  launch_spec s = spec({"cfg"});
  s.max_files = 64;
  std::optional<int> status;
  {
    child_process child(s);
    ASSERT_TRUE(child.started());
    status = child.wait_for(run_limit);
  }
  const std::string out = read_file(s.out_path);
  EXPECT_TRUE(exited_with(status, 0)) << (status ? *status : -1) << out << read_file(s.err_path);
  EXPECT_TRUE(contains(out, "] listen: Listen error: 127.0.0.1:0: Too many open files\n")) << out;
  EXPECT_TRUE(contains(out, "module 'skynet.queue' not found:")) << out;
  EXPECT_TRUE(contains(
      out, "cannot open '" + source_dir + "/lualib/skynet/queue.lua': Too many open files"))
      << out;
}

// ---- graceful shutdown ----------------------------------------------------------------

TEST_F(app_stop, sigterm_stops_accepting_runs_the_hooks_flushes_the_log_and_exits_zero) {
  running node = start(lua_config("shutdown_hook hook"));
  ASSERT_TRUE(node.child.started());
  ASSERT_TRUE(node.says("] ready ")) << node.out() << node.err();
  node.child.signal(SIGTERM);
  const std::optional<int> status = node.child.wait_for(poll_limit);
  ASSERT_TRUE(exited_with(status, 0)) << (status ? *status : -1) << node.out() << node.err();
  const std::string out = node.out();
  EXPECT_EQ(node.err(), "");
  EXPECT_EQ(lines_with(out, "shutdown ("),
            std::vector<std::string>{"[:00000000] shutdown (SIGTERM): listeners closed: 1, "
                                     "services told: 1, waiting up to 5.00 s"});
  // The listener was closed before the hook ran; the hook's last line reached the log.
  const std::size_t told = at(out, "] hook: SIGTERM\n");
  const std::size_t refused = at(out, "] hook: a connect now is refused\n");
  const std::size_t done = at(out, "] hook: done\n");
  EXPECT_LT(at(out, "shutdown (SIGTERM)"), told) << out;
  EXPECT_LT(told, refused) << out;
  EXPECT_LT(refused, done) << out;
  EXPECT_NE(done, std::string::npos) << out;
}

TEST_F(app_stop, sigint_stops_a_native_node_and_exits_zero) {
  running node = start(native_config("pong"));
  ASSERT_TRUE(node.says("[:00000002] KILL self\n")) << node.out();
  node.child.signal(SIGINT);
  const std::optional<int> status = node.child.wait_for(poll_limit);
  ASSERT_TRUE(exited_with(status, 0)) << (status ? *status : -1) << node.out() << node.err();
  EXPECT_TRUE(contains(node.out(),
                       "[:00000000] shutdown (SIGINT): listeners closed: 0, services "
                       "told: 0\n"))
      << node.out();
  EXPECT_EQ(node.err(), "");
}

TEST_F(app_stop, shutdown_timeout_bounds_the_wait_for_a_hook_that_never_returns) {
  running node = start(lua_config("shutdown_hook stuck", "shutdown_timeout = 30\n"));
  ASSERT_TRUE(node.says("] ready ")) << node.out();
  node.child.signal(SIGTERM);
  const std::optional<int> status = node.child.wait_for(poll_limit);
  ASSERT_TRUE(exited_with(status, 0)) << (status ? *status : -1) << node.out() << node.err();
  const std::string out = node.out();
  EXPECT_TRUE(contains(out, "services told: 1, waiting up to 0.30 s\n")) << out;
  EXPECT_LT(at(out, "] hook: stuck\n"),
            at(out, "] shutdown: still busy when the time ran out, stopped anyway: :0000000"))
      << out;
}

TEST_F(app_stop, a_second_signal_during_the_shutdown_ends_the_process_at_once) {
  running node = start(lua_config("shutdown_hook stuck", "shutdown_timeout = 6000\n"));
  ASSERT_TRUE(node.says("] ready ")) << node.out();
  node.child.signal(SIGTERM);
  ASSERT_TRUE(node.says("] hook: stuck\n")) << node.out();
  node.child.signal(SIGINT);
  // Far sooner than the 60 s the first signal would have waited.
  const std::optional<int> status = node.child.wait_for(poll_limit);
  ASSERT_TRUE(status && WIFSIGNALED(*status) && WTERMSIG(*status) == SIGINT)
      << (status ? *status : -1) << node.out() << node.err();
  EXPECT_EQ(node.err(), "starling: SIGINT during shutdown: exiting now\n");
}

TEST_F(app_stop, a_service_can_ask_for_the_shutdown_and_the_exit_status) {
  write_config(lua_config("shutdown_hook request"));
  const run_result r = run({"cfg"});
  ASSERT_EQ(r.exit_code(), 3) << r.describe();
  EXPECT_EQ(r.err, "starling: maintenance\n");
  EXPECT_TRUE(contains(r.out, "[:00000000] shutdown (maintenance): listeners closed: 1")) << r.out;
}

// ---- daemons: the pid file goes in both ways of stopping ------------------------------

class app_stop_daemon : public app_stop {
 protected:
  void SetUp() override { ASSERT_EQ(::prctl(PR_SET_CHILD_SUBREAPER, 1), 0); }

  /// Starts a daemon with `config` (plus its pid file and log); returns its pid.
  std::optional<pid_t> start_daemon(const std::string& config) {
    write_config(config + "daemon = \"" + pid_file_ + "\"\nlogger = \"" + log_ + "\"\n");
    const run_result first = run({"cfg"});
    EXPECT_EQ(first.exit_code(), 0) << first.describe();
    std::optional<pid_t> pid;
    poll_until([&] { return (pid = read_pid(pid_file_)).has_value(); });
    return pid;
  }

  const std::string pid_file_ = dir_.file("node.pid");
  const std::string log_ = dir_.file("node.log");
};

TEST_F(app_stop_daemon, sigterm_removes_the_pid_file_and_exits_zero) {
  const std::optional<pid_t> pid = start_daemon(native_config("pong"));
  ASSERT_TRUE(pid) << read_file(log_);
  child_process daemon(*pid);
  ASSERT_TRUE(poll_until([&] { return contains(read_file(log_), "[:00000002] KILL self\n"); }))
      << read_file(log_);
  daemon.signal(SIGTERM);
  const std::optional<int> status = daemon.wait_for(poll_limit);
  ASSERT_TRUE(exited_with(status, 0)) << (status ? *status : -1) << read_file(log_);
  EXPECT_FALSE(fs::exists(pid_file_));
  EXPECT_TRUE(contains(read_file(log_), "[:00000000] shutdown (SIGTERM)")) << read_file(log_);
}

TEST_F(app_stop_daemon, a_second_signal_removes_the_pid_file_too) {
  const std::optional<pid_t> pid =
      start_daemon(lua_config("shutdown_hook stuck", "shutdown_timeout = 6000\n"));
  ASSERT_TRUE(pid) << read_file(log_);
  child_process daemon(*pid);
  ASSERT_TRUE(poll_until([&] { return contains(read_file(log_), "] ready "); })) << read_file(log_);
  daemon.signal(SIGTERM);
  ASSERT_TRUE(poll_until([&] { return contains(read_file(log_), "] hook: stuck\n"); }))
      << read_file(log_);
  daemon.signal(SIGTERM);
  const std::optional<int> status = daemon.wait_for(poll_limit);
  ASSERT_TRUE(status && WIFSIGNALED(*status) && WTERMSIG(*status) == SIGTERM)
      << (status ? *status : -1);
  EXPECT_FALSE(fs::exists(pid_file_));
}

}  // namespace
}  // namespace starling
