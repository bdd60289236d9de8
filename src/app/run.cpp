#include "app/run.hpp"

#include <fcntl.h>
#include <fmt/format.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <memory>
#include <string>
#include <string_view>

#include "app/supervisor.hpp"
#include "core/config.hpp"
#include "core/environment.hpp"
#include "core/node.hpp"
#include "net/socket_server.hpp"
#include "services/builtin.hpp"
#include "services/logger.hpp"

#ifndef STARLING_VERSION
#define STARLING_VERSION "unknown"
#endif

namespace starling {
namespace {

constexpr std::string_view usage =
    "usage: {} CONFIG\n"
    "Starts a Starling node (a skynet-compatible actor runtime) from a skynet config file.\n"
    "  --help     this text\n"
    "  --version  the version\n";

/// The pid file of a daemonized node, locked while it runs and removed at shutdown.
class pid_file {
 public:
  /// Before daemon(3), while stderr still reaches someone: fails with the reason if another
  /// live process holds the file or if it cannot be created and locked. The lock belongs to the
  /// open file, which the daemon inherits.
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
    fd_ = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (fd_ < 0) {
      fmt::print(stderr, "starling: cannot write pid file {}: {}\n", path, std::strerror(errno));
      return false;
    }
    if (::flock(fd_, LOCK_EX | LOCK_NB) != 0) {
      fmt::print(stderr, "starling: cannot lock pid file {}: {}\n", path, std::strerror(errno));
      return false;
    }
    path_ = path;
    return true;
  }
  /// After daemon(3): writes our new pid. Nobody would see a message now.
  bool write() {
    const std::string text = fmt::format("{}\n", getpid());
    return ::ftruncate(fd_, 0) == 0 &&
           ::write(fd_, text.data(), text.size()) == static_cast<ssize_t>(text.size());
  }
  ~pid_file() {
    if (fd_ >= 0) ::close(fd_);
    if (!path_.empty()) ::unlink(path_.c_str());
  }

 private:
  int fd_ = -1;
  std::string path_;
};

/// A daemon's stderr is /dev/null: check what would fail the log service before detaching.
bool log_file_writable(const node_settings& settings) {
  if (settings.logservice != "logger" || !settings.logger) return true;
  if (std::FILE* f = std::fopen(settings.logger->c_str(), "a")) {
    std::fclose(f);
    return true;
  }
  fmt::print(stderr, "logger: {}\nCan't launch logger service\n",
             logger::open_error(*settings.logger, errno));
  return false;
}

int run_config(const std::string& config_path, const register_services& add) {
  environment env;
  node_settings settings;
  try {
    settings = load_node_config(config_path, env);
  } catch (const config_error& e) {
    fmt::print(stderr, "starling: {}\n", e.what());
    return 1;
  }

  std::signal(SIGPIPE, SIG_IGN);
  app::block_signals();
  pid_file pid;
  if (settings.daemon) {
    if (!pid.acquire(*settings.daemon) || !log_file_writable(settings)) return 1;
    if (daemon(1, 0) != 0) {
      fmt::print(stderr, "starling: daemon: {}\n", std::strerror(errno));
      return 1;
    }
    if (!pid.write()) return 1;
  }

  module_registry modules;
  register_builtin_services(modules);
  if (add) add(modules);
  modules.set_search_path(settings.cpath_templates);
  node_options options;
  options.threads = settings.thread;
  options.harbor = static_cast<std::uint32_t>(settings.harbor);
  options.profile = settings.profile;
  options.call_timeout = settings.call_timeout;
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
  app::supervisor supervisor(runtime, {settings.shutdown_timeout, settings.daemon.value_or("")});
  runtime.start();
  if (runtime.launch(settings.bootstrap) == 0) {
    runtime.log(0, fmt::format("Bootstrap error : {}", settings.bootstrap));
    runtime.shutdown().request_stop(1, fmt::format("bootstrap {} failed", settings.bootstrap));
  }
  supervisor.booted();
  runtime.wait();
  // No outcome: a service aborted the node (skynet.abort), which is a normal end.
  const auto outcome = supervisor.outcome();
  if (!outcome) return 0;
  if (outcome->status != 0) fmt::print(stderr, "starling: {}\n", outcome->reason);
  return outcome->status;
}

}  // namespace

int run_node(int argc, char** argv, const register_services& add) {
  // The usage names the program as it was called, without its directory.
  std::string_view program = argc > 0 ? argv[0] : "starling";
  program = program.substr(program.rfind('/') + 1);
  if (argc == 2 && std::string_view(argv[1]) == "--help") {
    fmt::print(usage, program);
    return 0;
  }
  if (argc == 2 && std::string_view(argv[1]) == "--version") {
    fmt::print("starling {}\n", STARLING_VERSION);
    return 0;
  }
  if (argc != 2) {
    fmt::print(stderr, "Need a config file. See docs/CONFIG.md.\n");
    fmt::print(stderr, usage, program);
    return 1;
  }
  return run_config(argv[1], add);
}

}  // namespace starling
