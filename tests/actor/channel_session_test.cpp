// actor/channel beyond order mode: session mode against fake servers (replies out of order,
// failure replies, unknown sessions, multi-part replies, low-priority padding, a decoder that
// rejects the stream, a peer close, a timeout), the endless connect loop and its back-off, and
// the overload notifications around a write backlog.

#include <gtest/gtest.h>

#include <atomic>
#include <charconv>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "../support/line_channel.hpp"
#include "actor/channel.hpp"

namespace starling {
namespace {

using testing::failure;
using testing::fake_server;
using testing::script;
using testing::wanted;

/// Session mode over lines "<session> <ok|err|more> <body>".
class line_sessions final : public channel::session_decoder {
 public:
  channel::parse_status parse(std::string_view unread, std::size_t& used,
                              channel::frame& out) override {
    const std::size_t eol = unread.find('\n');
    if (eol == std::string_view::npos) return channel::parse_status::need_more;
    const std::string_view line = unread.substr(0, eol);
    const std::size_t first = line.find(' ');
    const std::size_t second = line.find(' ', first == std::string_view::npos ? 0 : first + 1);
    std::int32_t session = 0;
    if (first == std::string_view::npos || second == std::string_view::npos ||
        std::from_chars(line.data(), line.data() + first, session).ptr != line.data() + first) {
      why_ = "not a session line";
      return channel::parse_status::failed;
    }
    const std::string_view kind = line.substr(first + 1, second - first - 1);
    out.session = session;
    out.ok = kind != "err";
    out.more = kind == "more";
    out.body = line.substr(second + 1);
    used = eol + 1;
    return channel::parse_status::done;
  }
  [[nodiscard]] std::string failure() const override { return why_; }

