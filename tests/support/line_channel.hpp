#pragma once
// A line protocol for channel tests: a request is a line, its reply is a line.

#include <string>
#include <string_view>
#include <vector>

#include "actor/channel.hpp"
#include "fake_server.hpp"
#include "script_actor.hpp"

namespace starling::testing {

/// Order mode over a line protocol: a reply is one line.
class line_reader final : public channel::reader {
 public:
  channel::parse_status parse(std::string_view unread, std::size_t& used) override {
    const std::size_t eol = unread.find('\n');
    if (eol == std::string_view::npos) {
      if (unread.size() > 1000) return channel::parse_status::failed;
      return channel::parse_status::need_more;
    }
    line = std::string(unread.substr(0, eol));
    used = eol + 1;
    return channel::parse_status::done;
  }
  [[nodiscard]] std::string failure() const override { return "line too long"; }
  std::string line;
};

inline std::string failure(errc e) {
  return "error:" + std::string(describe(e));
}

/// Sends one line and waits for the reply line (or the failure's sentence).
inline task<std::string> ask(channel& ch, std::string text) {
  line_reader r;
  result<void> done = co_await ch.request(payload::copy_of(text + "\n"), r);
  co_return done ? r.line : failure(done.error());
}

/// `ask`, for forked callers: stores the answer and counts down.
inline task<> ask_into(channel& ch, std::string text, std::string& out, int& left) {
  out = co_await ask(ch, std::move(text));
  --left;
}

/// Forks one caller per line (all pipelined on the connection) and returns their answers.
inline task<std::vector<std::string>> ask_all(script& s, channel& ch,
                                              std::vector<std::string> lines) {
  std::vector<std::string> answers(lines.size());
  int left = static_cast<int>(lines.size());
  for (std::size_t i = 0; i < lines.size(); ++i)
    s.fork(ask_into(ch, lines[i], answers[i], left));
  co_await s.until([&] { return left == 0; });
  co_return answers;
}

/// Echoes every line.
inline void echo(fake_server::connection& c) {
  while (auto line = c.read_line())
    c.write(*line + "\n");
}

}  // namespace starling::testing
