// The native logger service driven inside a real node: line formats in stdout and file mode,
// byte-exact text, per-line flushing, ignored types, reopening on PTYPE_SYSTEM (SIGHUP, core
// checklist 18 in docs/TESTING.md), a log file that cannot be opened and a device that fails.

#include "services/logger.hpp"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <memory>
#include <regex>
#include <sstream>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "../support/temp_dir.hpp"
#include "../support/test_services.hpp"
#include "core/node.hpp"
#include "services/builtin.hpp"

namespace starling {
namespace {

namespace fs = std::filesystem;
using testing::eventually;

using testing::temp_dir;

/// The whole file as bytes; empty if it does not exist.
std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

std::vector<std::string> split_lines(const std::string& text) {
  std::vector<std::string> lines;
  std::size_t begin = 0;
  for (std::size_t end; (end = text.find('\n', begin)) != std::string::npos; begin = end + 1) {
    lines.push_back(text.substr(begin, end - begin));
  }
  return lines;
}

/// Captures stdout for its lifetime, so a failed assertion cannot leave the capture running.
class stdout_capture {
 public:
  stdout_capture() { ::testing::internal::CaptureStdout(); }
  stdout_capture(const stdout_capture&) = delete;
  stdout_capture& operator=(const stdout_capture&) = delete;
  ~stdout_capture() {
    if (!taken_) (void)::testing::internal::GetCapturedStdout();
  }
  std::string take() {
    taken_ = true;
    return ::testing::internal::GetCapturedStdout();
  }

 private:
  bool taken_ = false;
};

/// A node whose only service is the built-in `logger`, launched with `param` and named
/// `logger` as the binary does. Aborted and joined on destruction.
class logger_node {
 public:
  explicit logger_node(std::string_view param, bool start = true) {
    register_builtin_services(modules_);
    node_options options;
    options.threads = 2;  // the CI machine has two cores
    runtime_ = std::make_unique<node>(options, modules_, env_);
    logger_ = runtime_->launch("logger", param);
    if (logger_ != 0) runtime_->bind_name("logger", logger_);
    if (start) runtime_->start();
  }
  logger_node(const logger_node&) = delete;
  logger_node& operator=(const logger_node&) = delete;
  ~logger_node() {
    runtime_->abort();
    runtime_->wait();
  }

  [[nodiscard]] node& runtime() { return *runtime_; }
  [[nodiscard]] handle_t logger() const { return logger_; }

  /// Sends `body` to the logger as a message of `type` from `source`.
  void send(handle_t source, ptype type, std::string_view body) {
    ASSERT_TRUE(runtime_->send(source, logger_, type, 0, payload::copy_of(body)));
    ++sent_;
  }
  void text(handle_t source, std::string_view line) { send(source, ptype::text, line); }

  /// Waits until the logger has handled every message sent so far (its own LAUNCH line was
  /// dropped: it had no name yet), so their effects are visible.
  [[nodiscard]] bool settled() {
    const auto context = runtime_->grab(logger_);
    return eventually([&] { return context->message_count() >= sent_; });
  }