 private:
  std::string why_;
};

line_sessions decoder;  // only one script runs at a time
int port = 0;

channel::options sessions_at(int p) {
  channel::options o;
  o.server = {"127.0.0.1", p};
  o.decoder = &decoder;
  return o;
}

task<std::string> call_line(channel& ch, std::int32_t session, std::string body) {
  auto r = co_await ch.call(payload::copy_of(std::to_string(session) + " " + body + "\n"), session);
  if (!r) co_return failure(r.error());
  co_return (r->ok ? "" : "failed:") + r->data;
}

task<> call_into(channel& ch, std::int32_t session, std::string body, std::string& out, int& left) {
  out = co_await call_line(ch, session, std::move(body));
  --left;
}

/// Calls sessions 1..n at once with bodies "a", "b", ...; the answers in session order.
task<std::vector<std::string>> call_all(script& s, channel& ch, int n, int first_session = 1) {
  std::vector<std::string> answers(static_cast<std::size_t>(n));
  int left = n;
  for (int i = 0; i < n; ++i) {
    s.fork(call_into(ch, first_session + i, std::string(1, static_cast<char>('a' + i)),
                     answers[static_cast<std::size_t>(i)], left));
  }
  co_await s.until([&] { return left == 0; });
  co_return answers;
}

/// Reads `n` request lines "<session> <body>".
std::vector<std::pair<std::string, std::string>> read_requests(fake_server::connection& c, int n) {
  std::vector<std::pair<std::string, std::string>> out;
  for (int i = 0; i < n; ++i) {
    const std::string line = c.read_line().value_or("? ?");
    const std::size_t space = line.find(' ');
    out.emplace_back(line.substr(0, space), line.substr(space + 1));
  }
  return out;
}

// ---- session mode ------------------------------------------------------------------------

TEST(channel_session, replies_in_any_order_reach_their_callers) {
  fake_server server([](fake_server::connection& c) {
    auto requests = read_requests(c, 4);
    std::string replies = "99 ok stray\n";  // nobody waits for 99
    for (auto it = requests.rbegin(); it != requests.rend(); ++it) {
      replies += it->first == "2" ? "2 err nope\n" : it->first + " ok " + it->second + "\n";
    }
    c.write(replies);
    testing::echo(c);
  });
  port = server.port();
  auto out = testing::run_script([](script& s) -> task<> {
    channel ch(s, sessions_at(port));
    for (const std::string& a : co_await call_all(s, ch, 4))
      s.note(a);
    s.done();
  });
  ASSERT_TRUE(out.finished);
  EXPECT_EQ(out.events, wanted({"a", "failed:nope", "c", "d"}));
  EXPECT_TRUE(out.log->contains("socket: unknown session : 99"));
}

TEST(channel_session, multi_part_replies_accumulate_and_a_failing_part_replaces_them) {
  fake_server server([](fake_server::connection& c) {
    read_requests(c, 2);
    c.write("7 more part1-\n8 more x\n7 more part2-\n8 err broken\n7 ok end\n");
    c.wait_closed();
  });
  port = server.port();
  auto out = testing::run_script([](script& s) -> task<> {
    channel ch(s, sessions_at(port));
    for (const std::string& a : co_await call_all(s, ch, 2, 7))
      s.note(a);
    s.done();
  });
  ASSERT_TRUE(out.finished);
  EXPECT_EQ(out.events, wanted({"part1-part2-end", "failed:broken"}));
}

TEST(channel_session, padding_parts_follow_the_head_in_order) {
  // Each part is a whole line: a small request may overtake between parts, never inside one.
  fake_server server([](fake_server::connection& c) {
    std::string parts;
    for (int answered = 0; answered < 2;) {
      auto line = c.read_line();
      if (!line) return;
      if (line->starts_with("6 ")) {
        c.write("6 ok " + line->substr(2) + "\n");
        ++answered;
      } else {
        parts += line->substr(2);
        if (line->ends_with("end")) {
          c.write("5 ok " + parts + "\n");
          ++answered;
        }
      }
    }
    c.wait_closed();
  });
  port = server.port();
  auto out = testing::run_script([](script& s) -> task<> {
    channel ch(s, sessions_at(port));
    std::vector<payload> padding;
    padding.push_back(payload::copy_of("5 " + std::string(100000, 'x') + "\n"));
    padding.push_back(payload::copy_of(std::string_view("5 end\n")));
    std::string big;
    int left = 1;
    s.fork([](channel& c, std::vector<payload> parts, std::string& got, int& n) -> task<> {
      auto r =
          co_await c.call(payload::copy_of(std::string_view("5 begin\n")), 5, std::move(parts));
      got = r ? r->data : failure(r.error());
      --n;
    }(ch, std::move(padding), big, left));
    s.note(co_await call_line(ch, 6, "small"));
    co_await s.until([&] { return left == 0; });
    s.note(big == "begin" + std::string(100000, 'x') + "end" ? "parts in order" : "garbled");
    s.done();
  });
  ASSERT_TRUE(out.finished);
  EXPECT_EQ(out.events, wanted({"small", "parts in order"}));
}

TEST(channel_session, a_rejected_stream_fails_every_caller_then_reconnects) {
  fake_server server([](fake_server::connection& c) {
    if (c.number() == 1) {
      read_requests(c, 3);
      c.write("garbage\n");
      c.wait_closed();
      return;
    }
    for (;;) {
      auto line = c.read_line();
      if (!line) return;
      c.write(line->substr(0, line->find(' ')) + " ok again\n");
    }
  });
  port = server.port();
  auto out = testing::run_script([](script& s) -> task<> {
    channel ch(s, sessions_at(port));
    for (const std::string& a : co_await call_all(s, ch, 3))
      s.note(a);
    s.note(ch.last_error());
    s.note(co_await call_line(ch, 4, "x"));
    s.done();
  });
  ASSERT_TRUE(out.finished);
  EXPECT_EQ(out.events, wanted({"error:protocol error", "error:protocol error",
                                "error:protocol error", "not a session line", "again"}));
}

TEST(channel_session, a_peer_close_fails_every_caller) {
  fake_server server([](fake_server::connection& c) {
    read_requests(c, 3);
    c.close();
  });
  port = server.port();
  auto out = testing::run_script([](script& s) -> task<> {
    channel ch(s, sessions_at(port));
    for (const std::string& a : co_await call_all(s, ch, 3))
      s.note(a);
    s.done();
  });
  ASSERT_TRUE(out.finished);
  EXPECT_EQ(out.events,
            wanted({"error:socket closed", "error:socket closed", "error:socket closed"}));
}

TEST(channel_session, a_timeout_fails_one_caller_and_keeps_the_connection) {
  fake_server server([](fake_server::connection& c) {
    read_requests(c, 2);
    c.write("2 ok b\n");  // session 1 is never answered in time
    read_requests(c, 1);
    c.write("1 ok late\n3 ok c\n");
    c.wait_closed();
  });
  port = server.port();
  auto out = testing::run_script([](script& s) -> task<> {
    channel::options o = sessions_at(port);
    o.timeout = 20;
    channel ch(s, std::move(o));
    for (const std::string& a : co_await call_all(s, ch, 2))
      s.note(a);
    s.note(co_await call_line(ch, 3, "c"));
    s.done();
  });
  ASSERT_TRUE(out.finished);
  EXPECT_EQ(out.events, wanted({"error:timeout", "b", "c"}));
  EXPECT_EQ(server.accepted(), 1);
  EXPECT_TRUE(out.log->contains("socket: unknown session : 1"));
}

// ---- connecting forever --------------------------------------------------------------------

TEST(channel_backoff, follows_skynet) {
  channel::backoff b;
  std::vector<std::int64_t> sleeps;
  std::vector<bool> pauses;
  for (int i = 0; i < 14; ++i) {
    sleeps.push_back(b.next());
    pauses.push_back(b.long_pause());
  }
  EXPECT_EQ(sleeps, (std::vector<std::int64_t>{0, 100, 200, 300, 400, 500, 600, 700, 800, 900, 1000,
                                               1100, 100, 200}));
  EXPECT_EQ(pauses, (std::vector<bool>{false, false, false, false, false, false, false, false,
                                       false, false, false, true, false, false}));
}

TEST(channel_backoff, connect_retries_until_a_server_appears) {
  port = testing::free_loopback_port();
  std::optional<fake_server> late;
  auto out = testing::run_script(
      [](script& s) -> task<> {
        channel::options o;
        o.server = {"127.0.0.1", port};
        channel ch(s, std::move(o));
        result<void> c = co_await ch.connect(false);
        s.note(c ? "connected" : failure(c.error()));
        s.note(co_await testing::ask(ch, "hello"));
        s.done();
      },
      [&late](const testing::log_record& log) {
        // The server appears once two passes have failed (the loop then sleeps a second).
        ASSERT_TRUE(testing::eventually(
            [&] { return log.count_prefix("socket: connect Connection refused") >= 2; }));
        late.emplace(testing::echo, port);
      });
  ASSERT_TRUE(out.finished);
  EXPECT_EQ(out.events, wanted({"connected", "hello"}));
  EXPECT_TRUE(out.log->contains("socket: connect to 127.0.0.1 " + std::to_string(port)));
}

TEST(channel_backoff, close_ends_the_loop) {
  port = testing::free_loopback_port();
  auto out = testing::run_script([](script& s) -> task<> {
    channel::options o;
    o.server = {"127.0.0.1", port};
    channel ch(s, std::move(o));
    std::string outcome;
    s.fork([](channel& c, std::string& got) -> task<> {
      result<void> r = co_await c.connect(false);
      got = r ? "connected" : failure(r.error());
    }(ch, outcome));
    co_await s.until([&] { return !ch.last_error().empty(); });  // a pass has failed
    ch.close();
    co_await s.until([&] { return !outcome.empty(); });
    s.note(outcome);
    s.done();
  });
  ASSERT_TRUE(out.finished);
  EXPECT_EQ(out.events, wanted({"error:channel closed"}));
}

// ---- overload ------------------------------------------------------------------------------

std::atomic<bool> drain{false};

TEST(channel_overload, reported_around_a_write_backlog) {
  drain = false;
  fake_server server([](fake_server::connection& c) {
    while (!drain)  // reads nothing until the client reports the backlog
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    (void)c.read_exact(32 * 1024 * 1024);
    c.wait_closed();
  });
  port = server.port();
  auto out = testing::run_script([](script& s) -> task<> {
    channel::options o;
    o.server = {"127.0.0.1", port};
    std::vector<bool> reports;
    o.overload = [&reports](bool overloaded) {
      reports.push_back(overloaded);
      if (overloaded) drain = true;
    };
    channel ch(s, std::move(o));
    result<void> sent = co_await ch.send(payload::copy_of(std::string(32 * 1024 * 1024, 'o')));
    s.note(sent ? "sent" : failure(sent.error()));
    co_await s.until([&] { return reports.size() >= 2; });
    for (bool r : reports)
      s.note(r ? "overloaded" : "drained");
    s.done();
  });
  ASSERT_TRUE(out.finished);
  EXPECT_EQ(out.events, wanted({"sent", "overloaded", "drained"}));
}

}  // namespace
}  // namespace starling
