#include "app/supervisor.hpp"

#include <fmt/format.h>
#include <pthread.h>
#include <unistd.h>

#include <csignal>
#include <cstdlib>
#include <utility>

#include "net/socket_server.hpp"
#include "seri/writer.hpp"
#include "services/logger.hpp"

namespace starling::app {

namespace {

using clock = std::chrono::steady_clock;
using namespace std::chrono_literals;

sigset_t handled_signals() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGHUP);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGINT);
  return set;
}

const char* signal_name(int number) {
  switch (number) {
    case SIGTERM:
      return "SIGTERM";
    case SIGINT:
      return "SIGINT";
    default:
      return "SIGHUP";
  }
}

/// A signal within `wait`, or 0.
int next_signal(const sigset_t& set, std::chrono::milliseconds wait) {
  const timespec limit{0, static_cast<long>(std::chrono::nanoseconds(wait).count())};
  const int number = sigtimedwait(&set, nullptr, &limit);
  return number > 0 ? number : 0;
}

/// The second signal: the operator wants the process gone now. It dies of that signal, so its
/// parent sees why.
[[noreturn]] void end_now(int number, const std::string& pid_path) {
  if (!pid_path.empty()) ::unlink(pid_path.c_str());
  fmt::print(stderr, "starling: {} during shutdown: exiting now\n", signal_name(number));
  std::signal(number, SIG_DFL);
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, number);
  pthread_sigmask(SIG_UNBLOCK, &set, nullptr);
  std::raise(number);
  std::_Exit(128 + number);
}

std::string handles_text(const std::vector<handle_t>& handles) {
  std::string text;
  for (handle_t h : handles) {
    if (!text.empty()) text += ' ';
    text += format_handle(h);
  }
  return text;
}

}  // namespace

void block_signals() {
  const sigset_t set = handled_signals();
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
}

void drain_log(const node& runtime) {
  const auto deadline = clock::now() + 5s;
  while (!log_drained(runtime) && clock::now() < deadline) {
    std::this_thread::sleep_for(1ms);
  }
}

supervisor::supervisor(node& runtime, options settings)
    : runtime_(runtime), options_(std::move(settings)), thread_([this] { run(); }) {}

supervisor::~supervisor() {
  leaving_.store(true);
  pthread_kill(thread_.native_handle(), SIGHUP);  // ends its wait early
  thread_.join();
}

std::optional<shutdown_board::request> supervisor::outcome() const {
  std::lock_guard lock(outcome_mutex_);
  return outcome_;
}

void supervisor::run() {
  const sigset_t set = handled_signals();
  for (;;) {
    const int number = next_signal(set, phase_ == phase::stopping ? 10ms : 100ms);
    if (leaving_.load()) return;
    if (number != 0) on_signal(number);
    if (phase_ == phase::running) {
      if (auto request = runtime_.shutdown().requested()) {
        begin(std::move(*request));
      } else if (booted_.load() && runtime_.live_services() == 1) {
        // Only the logger is left: nothing can ever run again (skynet idles on forever).
        const auto logger = runtime_.find_name("logger");
        if (logger && runtime_.grab(*logger)) {
          begin({1,
                 "no service is running but the logger (did the bootstrap or the start "
                 "service fail? see the log)"});
        }
      }
    }
    if (phase_ == phase::stopping && (settled() || clock::now() >= deadline_)) finish();
  }
}

void supervisor::on_signal(int number) {
  if (number == SIGHUP) {
    if (auto logger = runtime_.find_name("logger")) {
      runtime_.send(0, *logger, ptype::system, 0, {});
    }
    return;
  }
  if (phase_ != phase::running) end_now(number, options_.pid_path);
  runtime_.shutdown().request_stop(0, signal_name(number));
}

void supervisor::begin(shutdown_board::request request) {
  phase_ = phase::stopping;
  const std::size_t closed = close_listeners();
  told_.clear();
  for (handle_t h : runtime_.shutdown().watchers()) {
    if (runtime_.grab(h)) told_.push_back(h);
  }
  const double seconds = static_cast<double>(options_.shutdown_timeout) / 100.0;
  runtime_.log(
      0, fmt::format("shutdown ({}): listeners closed: {}, services told: {}{}", request.reason,
                     closed, told_.size(),
                     told_.empty() ? "" : fmt::format(", waiting up to {:.2f} s", seconds)));
  // After the line above, so the hooks' own lines come after it in the log.
  for (handle_t h : told_)
    runtime_.send(0, h, ptype::debug, 0, seri::pack("SHUTDOWN", request.reason));
  deadline_ = clock::now() + std::chrono::milliseconds(options_.shutdown_timeout * 10);
  std::lock_guard lock(outcome_mutex_);
  outcome_ = std::move(request);
}

bool supervisor::settled() const {
  const shutdown_board& board = runtime_.shutdown();
  for (handle_t h : told_) {
    if (board.watching(h) && runtime_.grab(h)) return false;
  }
  return true;
}

void supervisor::finish() {
  phase_ = phase::stopped;
  std::vector<handle_t> busy;
  for (handle_t h : told_) {
    if (runtime_.shutdown().watching(h) && runtime_.grab(h)) busy.push_back(h);
  }
  if (!busy.empty()) {
    runtime_.log(0, fmt::format("shutdown: still busy when the time ran out, stopped anyway: {}",
                                handles_text(busy)));
  }
  drain_log(runtime_);
  runtime_.abort();
}

std::size_t supervisor::close_listeners() const {
  net::socket_server* server = net::socket_server::of(runtime_);
  if (server == nullptr) return 0;
  std::size_t closed = 0;
  for (const net::socket_info& s : server->info()) {
    if (s.type != net::socket_info::kind::listen) continue;
    server->close(s.owner, s.id);
    ++closed;
  }
  return closed;
}

}  // namespace starling::app
