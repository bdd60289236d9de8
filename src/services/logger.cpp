#include "services/logger.hpp"

#include <fmt/format.h>

#include <cerrno>
#include <cstring>
#include <ctime>

#include "core/context.hpp"
#include "core/node.hpp"

namespace starling {

bool logger::init(context& self, std::string_view param) {
  (void)self;
  if (param.empty()) return true;
  path_ = std::string(param);
  file_.reset(std::fopen(path_.c_str(), "a"));
  // No logger exists yet to say why: stderr is the only place left.
  if (!file_) fmt::print(stderr, "logger: {}\n", open_error(path_, errno));
  return file_ != nullptr;
}

std::string logger::open_error(const std::string& path, int error) {
  return fmt::format("cannot open log file {}: {}", path, std::strerror(error));
}

void logger::dispatch(context& self, message& msg) {
  switch (msg.type) {
    case ptype::text:
      write_line(self, msg.source, msg.data.view());
      break;
    case ptype::system:
      if (file_) {
        // Reopen by name: after a rename, new lines go to a new file.
        if (std::FILE* reopened = std::fopen(path_.c_str(), "a")) {
          file_.reset(reopened);
        } else {
          fmt::print(stderr, "logger: {}; still writing to the old file\n",
                     open_error(path_, errno));
        }
      }
      break;
    default:
      break;
  }
}

void logger::write_line(context& self, handle_t source, std::string_view text) {
  std::FILE* out = file_ ? file_.get() : stdout;
  if (file_) {
    const node& runtime = self.owner();
    const std::int64_t now = runtime.now();
    const std::time_t seconds = runtime.start_time() + now / 100;
    std::tm local{};
    localtime_r(&seconds, &local);
    char stamp[32];
    const std::size_t n = std::strftime(stamp, sizeof stamp, "%d/%m/%y %H:%M:%S", &local);
    std::fprintf(out, "%.*s.%02d ", static_cast<int>(n), stamp, static_cast<int>(now % 100));
  }
  std::fprintf(out, "[:%08x] ", source);
  std::fwrite(text.data(), 1, text.size(), out);
  std::fputc('\n', out);
  std::fflush(out);
  check_device(out);
}

// A device that fails (a full disk, /dev/full, a closed pipe) would otherwise lose every line
// without a word: say so once on stderr, keep writing, and say when lines get through again.
void logger::check_device(std::FILE* out) {
  const char* device = file_ ? path_.c_str() : "stdout";
  if (std::ferror(out) != 0) {
    const int error = errno;
    std::clearerr(out);
    if (lost_++ == 0) {
      fmt::print(stderr, "logger: cannot write to {}: {}; lines are lost until it works again\n",
                 device, std::strerror(error));
    }
  } else if (lost_ != 0) {
    fmt::print(stderr, "logger: writing to {} again; {} lines were lost\n", device, lost_);
    lost_ = 0;
  }
}

bool log_drained(const node& runtime) {
  const std::optional<handle_t> logger = runtime.find_name("logger");
  if (!logger) return true;
  const std::shared_ptr<context> target = runtime.grab(*logger);
  return !target || target->inbox().size() == 0;
}

}  // namespace starling
