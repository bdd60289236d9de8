#include "core/message_log.hpp"

#include <fmt/format.h>

#include <ctime>

namespace starling {

bool message_log::open(const std::string& path, std::int64_t now) {
  std::lock_guard lock(mutex_);
  if (file_) return false;
  file_.reset(std::fopen(path.c_str(), "ab"));
  if (!file_) return false;
  const std::time_t wall = std::time(nullptr);
  char date[64] = "";
  std::tm local{};
  if (localtime_r(&wall, &local) != nullptr) std::strftime(date, sizeof date, "%c", &local);
  fmt::print(file_.get(), "open time: {} {}\n", now, date);
  std::fflush(file_.get());
  active_.store(true, std::memory_order_release);
  return true;
}

bool message_log::close(std::int64_t now) {
  std::lock_guard lock(mutex_);
  if (!file_) return false;
  active_.store(false, std::memory_order_release);
  fmt::print(file_.get(), "close time: {}\n", now);
  file_.reset();
  return true;
}

void message_log::write(const message& msg, std::int64_t now) {
  std::lock_guard lock(mutex_);
  if (!file_) return;
  std::string line =
      fmt::format(":{:08x} {} {} {} ", msg.source, static_cast<int>(msg.type), msg.session, now);
  constexpr char digits[] = "0123456789abcdef";
  for (std::byte b : msg.data.bytes()) {
    const auto v = static_cast<unsigned>(b);
    line += digits[v >> 4];
    line += digits[v & 15];
  }
  line += '\n';
  std::fwrite(line.data(), 1, line.size(), file_.get());
  std::fflush(file_.get());
}

}  // namespace starling
