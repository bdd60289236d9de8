#include "services/logger.hpp"

#include <ctime>

#include "core/context.hpp"
#include "core/node.hpp"

namespace starling {

bool logger::init(context& self, std::string_view param) {
  (void)self;
  if (param.empty()) return true;
  path_ = std::string(param);
  file_.reset(std::fopen(path_.c_str(), "a"));
  return file_ != nullptr;
}

void logger::dispatch(context& self, message& msg) {
  switch (msg.type) {
    case ptype::text:
      write_line(self, msg.source, msg.data.view());
      break;
    case ptype::system:
      if (file_) {
        // Reopen by name: after a rename, new lines go to a new file.
        if (std::FILE* reopened = std::fopen(path_.c_str(), "a")) file_.reset(reopened);
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
}

bool log_drained(const node& runtime) {
  const std::optional<handle_t> logger = runtime.find_name("logger");
  if (!logger) return true;
  const std::shared_ptr<context> target = runtime.grab(*logger);
  return !target || target->inbox().size() == 0;
}

}  // namespace starling
