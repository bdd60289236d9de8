#pragma once
// Runs the `starling` binary as a child process for the app tests: a fixture with a temp
// directory, children killed and reaped on destruction, polling with generous deadlines.
// Every wait polls a condition against a generous deadline; a child that outlives
// `run_limit` is killed and the test fails instead of blocking.

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <csignal>
#include <fstream>
#include <functional>
#include <optional>
#include <sstream>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

#include "../support/temp_dir.hpp"

extern char** environ;

namespace starling::app_testing {

using namespace std::chrono_literals;

/// A child still running after this is killed: a hang fails instead of blocking.
inline constexpr std::chrono::milliseconds run_limit = 60s;
/// How long to wait for something a running child is expected to do.
inline constexpr std::chrono::milliseconds poll_limit = 20s;

inline const std::string starling_binary = STARLING_BINARY_DIR "/bin/starling";
/// Where the build puts the demo modules (pong.so, ...), and the config line that finds them.
inline const std::string cservice_dir = STARLING_BINARY_DIR "/cservice";
inline const std::string cpath_line = "cpath = [==[" + cservice_dir + "/?.so]==]\n";

/// A variable the tests make sure is not set in the child.
inline constexpr std::string_view unset_variable = "STARLING_APP_TEST_UNSET";

inline bool poll_until(const std::function<bool()>& done,
                       std::chrono::milliseconds limit = poll_limit) {
  const auto deadline = std::chrono::steady_clock::now() + limit;
  while (!done()) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::sleep_for(2ms);
  }
  return true;
}

inline std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

inline std::size_t count_of(std::string_view text, std::string_view what) {
  std::size_t n = 0;
  for (auto at = text.find(what); at != std::string_view::npos; at = text.find(what, at + 1)) {
    ++n;
  }
  return n;
}

inline bool contains(std::string_view text, std::string_view what) {
  return text.find(what) != std::string_view::npos;
}

using testing::temp_dir;

/// An owned file descriptor.
class unique_fd {
 public:
  explicit unique_fd(int fd) noexcept : fd_(fd) {}
  unique_fd(const unique_fd&) = delete;
  unique_fd& operator=(const unique_fd&) = delete;
  ~unique_fd() {
    if (fd_ >= 0) ::close(fd_);
  }
  [[nodiscard]] int get() const noexcept { return fd_; }

 private:
  int fd_;
};

/// How to start a child: the starling binary with `args`, in `cwd`, stdin from /dev/null,
/// stdout and stderr into files, the test's environment plus `set_env` ("NAME=value").
struct launch_spec {
  std::vector<std::string> args;
  std::string cwd;
  std::string out_path;
  std::string err_path;
  std::vector<std::string> set_env;
  int max_files = 0;  ///< RLIMIT_NOFILE of the child when not 0
};

/// A child process. Killed (SIGKILL) and reaped on destruction unless it was reaped already.
class child_process {
 public:
  explicit child_process(const launch_spec& spec) {
    // Everything the child needs is built before fork: after it, only exec-safe calls.
    std::vector<std::string> argv_text{starling_binary};
    argv_text.insert(argv_text.end(), spec.args.begin(), spec.args.end());
    std::vector<std::string> env_text;
    for (char** e = environ; *e != nullptr; ++e) {
      const std::string_view entry(*e);
      const std::string_view name = entry.substr(0, entry.find('='));
      bool replaced = name == unset_variable;
      for (const std::string& s : spec.set_env) {
        replaced |= s.starts_with(std::string(name) + "=");
      }
      if (!replaced) env_text.emplace_back(entry);
    }
    env_text.insert(env_text.end(), spec.set_env.begin(), spec.set_env.end());
    std::vector<char*> argv = pointers(argv_text);
    std::vector<char*> envp = pointers(env_text);

    const unique_fd in(::open("/dev/null", O_RDONLY | O_CLOEXEC));
    const unique_fd out(
        ::open(spec.out_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644));
    const unique_fd err(
        ::open(spec.err_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644));
    if (in.get() < 0 || out.get() < 0 || err.get() < 0) return;
    pid_ = ::fork();
    if (pid_ == 0) {
      if (::chdir(spec.cwd.c_str()) != 0) ::_exit(126);
      if (spec.max_files > 0) {
        const rlimit files{static_cast<rlim_t>(spec.max_files),
                           static_cast<rlim_t>(spec.max_files)};
        if (::setrlimit(RLIMIT_NOFILE, &files) != 0) ::_exit(126);
      }
      if (::dup2(in.get(), 0) < 0 || ::dup2(out.get(), 1) < 0 || ::dup2(err.get(), 2) < 0) {
        ::_exit(126);
      }
      ::execve(argv[0], argv.data(), envp.data());
      ::_exit(127);
    }
  }
  /// Takes over a process that is already our child (a daemon we are the subreaper of).
  explicit child_process(pid_t adopted) noexcept : pid_(adopted) {}
  child_process(const child_process&) = delete;
  child_process& operator=(const child_process&) = delete;
  ~child_process() {
    if (pid_ <= 0) return;
    ::kill(pid_, SIGKILL);
    int status = 0;
    while (::waitpid(pid_, &status, 0) < 0 && errno == EINTR) {
    }
  }

