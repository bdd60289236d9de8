// starling CONFIG: starts a node from a skynet-style config file.

#include <fcntl.h>
#include <fmt/format.h>
#include <pthread.h>
#include <sys/file.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <memory>
#include <string>
#include <string_view>
#include <thread>

#include "core/config.hpp"
#include "core/environment.hpp"
#include "core/node.hpp"
#include "examples/pingpong/pingpong.hpp"
#include "examples/redis_native/redis_native.hpp"
#include "net/socket_server.hpp"
#include "services/builtin.hpp"
#include "services/logger.hpp"

#ifndef STARLING_VERSION
#define STARLING_VERSION "unknown"
#endif

namespace {

using namespace starling;

constexpr std::string_view usage =
    "usage: starling CONFIG\n"
    "Starts a Starling node (a skynet-compatible actor runtime) from a skynet config file.\n"
    "  --help     this text\n"
    "  --version  the version\n";

/// The pid file of a daemonized node, locked while it runs and removed at shutdown.
class pid_file {
 public:
  /// Fails (with a message on stderr) if another live process holds the file.
  bool acquire(const std::string& path) {
    if (FILE* f = std::fopen(path.c_str(), "r")) {
      int pid = 0;
      const bool read = std::fscanf(f, "%d", &pid) == 1;
      std::fclose(f);
      if (read && pid != 0 && pid != getpid() && ::kill(pid, 0) == 0) {
        fmt::print(stderr, "Starling is already running, pid = {}.\n", pid);
        return false;
      }
    }
    return true;
  }
  /// After daemon(3): takes the lock and writes our pid.
  bool write(const std::string& path) {
    fd_ = ::open(path.c_str(), O_RDWR | O_CREAT, 0644);
    if (fd_ < 0 || ::flock(fd_, LOCK_EX | LOCK_NB) != 0) {
      fmt::print(stderr, "Can't lock pid file {}: {}\n", path, std::strerror(errno));
      return false;
    }
    const std::string text = fmt::format("{}\n", getpid());
    if (::ftruncate(fd_, 0) != 0 || ::write(fd_, text.data(), text.size()) < 0) return false;
    path_ = path;
    return true;
  }
  ~pid_file() {
    if (fd_ >= 0) ::close(fd_);
    if (!path_.empty()) ::unlink(path_.c_str());
  }

 private:
  int fd_ = -1;
  std::string path_;
};

/// Blocks SIGHUP in the calling thread. Called before any runtime thread exists (and before
/// daemon(3), which keeps the mask), so every thread inherits it and only the hangup
/// forwarder's sigwait takes the signal; one that comes earlier waits, pending.
void block_hangup() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGHUP);
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
}

/// Turns SIGHUP into a PTYPE_SYSTEM message to the logger (log rotation), on its own thread:
/// a signal handler may not touch the runtime, sigwait may. Declared after the node, so it is
/// joined before the node it uses is destroyed.
class hangup_forwarder {
 public:
  explicit hangup_forwarder(node& runtime) {
    sigemptyset(&set_);
    sigaddset(&set_, SIGHUP);
    thread_ = std::thread([this, &runtime] {
      for (;;) {
        int received = 0;
        sigwait(&set_, &received);
        if (stopping_) return;
        if (auto logger = runtime.find_name("logger")) {
          runtime.send(0, *logger, ptype::system, 0, {});
        }
      }
    });
  }
  hangup_forwarder(const hangup_forwarder&) = delete;
  hangup_forwarder& operator=(const hangup_forwarder&) = delete;
  ~hangup_forwarder() {
    stopping_ = true;
    pthread_kill(thread_.native_handle(), SIGHUP);
    thread_.join();
  }

 private:
  sigset_t set_{};
  std::atomic<bool> stopping_{false};
  std::thread thread_;
};

/// Waits (bounded) until the logger has taken every queued line: abort() drops the rest.
void drain_log(const node& runtime) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  while (!log_drained(runtime) && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
}

int run(const std::string& config_path) {
  environment env;
  node_settings settings;
  try {
    settings = load_node_config(config_path, env);
  } catch (const config_error& e) {
    fmt::print(stderr, "starling: {}\n", e.what());
    return 1;
  }

  std::signal(SIGPIPE, SIG_IGN);
  block_hangup();
  pid_file pid;
  if (settings.daemon) {
    if (!pid.acquire(*settings.daemon)) return 1;
    if (daemon(1, 0) != 0) {
      fmt::print(stderr, "starling: daemon: {}\n", std::strerror(errno));
      return 1;
    }
    if (!pid.write(*settings.daemon)) return 1;
  }

  module_registry modules;
  register_builtin_services(modules);
  examples::register_pingpong(modules);
  examples::register_redis_native(modules);
  node_options options;
  options.threads = settings.thread;
  options.harbor = static_cast<std::uint32_t>(settings.harbor);
  options.profile = settings.profile;
  node runtime(options, modules, env);
  // Owned by the node, which drops it after releasing the services: a Lua state closes its
  // sockets as it is collected.
  runtime.attach(std::make_shared<net::socket_server>(runtime));

  const handle_t logger = runtime.launch(settings.logservice, settings.logger.value_or(""));
  if (logger == 0) {
    fmt::print(stderr, "Can't launch {} service\n", settings.logservice);
    return 1;
  }
  runtime.bind_name("logger", logger);
  hangup_forwarder hangups(runtime);
  runtime.start();
  if (runtime.launch(settings.bootstrap) == 0) {
    runtime.log(0, fmt::format("Bootstrap error : {}", settings.bootstrap));
    // Waiting for one more handled message was not enough: a failed init queues its own line
    // (`launch ... FAILED`) first, so the logger could count that one and lose ours.
    drain_log(runtime);
    runtime.abort();
    runtime.wait();
    return 1;
  }
  runtime.wait();
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc == 2 && std::string_view(argv[1]) == "--help") {
    fmt::print("{}", usage);
    return 0;
  }
  if (argc == 2 && std::string_view(argv[1]) == "--version") {
    fmt::print("starling {}\n", STARLING_VERSION);
    return 0;
  }
  if (argc != 2) {
    fmt::print(stderr, "Need a config file. See docs/CONFIG.md.\n{}", usage);
    return 1;
  }
  return run(argv[1]);
}
