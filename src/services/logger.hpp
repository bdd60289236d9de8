#pragma once
// The built-in logger (`logservice = "logger"`): one line per PTYPE_TEXT message, to stdout as
// `[:SSSSSSSS] text`, or appended to the file named by the `logger` config key as
// `dd/mm/yy HH:MM:SS.cc [:SSSSSSSS] text`. Flushed line by line; PTYPE_SYSTEM (SIGHUP)
// reopens the file so logs can be rotated. A file that cannot be opened fails the launch with
// the reason on stderr; a device that stops taking lines is reported once on stderr, and the
// logger keeps trying.

#include <cstdint>
#include <cstdio>
#include <memory>
#include <string>

#include "core/service.hpp"

namespace starling {

class node;

class logger final : public service {
 public:
  bool init(context& self, std::string_view param) override;
  void dispatch(context& self, message& msg) override;

  /// "cannot open log file <path>: <system error>".
  [[nodiscard]] static std::string open_error(const std::string& path, int error);

 private:
  struct file_closer {
    void operator()(std::FILE* f) const noexcept { std::fclose(f); }
  };

  void write_line(context& self, handle_t source, std::string_view text);
  void check_device(std::FILE* out);

  std::string path_;
  std::unique_ptr<std::FILE, file_closer> file_;  // null: stdout
  std::uint64_t lost_ = 0;                        // lines lost since the device failed
};

/// True when the service named `logger` has no line queued (or there is none). Every line
/// logged before the call is then written, or being written by a worker, and `node::wait`
/// joins the workers: so a caller that waits for this before `abort` loses no line.
[[nodiscard]] bool log_drained(const node& runtime);

}  // namespace starling
