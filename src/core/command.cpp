#include "core/command.hpp"

#include <fmt/format.h>

#include <charconv>

#include "core/cpu_meter.hpp"
#include "core/node.hpp"

namespace starling {

namespace {

using result_text = std::optional<std::string>;

/// `:hex` or `.name` to a handle; nullopt for an unknown name or bad text.
std::optional<handle_t> to_handle(const node& runtime, std::string_view text) {
  if (text.starts_with('.')) return runtime.find_name(text.substr(1));
  return parse_handle(text);
}

result_text cmd_timeout(context& self, std::string_view param) {
  std::int64_t ticks = 0;
  std::from_chars(param.data(), param.data() + param.size(), ticks);
  const std::int32_t session = self.new_session();
  self.timeout(ticks, session);
  return std::to_string(session);
}

result_text cmd_reg(context& self, std::string_view param) {
  if (param.empty()) return format_handle_short(self.handle());
  if (param.starts_with('.')) {
    self.owner().bind_name(param.substr(1), self.handle());  // duplicates are ignored
  } else {
    self.log(fmt::format("error: Can't register global name {} in C", param));
  }
  return std::nullopt;
}

result_text cmd_query(context& self, std::string_view param) {
  if (!param.starts_with('.')) return std::nullopt;
  if (auto h = self.owner().find_name(param.substr(1))) return format_handle_short(*h);
  return std::nullopt;
}

result_text cmd_name(context& self, std::string_view param) {
  const auto blank = param.find(' ');
  if (blank == std::string_view::npos) return std::nullopt;
  const std::string_view name = param.substr(0, blank);
  const auto target = parse_handle(param.substr(blank + 1));
  if (target && name.starts_with('.')) self.owner().bind_name(name.substr(1), *target);
  return std::nullopt;
}

result_text cmd_kill(context& self, std::string_view param) {
  if (auto target = to_handle(self.owner(), param)) self.owner().kill(self.handle(), *target);
  return std::nullopt;
}

result_text cmd_launch(context& self, std::string_view param) {
  const handle_t h = self.owner().launch(param);
  if (h == 0) return std::nullopt;
  return format_handle_upper(h);
}

result_text cmd_setenv(context& self, std::string_view param) {
  const auto blank = param.find(' ');
  if (blank != std::string_view::npos) {
    self.owner().env().set(param.substr(0, blank), param.substr(blank + 1));
  }
  return std::nullopt;
}

result_text cmd_monitor(context& self, std::string_view param) {
  node& runtime = self.owner();
  if (param.empty()) {
    const handle_t monitor = runtime.exit_monitor();
    if (monitor == 0) return std::nullopt;
    return format_handle_short(monitor);
  }
  if (auto h = to_handle(runtime, param)) runtime.set_exit_monitor(*h);
  return std::nullopt;
}

// LOGON / LOGOFF :h (the per-service message log): nothing without config `logpath`.
result_text cmd_logon(context& self, std::string_view param, bool on) {
  node& runtime = self.owner();
  const auto target = to_handle(runtime, param);
  if (!target) return std::nullopt;
  const auto ctx = runtime.grab(*target);
  if (!ctx) return std::nullopt;
  const std::int64_t now = runtime.now();
  if (!on) {
    if (ctx->messages_log().close(now)) {
      runtime.log(*target, fmt::format("Close log file {}", format_handle(*target)));
    }
    return std::nullopt;
  }
  const auto dir = runtime.env().get("logpath");
  if (!dir) return std::nullopt;
  const std::string path = fmt::format("{}/{:08x}.log", *dir, *target);
  if (ctx->messages_log().open(path, now)) {
    runtime.log(*target, fmt::format("Open log file {}", path));
  } else if (!ctx->messages_log().active()) {
    runtime.log(*target, fmt::format("Open log file {} fail", path));
  }
  return std::nullopt;
}

result_text cmd_stat(context& self, std::string_view param) {
  if (param == "mqlen") return std::to_string(self.inbox().size());
  if (param == "endless") return self.take_endless() ? "1" : "0";
  if (param == "message") return std::to_string(self.message_count());
  if (param == "cpu") {
    cpu_meter::local().settle();  // the figure includes this worker's last messages
    return fmt::format("{:.6f}", static_cast<double>(self.cpu_ns()) / 1e9);
  }
  if (param == "time") {
    return fmt::format("{:.6f}", static_cast<double>(self.current_message_cpu_ns()) / 1e9);
  }
  return std::string();
}

// Starling's: the mailbox limit (docs/DESIGN.md, "Mailboxes"). "MQLIMIT n" sets it (0: none),
// "MQLIMIT" reads it; the answer is the limit in effect, nothing for a bad parameter.
result_text cmd_mqlimit(context& self, std::string_view param) {
  if (!param.empty()) {
    std::size_t length = 0;
    const auto [end, error] = std::from_chars(param.data(), param.data() + param.size(), length);
    if (error != std::errc() || end != param.data() + param.size()) return std::nullopt;
    self.inbox().set_limit(length);
  }
  return std::to_string(self.inbox().limit());
}

result_text cmd_signal(context& self, std::string_view param) {
  const auto blank = param.find(' ');
  const auto target = to_handle(self.owner(), param.substr(0, blank));
  int number = 0;
  if (blank != std::string_view::npos) {
    const std::string_view digits = param.substr(blank + 1);
    std::from_chars(digits.data(), digits.data() + digits.size(), number);
  }
  if (!target) return std::nullopt;
  if (auto ctx = self.owner().grab(*target)) ctx->instance().signal(*ctx, number);
  return std::nullopt;
}

// SHUTDOWN watch | done | request <status> <reason> (Starling's; docs/DESIGN.md, "Stopping").
result_text cmd_shutdown(context& self, std::string_view param) {
  shutdown_board& board = self.owner().shutdown();
  if (param == "watch") {
    board.watch(self.handle());
  } else if (param == "done") {
    board.done(self.handle());
  } else if (param.starts_with("request ")) {
    std::string_view rest = param.substr(8);
    int status = 0;
    const auto [end, error] = std::from_chars(rest.data(), rest.data() + rest.size(), status);
    if (error != std::errc{} || status < 0 || status > 255) status = 1;  // an exit status
    rest = rest.substr(static_cast<std::size_t>(end - rest.data()));
    if (rest.starts_with(' ')) rest.remove_prefix(1);
    board.request_stop(status, std::string(rest));
  }
  return std::nullopt;
}

}  // namespace

std::optional<std::string> run_command(context& self, std::string_view command,
                                       std::string_view param) {
  node& runtime = self.owner();
  if (command == "TIMEOUT") return cmd_timeout(self, param);
  if (command == "REG") return cmd_reg(self, param);
  if (command == "QUERY") return cmd_query(self, param);
  if (command == "NAME") return cmd_name(self, param);
  if (command == "EXIT") {
    self.exit();
    return std::nullopt;
  }
  if (command == "KILL") return cmd_kill(self, param);
  if (command == "LAUNCH") return cmd_launch(self, param);
  if (command == "GETENV") return runtime.env().get(param);
  if (command == "SETENV") return cmd_setenv(self, param);
  if (command == "STARTTIME") return std::to_string(runtime.start_time());
  if (command == "ABORT") {
    runtime.abort();
    return std::nullopt;
  }
  if (command == "MONITOR") return cmd_monitor(self, param);
  if (command == "STAT") return cmd_stat(self, param);
  if (command == "SIGNAL") return cmd_signal(self, param);
  if (command == "MQLIMIT") return cmd_mqlimit(self, param);
  if (command == "LOGON") return cmd_logon(self, param, true);
  if (command == "LOGOFF") return cmd_logon(self, param, false);
  if (command == "SHUTDOWN") return cmd_shutdown(self, param);
  return std::nullopt;
}

}  // namespace starling
