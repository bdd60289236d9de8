// The `starling` binary, run as a child process: command line, config errors, the demo, the
// boot paths of the native bootstrap, the file logger, daemon mode and SIGHUP: the config
// checklist and items 17 and 18 of the core checklist (docs/TESTING.md).
// Failures and stopping (exit statuses, signals, the pid file) are in app_stop_test.cpp.

#include <gtest/gtest.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <csignal>
#include <filesystem>
#include <fstream>
#include <optional>
#include <regex>
#include <sstream>
#include <string>
#include <string_view>
#include <vector>

#include "../support/redis_server.hpp"
#include "app_harness.hpp"

namespace starling {
namespace {

namespace fs = std::filesystem;
using namespace app_testing;

// ---- command line (config checklist 1 and 2) ------------------------------------------

TEST_F(app, help_prints_usage_on_stdout) {
  const run_result r = run({"--help"});
  ASSERT_EQ(r.exit_code(), 0) << r.describe();
  EXPECT_TRUE(r.out.starts_with("usage: starling CONFIG\n")) << r.out;
  EXPECT_EQ(r.err, "");
}

TEST_F(app, version_prints_the_project_version) {
  const run_result r = run({"--version"});
  ASSERT_EQ(r.exit_code(), 0) << r.describe();
  EXPECT_EQ(r.out, "starling " STARLING_VERSION "\n");
  EXPECT_EQ(r.err, "");
}

TEST_F(app, no_argument_prints_usage_on_stderr_and_exits_one) {
  for (const std::vector<std::string>& args :
       {std::vector<std::string>{}, std::vector<std::string>{"a", "b"}}) {
    const run_result r = run(args);
    EXPECT_EQ(r.exit_code(), 1) << r.describe();
    EXPECT_TRUE(contains(r.err, "usage: starling CONFIG\n")) << r.err;
    EXPECT_EQ(r.out, "");
  }
}

TEST_F(app, missing_config_file_is_one_line_on_stderr) {
  const run_result r = run({"missing.cfg"});
  ASSERT_EQ(r.exit_code(), 1) << r.describe();
  EXPECT_EQ(count_of(r.err, "\n"), 1u) << r.err;
  EXPECT_TRUE(contains(r.err, "missing.cfg: No such file or directory")) << r.err;
  EXPECT_EQ(r.out, "");  // no service ran
}

// ---- config errors (config checklist 3, 5, 6, 7; the core keys) -----------------------

struct config_error_case {
  const char* name;
  const char* config;
  const char* message;  // a substring of the one stderr line
  std::vector<std::string> set_env;
};

// gtest looks this name up to print a parameter.
void PrintTo(const config_error_case& c, std::ostream* out) {
  *out << c.name;
}

class app_config_error : public app, public ::testing::WithParamInterface<config_error_case> {};

TEST_P(app_config_error, exits_one_with_one_line_on_stderr) {
  const config_error_case& c = GetParam();
  write_config(c.config);
  const run_result r = run({"cfg"}, {}, c.set_env);
  ASSERT_EQ(r.exit_code(), 1) << r.describe();
  EXPECT_EQ(count_of(r.err, "\n"), 1u) << r.err;
  EXPECT_TRUE(r.err.ends_with("\n")) << r.err;
  EXPECT_TRUE(contains(r.err, c.message)) << r.err;
  EXPECT_EQ(r.out, "");  // fails before any service starts
}

INSTANTIATE_TEST_SUITE_P(
    app, app_config_error,
    ::testing::Values(
        config_error_case{"syntax_error", "thread = 2\nharbor = = 0\n", "cfg:2: unexpected symbol"},
        config_error_case{"table_value", "t = {}\n", "Invalid config table key = t"},
        config_error_case{"unset_variable", "x = \"$STARLING_APP_TEST_UNSET\"\n",
                          "os.getenv() failed: STARLING_APP_TEST_UNSET"},
        config_error_case{"unset_variable_in_a_comment", "-- $STARLING_APP_TEST_UNSET\nx = 1\n",
                          "os.getenv() failed: STARLING_APP_TEST_UNSET"},
        config_error_case{"standard_library_is_hidden", "x = tostring(1)\n", "tostring"},
        config_error_case{"thread_zero", "thread = 0\n",
                          "Invalid thread 0 , should be in [1,1024]"},
        config_error_case{"thread_too_many", "thread = 2000\n",
                          "Invalid thread 2000 , should be in [1,1024]"},
        // $VAR is substituted in a numeric context too: the value reaches the range check.
        config_error_case{"thread_from_variable",
                          "thread = $STARLING_APP_TEST_THREADS\n",
                          "Invalid thread 2000 ",
                          {"STARLING_APP_TEST_THREADS=2000"}},
        config_error_case{"cpath_without_question_mark", "cpath = \"./cservice/x.so\"\n",
                          "Invalid C service path"},
        config_error_case{"call_timeout_in_seconds", "call_timeout = \"5s\"\n",
                          "Invalid call_timeout 5s , should be a whole number of centiseconds"},
        config_error_case{"shutdown_timeout_negative", "shutdown_timeout = -1\n",
                          "Invalid shutdown_timeout -1 "}),
    [](const ::testing::TestParamInfo<config_error_case>& case_info) {
      return case_info.param.name;
    });

// ---- the demo and the boot paths (config checklist 9, 10, 12) -------------------------

TEST_F(app, pingpong_demo_runs_from_examples_and_exits_zero_after_abort) {
  // As `make run` does: relative paths in a config are relative to the working directory.
  const run_result r = run({"pingpong/config"}, STARLING_SOURCE_DIR "/examples");
  ASSERT_EQ(r.exit_code(), 0) << r.describe();
  EXPECT_TRUE(contains(r.out, "[:00000002] LAUNCH bootstrap")) << r.out;
  EXPECT_TRUE(contains(r.out, "[:00000003] LAUNCH pingpong_main")) << r.out;
  EXPECT_TRUE(contains(r.out, "] ping 1 -> pong 1\n")) << r.out;
  EXPECT_TRUE(contains(r.out, "] ping 3 -> pong 3\n")) << r.out;
  // The bootstrap exits itself; abort adds no KILL line (core checklist 17).
  EXPECT_TRUE(contains(r.out, "[:00000002] KILL self\n")) << r.out;
  EXPECT_EQ(count_of(r.out, "KILL"), 1u) << r.out;
  EXPECT_EQ(r.err, "");
}

TEST_F(app, redis_demo_runs_against_a_throwaway_redis_server) {
  const testing::redis_server redis;
  const run_result r = run({"redis_native/config"}, STARLING_SOURCE_DIR "/examples",
                           {"REDIS_PORT=" + std::to_string(redis.port())});
  ASSERT_EQ(r.exit_code(), 0) << r.describe();
  EXPECT_TRUE(contains(r.out, "] GET -> \"hello\"\n")) << r.out;
  EXPECT_TRUE(contains(r.out, "] LPUSH on a string -> (error) WRONGTYPE")) << r.out;
  EXPECT_TRUE(contains(r.out, "] pipeline -> (integer) 10 (integer) 15 \"15\" (integer) 1\n"))
      << r.out;
  EXPECT_TRUE(contains(r.out, "] message on starling:demo:news: item 3\n")) << r.out;
}

TEST_F(app, redis_bench_prints_the_figures_of_the_lua_benchmark) {
  const testing::redis_server redis;
  write_config(cpath_line +
               "thread = 2\nharbor = 0\nbootstrap = \"bootstrap\"\nstart = \"redis_bench\"\n"
               "bench_redis_port = " +
               std::to_string(redis.port()) + "\nbench_phase_time = 0.1\n");
  const run_result r = run({"cfg"});
  ASSERT_EQ(r.exit_code(), 0) << r.describe();
  for (const char* metric :
       {"set_c1 ", "set_c1_p50 ", "get_c1 ", "get_c1_p50 ", "set_c32 ", "get_c32 "}) {
    EXPECT_TRUE(contains(r.out, std::string("RESULT redis ") + metric)) << r.out;
  }
  EXPECT_FALSE(contains(r.out, "BENCHERR")) << r.out;
}

TEST_F(app, unknown_bootstrap_is_reported_through_the_logger_and_exits_one) {
  write_config("thread = 2\nharbor = 0\nbootstrap = \"nosuch\"\n");
  const run_result r = run({"cfg"});
  ASSERT_EQ(r.exit_code(), 1) << r.describe();
  EXPECT_TRUE(contains(r.out, "[:00000000] Bootstrap error : nosuch\n")) << r.describe();
}

TEST_F(app, a_native_module_missing_from_cpath_fails_its_launch_with_the_reason_on_stderr) {
  write_config(cpath_line + "thread = 2\nharbor = 0\nbootstrap = \"nosuch\"\n");
  const run_result r = run({"cfg"});
  ASSERT_EQ(r.exit_code(), 1) << r.describe();
  EXPECT_TRUE(contains(r.err, "try open nosuch failed : " + cservice_dir +
                                  "/nosuch.so: cannot open shared object file"))
      << r.describe();
  EXPECT_TRUE(contains(r.out, "[:00000000] Bootstrap error : nosuch\n")) << r.describe();
}

TEST_F(app, bootstrap_whose_init_fails_is_reported_after_its_own_line) {
  // The failed init queues `launch ... FAILED` before `Bootstrap error`: both must be written
  // before the node goes down.
  const std::string bad = dir_.file("no/such/dir/x.log");
  write_config("thread = 2\nharbor = 0\nbootstrap = \"logger " + bad + "\"\n");
  const run_result r = run({"cfg"});
  ASSERT_EQ(r.exit_code(), 1) << r.describe();
  EXPECT_TRUE(contains(r.out, "[:00000002] error: launch logger FAILED\n")) << r.describe();
  EXPECT_TRUE(contains(r.out, "[:00000000] Bootstrap error : logger " + bad + "\n"))
      << r.describe();
}

TEST_F(app, logger_file_gets_timestamped_lines_and_stdout_stays_empty) {
  const std::string log = dir_.file("node.log");
  write_config(cpath_line +
               "thread = 2\nharbor = 0\nbootstrap = \"bootstrap\"\nstart = \"pingpong_main\"\n"
               "logger = \"" +
               log + "\"\n");
  const run_result r = run({"cfg"});
  ASSERT_EQ(r.exit_code(), 0) << r.describe();
  EXPECT_EQ(r.out, "");
  EXPECT_EQ(r.err, "");
  const std::string text = read_file(log);
  EXPECT_TRUE(contains(text, "[:00000002] LAUNCH bootstrap")) << text;
  EXPECT_TRUE(contains(text, "] ping 1 -> pong 1\n")) << text;
  const std::regex line(R"(\d\d/\d\d/\d\d \d\d:\d\d:\d\d\.\d\d \[:[0-9a-f]{8}\] .*)");
  std::istringstream lines(text);
  int n = 0;
  for (std::string l; std::getline(lines, l); ++n)
    EXPECT_TRUE(std::regex_match(l, line)) << l;
  EXPECT_GE(n, 4);
}

TEST_F(app, unopenable_logger_file_stops_the_node_and_says_why) {
  const std::string log = dir_.file("no/such/dir/x.log");
  write_config("thread = 2\nharbor = 0\nbootstrap = \"bootstrap\"\nlogger = \"" + log + "\"\n");
  const run_result r = run({"cfg"});
  ASSERT_EQ(r.exit_code(), 1) << r.describe();
  EXPECT_EQ(r.err, "logger: cannot open log file " + log +
                       ": No such file or directory\nCan't launch logger service\n");
  EXPECT_EQ(r.out, "");
}

TEST_F(app, standalone_with_harbor_zero_fails_the_bootstrap) {
  // Config checklist 9: with harbor = 0, `standalone` must be unset. The native bootstrap
  // says why and stops the node (skynet's Lua bootstrap fails an assertion instead): the
  // process exits 1 with the reason on stderr and the start service never runs.
  write_config(
      cpath_line +
      "thread = 2\nharbor = 0\nbootstrap = \"bootstrap\"\nstandalone = \"x\"\nstart = \"pong\"\n");
  const run_result r = run({"cfg"});
  ASSERT_EQ(r.exit_code(), 1) << r.describe();
  EXPECT_TRUE(contains(r.out, "[:00000002] error: standalone must not be set")) << r.out;
  EXPECT_FALSE(contains(r.out, "LAUNCH pong")) << r.out;
  EXPECT_FALSE(contains(r.out, "KILL")) << r.out;
  EXPECT_EQ(r.err, "starling: bootstrap: standalone must not be set when harbor = 0\n");
}

TEST_F(app, default_harbor_is_one_and_the_native_bootstrap_exits_one) {
  // Config checklist 10, adapted: skynet's bootstrap starts cslave, which fails without
  // `address`, and aborts the node with status 0. The native bootstrap has no cslave: it
  // refuses harbor mode with a log line and stops the node with status 1 and the reason on
  // stderr. Handles carry harbor 1 (:01xxxxxx).
  write_config(cpath_line + "thread = 2\nbootstrap = \"bootstrap\"\nstart = \"pong\"\n");
  const run_result r = run({"cfg"});
  ASSERT_EQ(r.exit_code(), 1) << r.describe();
  EXPECT_TRUE(contains(r.out, "[:01000002] LAUNCH bootstrap")) << r.out;
  EXPECT_TRUE(contains(r.out, "[:01000002] error: the native bootstrap supports single-node mode"))
      << r.out;
  EXPECT_FALSE(contains(r.out, "LAUNCH pong")) << r.out;
  EXPECT_TRUE(r.err.starts_with("starling: bootstrap: the native bootstrap supports single-node"))
      << r.err;
}

TEST_F(app, harbor_that_is_not_a_number_still_ends) {
  // `harbor` is read like strtol (0 here). The bootstrap used to parse it again with stoi,
  // which threw: the bootstrap died and the node ran on forever with only the logger.
  write_config(
      "thread = 2\nharbor = \"x\"\nbootstrap = \"bootstrap\"\nstandalone = \"y\"\n"
      "start = \"pong\"\n");
  const run_result r = run({"cfg"});
  ASSERT_EQ(r.exit_code(), 1) << r.describe();
  EXPECT_TRUE(contains(r.out, "[:00000002] error: ")) << r.out;
  EXPECT_FALSE(contains(r.out, "LAUNCH pong")) << r.out;
}

// ---- daemon mode (config checklist 15) ------------------------------------------------

/// A config whose node logs to `log` and daemonizes with `pid_file`.
std::string daemon_config(const std::string& start, const std::string& log,
                          const std::string& pid_file) {
  return cpath_line + "thread = 2\nharbor = 0\nbootstrap = \"bootstrap\"\nstart = \"" + start +
         "\"\nlogger = \"" + log + "\"\ndaemon = \"" + pid_file + "\"\n";
}

/// The pid in a complete pid file ("N\n"), or nothing yet.
std::optional<pid_t> read_pid(const std::string& path) {
  static const std::regex complete(R"((\d+)\n)");
  std::smatch m;
  const std::string text = read_file(path);
  if (!std::regex_match(text, m, complete)) return std::nullopt;
  return static_cast<pid_t>(std::stol(m[1]));
}

TEST_F(app, daemon_writes_its_pid_and_a_second_instance_refuses) {
  // daemon(3) forks: the process we start exits 0 at once and the daemon goes on. As the
  // subreaper we inherit the daemon, so we can watch, kill and reap it.
  ASSERT_EQ(::prctl(PR_SET_CHILD_SUBREAPER, 1), 0);
  const std::string log = dir_.file("node.log");
  const std::string pid_file = dir_.file("node.pid");
  // `pong` never aborts, so the daemon runs until we kill it.
  write_config(daemon_config("pong", log, pid_file));

  const run_result first = run({"cfg"});
  ASSERT_EQ(first.exit_code(), 0) << first.describe();
  EXPECT_EQ(first.out, "");
  EXPECT_EQ(first.err, "");

  std::optional<pid_t> pid;
  ASSERT_TRUE(poll_until([&] { return (pid = read_pid(pid_file)).has_value(); }))
      << "no pid file: " << read_file(pid_file);
  child_process daemon(*pid);  // killed and reaped at the end of the test
  EXPECT_NE(*pid, first.pid);
  EXPECT_TRUE(daemon.running());
  // Its output goes to the log file (stdout is /dev/null in a daemon).
  EXPECT_TRUE(poll_until([&] { return contains(read_file(log), "[:00000002] KILL self\n"); }))
      << read_file(log);
  EXPECT_TRUE(contains(read_file(log), "LAUNCH pong")) << read_file(log);

  const run_result second = run({"cfg"});
  ASSERT_EQ(second.exit_code(), 1) << second.describe();
  EXPECT_TRUE(contains(second.err, "already running")) << second.err;
  EXPECT_TRUE(contains(second.err, std::to_string(*pid))) << second.err;
  EXPECT_EQ(second.out, "");
  EXPECT_TRUE(daemon.running());
  EXPECT_EQ(read_pid(pid_file), pid);
}

TEST_F(app, daemon_removes_its_pid_file_when_the_node_aborts) {
  ASSERT_EQ(::prctl(PR_SET_CHILD_SUBREAPER, 1), 0);
  const std::string log = dir_.file("node.log");
  const std::string pid_file = dir_.file("node.pid");
  // pingpong_main aborts the node after its two one-second measurements.
  write_config(daemon_config("pingpong_main", log, pid_file));

  const run_result first = run({"cfg"});
  ASSERT_EQ(first.exit_code(), 0) << first.describe();

  // The daemon is our only child now. Reap whichever child ends; remember the pid from the
  // file so that a daemon still running at the deadline is killed.
  std::optional<pid_t> seen;
  int status = 0;
  pid_t reaped = 0;
  const bool ended = poll_until(
      [&] {
        if (!seen) seen = read_pid(pid_file);
        reaped = ::waitpid(-1, &status, WNOHANG);
        return reaped > 0;
      },
      run_limit);
  if (!ended && seen) {
    child_process kill_it(*seen);
  }
  ASSERT_TRUE(ended) << read_file(log);
  if (seen) {
    EXPECT_EQ(reaped, *seen);
  }
  // Exit 0 also means the pid file was written: a failed write exits 1.
  ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << status << "\n" << read_file(log);
  EXPECT_FALSE(fs::exists(pid_file));
  EXPECT_TRUE(contains(read_file(log), "] ping 1 -> pong 1\n")) << read_file(log);
}

// ---- SIGHUP (core checklist 18) -------------------------------------------------------

TEST_F(app, sighup_makes_the_logger_reopen_its_file) {
  // `logger` is relative: the file is created in the working directory.
  write_config(cpath_line +
               "thread = 2\nharbor = 0\nbootstrap = \"bootstrap\"\nstart = \"pong\"\n"
               "logger = \"node.log\"\n");
  const std::string log = dir_.file("node.log");
  const std::string rotated = dir_.file("node.log.1");
  child_process node(spec({"cfg"}));
  ASSERT_TRUE(node.started());
  ASSERT_TRUE(poll_until([&] { return contains(read_file(log), "[:00000002] KILL self\n"); }))
      << read_file(log);

  fs::rename(log, rotated);
  node.signal(SIGHUP);
  // The reopen (append mode) creates the file again at the original path. No service logs
  // after the boot, so the lines written after a reopen are checked in logger_test.
  EXPECT_TRUE(poll_until([&] { return fs::exists(log); }));
  EXPECT_TRUE(node.running()) << "SIGHUP ended the process";
  EXPECT_EQ(read_file(log), "");
  EXPECT_TRUE(contains(read_file(rotated), "LAUNCH pong")) << read_file(rotated);
}

}  // namespace
}  // namespace starling
