#include "core/message_log.hpp"

#include <fmt/format.h>

#include <ctime>
#include <span>
#include <string_view>

#include "core/socket_message.hpp"

namespace starling {

bool message_log::open(const std::string& path, std::int64_t now) {
  scoped_lock lock(mutex_);
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
  scoped_lock lock(mutex_);
  if (!file_) return false;
  active_.store(false, std::memory_order_release);
  fmt::print(file_.get(), "close time: {}\n", now);
  file_.reset();
  return true;
}

namespace {

void append_hex(std::string& line, std::span<const std::byte> bytes) {
  constexpr char digits[] = "0123456789abcdef";
  for (std::byte b : bytes) {
    const auto v = static_cast<unsigned>(b);
    line += digits[v >> 4];
    line += digits[v & 15];
  }
}

// A socket message: its head, then its inline text in brackets (up to a NUL) or the bytes it
// carries in hex (for data and udp, `ud` bytes of its buffer: a datagram without the address).
void append_socket_message(std::string& line, const socket_message& head, const message& msg) {
  line += fmt::format("[socket] {} {} {} ", static_cast<int>(head.type), head.id, head.ud);
  if (head.buffer == nullptr) {
    std::string_view text = socket_message_text(msg.data.data(), msg.data.size());
    text = text.substr(0, text.find('\0'));
    line += fmt::format("[{}]", text);
  } else if (head.ud > 0) {
    append_hex(line,
               {static_cast<const std::byte*>(head.buffer), static_cast<std::size_t>(head.ud)});
  }
}

}  // namespace

void message_log::write(const message& msg, std::int64_t now) {
  scoped_lock lock(mutex_);
  if (!file_) return;
  std::string line;
  const socket_message* head =
      msg.type == ptype::socket ? read_socket_message(msg.data.data(), msg.data.size()) : nullptr;
  if (head != nullptr) {
    append_socket_message(line, *head, msg);
  } else {
    line =
        fmt::format(":{:08x} {} {} {} ", msg.source, static_cast<int>(msg.type), msg.session, now);
    append_hex(line, msg.data.bytes());
  }
  line += '\n';
  std::fwrite(line.data(), 1, line.size(), file_.get());
  std::fflush(file_.get());
}

}  // namespace starling