 private:
  module_registry modules_;
  environment env_;
  std::unique_ptr<node> runtime_;
  handle_t logger_ = 0;
  std::uint64_t sent_ = 0;
};

// ---- stdout mode -----------------------------------------------------------------------

TEST(logger, stdout_mode_writes_source_in_eight_hex_digits_then_text) {
  stdout_capture capture;
  std::string out;
  {
    logger_node n("");
    ASSERT_NE(n.logger(), 0u);
    n.text(0x0a, "hello");
    n.text(0x01000002, "from harbor 1");
    n.text(0xabcdef12, "");
    ASSERT_TRUE(n.settled());
    out = capture.take();
  }
  EXPECT_EQ(out, "[:0000000a] hello\n[:01000002] from harbor 1\n[:abcdef12] \n");
}

TEST(logger, stdout_mode_ignores_system_and_non_text_types) {
  stdout_capture capture;
  std::string out;
  {
    logger_node n("");
    n.send(3, ptype::system, "");  // SIGHUP in stdout mode: nothing to reopen
    n.send(3, ptype::lua, "lua body");
    n.send(3, ptype::client, "client body");
    n.text(4, "only line");
    ASSERT_TRUE(n.settled());
    out = capture.take();
  }
  EXPECT_EQ(out, "[:00000004] only line\n");
}

// ---- file mode -------------------------------------------------------------------------

TEST(logger, file_mode_prefixes_the_local_time_of_the_node_clock) {
  temp_dir dir;
  const std::string path = dir.file("node.log");
  logger_node n(path);
  ASSERT_NE(n.logger(), 0u);
  n.text(0x0a, "hello log");
  n.text(0xabcdef12, "second");
  ASSERT_TRUE(n.settled());
  const std::time_t now = std::time(nullptr);

  const std::vector<std::string> lines = split_lines(read_file(path));
  ASSERT_EQ(lines.size(), 2u);
  const std::regex format(
      R"(^(\d\d)/(\d\d)/(\d\d) (\d\d):(\d\d):(\d\d)\.\d\d \[:([0-9a-f]{8})\] (.*)$)");
  std::smatch m;
  ASSERT_TRUE(std::regex_match(lines[0], m, format)) << lines[0];
  EXPECT_EQ(m[7], "0000000a");
  EXPECT_EQ(m[8], "hello log");
  // dd/mm/yy HH:MM:SS is local time: read back, it is the current time (a generous bound).
  std::tm local{};
  local.tm_mday = std::stoi(m[1]);
  local.tm_mon = std::stoi(m[2]) - 1;
  local.tm_year = std::stoi(m[3]) + 100;
  local.tm_hour = std::stoi(m[4]);
  local.tm_min = std::stoi(m[5]);
  local.tm_sec = std::stoi(m[6]);
  local.tm_isdst = -1;
  const std::time_t stamped = std::mktime(&local);
  EXPECT_LE(std::abs(static_cast<long>(now - stamped)), 120L) << lines[0];

  ASSERT_TRUE(std::regex_match(lines[1], m, format)) << lines[1];
  EXPECT_EQ(m[7], "abcdef12");
  EXPECT_EQ(m[8], "second");
}

TEST(logger, file_mode_writes_the_text_byte_for_byte) {
  temp_dir dir;
  const std::string path = dir.file("node.log");
  logger_node n(path);
  const std::string with_nul("a\0b\0", 4);
  const std::string long_line(100'000, 'x');  // no truncation
  const std::string odd = "tab\there, trailing blanks  , caf\xc3\xa9, \xff\x01";
  n.text(1, with_nul);
  n.text(2, long_line);
  n.text(3, odd);
  ASSERT_TRUE(n.settled());

  const std::string file = read_file(path);
  EXPECT_NE(file.find("[:00000001] " + with_nul + "\n"), std::string::npos);
  EXPECT_NE(file.find("[:00000002] " + long_line + "\n"), std::string::npos);
  EXPECT_NE(file.find("[:00000003] " + odd + "\n"), std::string::npos);
  // Three lines, each with one 21-byte prefix + "[:SSSSSSSS] " + text + newline.
  constexpr std::size_t prefix = 21 + 12;
  EXPECT_EQ(file.size(), 3 * (prefix + 1) + with_nul.size() + long_line.size() + odd.size());
}

TEST(logger, file_mode_flushes_every_line_while_the_node_runs) {
  temp_dir dir;
  const std::string path = dir.file("node.log");
  logger_node n(path);
  // The file is read while the node still runs: a buffered line would never show up.
  n.text(5, "first");
  EXPECT_TRUE(eventually([&] { return read_file(path).ends_with("[:00000005] first\n"); }));
  n.text(6, "second");
  EXPECT_TRUE(eventually([&] { return read_file(path).ends_with("[:00000006] second\n"); }));
  EXPECT_EQ(split_lines(read_file(path)).size(), 2u);
}

TEST(logger, file_mode_appends_to_an_existing_file) {
  temp_dir dir;
  const std::string path = dir.file("node.log");
  std::ofstream(path) << "kept\n";
  logger_node n(path);
  n.text(7, "appended");
  ASSERT_TRUE(n.settled());
  const std::string file = read_file(path);
  EXPECT_TRUE(file.starts_with("kept\n"));
  EXPECT_TRUE(file.ends_with("[:00000007] appended\n"));
}

TEST(logger, file_mode_ignores_non_text_types) {
  temp_dir dir;
  const std::string path = dir.file("node.log");
  logger_node n(path);
  for (ptype type :
       {ptype::response, ptype::multicast, ptype::client, ptype::harbor, ptype::socket,
        ptype::error, ptype::queue, ptype::debug, ptype::lua, ptype::snax, ptype::trace}) {
    n.send(8, type, "not a log line");
  }
  n.text(9, "the only line");
  ASSERT_TRUE(n.settled());
  const std::vector<std::string> lines = split_lines(read_file(path));
  ASSERT_EQ(lines.size(), 1u);
  EXPECT_TRUE(lines[0].ends_with("[:00000009] the only line"));
}

TEST(logger, system_message_reopens_the_file_by_name) {
  temp_dir dir;
  const std::string path = dir.file("node.log");
  const std::string rotated = dir.file("node.log.1");
  logger_node n(path);
  n.text(1, "before rotation");
  ASSERT_TRUE(n.settled());
  fs::rename(path, rotated);
  n.text(1, "still the open file");  // the logger holds the renamed file until told
  n.send(0, ptype::system, "");      // what the binary sends on SIGHUP
  n.text(1, "after rotation");

  // Read while the node runs: the reopened file exists at the original path with the line.
  EXPECT_TRUE(
      eventually([&] { return read_file(path).ends_with("[:00000001] after rotation\n"); }));
  const std::vector<std::string> fresh = split_lines(read_file(path));
  ASSERT_EQ(fresh.size(), 1u);
  const std::vector<std::string> old = split_lines(read_file(rotated));
  ASSERT_EQ(old.size(), 2u);
  EXPECT_TRUE(old[0].ends_with("[:00000001] before rotation"));
  EXPECT_TRUE(old[1].ends_with("[:00000001] still the open file"));
}

TEST(logger, unopenable_file_makes_launch_fail_with_the_reason_on_stderr) {
  temp_dir dir;
  const std::string missing = dir.file("no/such/dir/node.log");
  ::testing::internal::CaptureStderr();
  {
    logger_node missing_dir(missing);
    EXPECT_EQ(missing_dir.logger(), 0u);
    EXPECT_EQ(missing_dir.runtime().live_services(), 0u);
    EXPECT_FALSE(fs::exists(dir.file("no")));

    logger_node a_directory(dir.file(""));  // fopen(dir, "a") fails with EISDIR
    EXPECT_EQ(a_directory.logger(), 0u);
  }
  const std::string err = ::testing::internal::GetCapturedStderr();
  EXPECT_EQ(err, "logger: cannot open log file " + missing +
                     ": No such file or directory\n"
                     "logger: cannot open log file " +
                     dir.file("") + ": Is a directory\n");
}

// ---- a device that fails ---------------------------------------------------------------

TEST(logger, failing_device_is_reported_once_and_the_logger_keeps_trying) {
  // The log file is a link to /dev/full (every write fails with ENOSPC); after SIGHUP's
  // reopen it is a real file again.
  temp_dir dir;
  const std::string path = dir.file("node.log");
  fs::create_symlink("/dev/full", path);
  ::testing::internal::CaptureStderr();
  {
    logger_node n(path);
    ASSERT_NE(n.logger(), 0u);
    n.text(1, "lost one");
    n.text(1, "lost two");
    n.text(1, "lost three");
    ASSERT_TRUE(n.settled());
    fs::remove(path);
    n.send(0, ptype::system, "");
    n.text(1, "written");
    ASSERT_TRUE(n.settled());
    EXPECT_TRUE(read_file(path).ends_with("[:00000001] written\n")) << read_file(path);
  }
  const std::string err = ::testing::internal::GetCapturedStderr();
  EXPECT_EQ(err, "logger: cannot write to " + path +
                     ": No space left on device; lines are lost until it works again\n"
                     "logger: writing to " +
                     path + " again; 3 lines were lost\n");
}

// ---- log_drained -----------------------------------------------------------------------

TEST(logger, log_drained_holds_once_the_logger_has_taken_every_queued_line) {
  temp_dir dir;
  const std::string path = dir.file("node.log");
  logger_node n(path, /*start=*/false);
  EXPECT_TRUE(log_drained(n.runtime()));
  n.text(1, "queued");  // no worker runs yet: the line stays queued
  EXPECT_FALSE(log_drained(n.runtime()));
  n.runtime().start();
  EXPECT_TRUE(eventually([&] { return log_drained(n.runtime()); }));
  // Drained means taken by a worker; node::wait joins it, so the line is written by then.
  n.runtime().abort();
  n.runtime().wait();
  EXPECT_TRUE(read_file(path).ends_with("[:00000001] queued\n"));
}

TEST(logger, log_drained_without_a_logger_is_true) {
  module_registry modules;
  environment env;
  node runtime(node_options{}, modules, env);
  EXPECT_TRUE(log_drained(runtime));
}

}  // namespace
}  // namespace starling