  [[nodiscard]] pid_t pid() const noexcept { return pid_; }
  [[nodiscard]] bool started() const noexcept { return pid_ > 0; }

  /// The wait status once the child has ended, or nothing if it still runs after `limit`.
  std::optional<int> wait_for(std::chrono::milliseconds limit) {
    std::optional<int> status;
    poll_until([&] { return (status = reap()).has_value(); }, limit);
    return status;
  }
  /// True while the child has not ended.
  bool running() { return pid_ > 0 && !reap(); }
  void signal(int number) const {
    if (pid_ > 0) ::kill(pid_, number);
  }

 private:
  static std::vector<char*> pointers(std::vector<std::string>& texts) {
    std::vector<char*> result;
    result.reserve(texts.size() + 1);
    for (std::string& t : texts) {
      result.push_back(t.data());
    }
    result.push_back(nullptr);
    return result;
  }
  std::optional<int> reap() {
    if (pid_ <= 0) return std::nullopt;
    int status = 0;
    if (::waitpid(pid_, &status, WNOHANG) != pid_) return std::nullopt;
    pid_ = -1;
    return status;
  }

  pid_t pid_ = -1;  // -1 once reaped
};

/// What a finished run left.
struct run_result {
  pid_t pid = -1;
  std::optional<int> status;  // nothing: killed after run_limit
  std::string out;
  std::string err;

  [[nodiscard]] int exit_code() const {
    return status && WIFEXITED(*status) ? WEXITSTATUS(*status) : -1;
  }
  /// For failure messages.
  [[nodiscard]] std::string describe() const {
    std::string how = !status                ? "still running after the time limit"
                      : WIFEXITED(*status)   ? "exit " + std::to_string(WEXITSTATUS(*status))
                      : WIFSIGNALED(*status) ? "signal " + std::to_string(WTERMSIG(*status))
                                             : "status " + std::to_string(*status);
    return how + "\n--- stdout:\n" + out + "--- stderr:\n" + err;
  }
};

class app : public ::testing::Test {
 protected:
  /// Writes `text` to `name` in the temp dir; returns the full path.
  std::string write_config(std::string_view text, std::string_view name = "cfg") {
    std::string path = dir_.file(name);
    std::ofstream(path, std::ios::binary) << text;
    return path;
  }

  launch_spec spec(std::vector<std::string> args, std::string cwd = {},
                   std::vector<std::string> set_env = {}) {
    ++runs_;
    // The demo configs in examples/ name the directory of their modules by this variable.
    set_env.push_back("STARLING_CSERVICE=" + cservice_dir);
    return launch_spec{std::move(args), cwd.empty() ? dir_.path() : std::move(cwd),
                       dir_.file("run" + std::to_string(runs_) + ".out"),
                       dir_.file("run" + std::to_string(runs_) + ".err"), std::move(set_env)};
  }

  /// Runs the binary to its end (or kills it after run_limit).
  run_result run(std::vector<std::string> args, std::string cwd = {},
                 std::vector<std::string> set_env = {}) {
    const launch_spec s = spec(std::move(args), std::move(cwd), std::move(set_env));
    run_result result;
    {
      child_process child(s);
      EXPECT_TRUE(child.started()) << "cannot start " << starling_binary;
      result.pid = child.pid();
      if (child.started()) result.status = child.wait_for(run_limit);
    }
    result.out = read_file(s.out_path);
    result.err = read_file(s.err_path);
    return result;
  }

  temp_dir dir_;
  int runs_ = 0;
};

}  // namespace starling::app_testing
