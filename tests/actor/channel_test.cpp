// The order mode of actor/channel against fake servers (the socketchannel checklist,
// docs/TESTING.md): pipelined callers get their own replies on one connection, and every failure of
// §5.3 — a peer that closes mid-request or after half a pipeline, garbage, a cut reply, silence
// (timeout), a refused port, close() with callers waiting — fails the waiting callers with an errc
// and lets the next request reconnect. Also backups, auth on every (re)connect, change_host.

#include "actor/channel.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <string>
#include <vector>

#include "../support/fake_server.hpp"
#include "../support/line_channel.hpp"
#include "../support/script_actor.hpp"

namespace starling {
namespace {

using testing::ask;
using testing::ask_all;
using testing::ask_into;
using testing::echo;
using testing::failure;
using testing::fake_server;
using testing::line_reader;
using testing::script;
using testing::wanted;

// The scenario's server ports and knobs, set by each test before it runs its script.
int port = 0;
int second_port = 0;
int refused_port = 0;

channel::options at(int p) {
  channel::options o;
  o.server = {"127.0.0.1", p};
  return o;
}

// ---- the connection is shared --------------------------------------------------------

TEST(channel, pipelined_callers_get_their_own_replies_on_one_connection) {
  fake_server server(echo);
  port = server.port();
  auto out = testing::run_script([](script& s) -> task<> {
    channel ch(s, at(port));
    s.note(co_await ask(ch, "first"));
    std::vector<std::string> lines;
    for (int i = 0; i < 50; ++i)
      lines.push_back("caller " + std::to_string(i));
    std::vector<std::string> answers = co_await ask_all(s, ch, lines);
    s.note(answers == lines ? "all 50 answered in kind" : "mixed up");
    s.note(co_await ask(ch, "last"));
    s.done();
  });
  ASSERT_TRUE(out.finished);
  EXPECT_EQ(out.events, wanted({"first", "all 50 answered in kind", "last"}));
  EXPECT_EQ(server.accepted(), 1);
}

TEST(channel, a_send_leaves_its_reply_for_the_next_reader) {
  fake_server server(echo);
  port = server.port();
  auto out = testing::run_script([](script& s) -> task<> {
    channel ch(s, at(port));
    result<void> sent = co_await ch.send(payload::copy_of(std::string_view("pushed\n")));
    s.note(sent ? "sent" : "send failed");
    line_reader r;
    result<void> got = co_await ch.response(r);
    s.note(got ? r.line : failure(got.error()));
    s.done();
  });
  ASSERT_TRUE(out.finished);
  EXPECT_EQ(out.events, wanted({"sent", "pushed"}));
}

// ---- failures (docs/SOCKETCHANNEL.md, What happens when things fail)
// --------------------------------------------------

TEST(channel, a_peer_closing_mid_request_fails_every_waiting_caller) {
  fake_server server([](fake_server::connection& c) {
    if (c.number() == 1) {
      for (int i = 0; i < 3; ++i)
        (void)c.read_line();
      c.close();  // three requests read, none answered
      return;
    }
    echo(c);
  });
  port = server.port();
  auto out = testing::run_script([](script& s) -> task<> {
    channel ch(s, at(port));
    const std::vector<std::string> lines{"a", "b", "c"};
    std::vector<std::string> answers = co_await ask_all(s, ch, lines);
    for (const std::string& a : answers)
      s.note(a);
    s.note(co_await ask(ch, "again"));  // reconnects
    s.done();
  });
  ASSERT_TRUE(out.finished);
  EXPECT_EQ(out.events,
            wanted({"error:socket closed", "error:socket closed", "error:socket closed", "again"}));
  EXPECT_EQ(server.accepted(), 2);
}

TEST(channel, a_peer_closing_after_half_a_pipeline_fails_only_the_rest) {
  fake_server server([](fake_server::connection& c) {
    if (c.number() == 1) {
      std::vector<std::string> lines;
      for (int i = 0; i < 4; ++i)
        lines.push_back(c.read_line().value_or("?"));
      c.write(lines[0] + "\n" + lines[1] + "\n");
      c.close();
      return;
    }
    echo(c);
  });
  port = server.port();
  auto out = testing::run_script([](script& s) -> task<> {
    channel ch(s, at(port));
    const std::vector<std::string> lines{"1", "2", "3", "4"};
    for (const std::string& a : co_await ask_all(s, ch, lines))
      s.note(a);
    s.note(co_await ask(ch, "5"));
    s.done();
  });
  ASSERT_TRUE(out.finished);
  EXPECT_EQ(out.events, wanted({"1", "2", "error:socket closed", "error:socket closed", "5"}));
}

TEST(channel, garbage_fails_every_waiting_caller_with_a_protocol_error) {
  fake_server server([](fake_server::connection& c) {
    if (c.number() == 1) {
      for (int i = 0; i < 3; ++i)
        (void)c.read_line();
      c.write("fine\n" + std::string(5000, '#'));  // then a "line" past the reader's limit
      c.wait_closed();
      return;
    }
    echo(c);
  });
  port = server.port();
  auto out = testing::run_script([](script& s) -> task<> {
    channel ch(s, at(port));
    const std::vector<std::string> lines{"x", "y", "z"};
    for (const std::string& a : co_await ask_all(s, ch, lines))
      s.note(a);
    s.note("last error: " + ch.last_error());
    s.note(co_await ask(ch, "after"));
    s.done();
  });
  ASSERT_TRUE(out.finished);
  EXPECT_EQ(out.events, wanted({"fine", "error:protocol error", "error:protocol error",
                                "last error: line too long", "after"}));
  EXPECT_EQ(server.accepted(), 2);
  EXPECT_TRUE(out.log->contains_prefix("socket: protocol error line too long 127.0.0.1 "));
}

TEST(channel, a_cut_reply_fails_with_socket_closed) {
  fake_server server([](fake_server::connection& c) {
    (void)c.read_line();
    c.write("half a li");
    c.close();
  });
  port = server.port();
  auto out = testing::run_script([](script& s) -> task<> {
    channel ch(s, at(port));
    s.note(co_await ask(ch, "q"));
    s.done();
  });
  ASSERT_TRUE(out.finished);
  EXPECT_EQ(out.events, wanted({"error:socket closed"}));
}

TEST(channel, a_silent_server_times_out_and_the_connection_is_replaced) {
  fake_server server([](fake_server::connection& c) {
    if (c.number() == 1) {
      c.wait_closed();  // reads and never answers
      return;
    }
    echo(c);
  });
  port = server.port();
  auto out = testing::run_script([](script& s) -> task<> {
    channel::options o = at(port);
    o.timeout = 20;  // 0.2 s
    channel ch(s, std::move(o));
    const std::vector<std::string> lines{"p", "q"};
    for (const std::string& a : co_await ask_all(s, ch, lines))
      s.note(a);
    s.note(co_await ask(ch, "r"));
    s.done();
  });
  ASSERT_TRUE(out.finished);
  // The first deadline closes the connection; the caller behind it cannot be answered on it.
  EXPECT_EQ(out.events, wanted({"error:timeout", "error:socket closed", "r"}));
  EXPECT_EQ(server.accepted(), 2);
  EXPECT_TRUE(out.log->contains_prefix("socket: request timed out, closing 127.0.0.1 "));
}

TEST(channel, close_fails_waiting_callers_and_sticks_until_connect) {
  fake_server server([](fake_server::connection& c) {
    if (c.number() == 1) {
      c.wait_closed();
      return;
    }
    echo(c);
  });
  port = server.port();
  auto out = testing::run_script([](script& s) -> task<> {
    channel ch(s, at(port));
    std::string pending;
    int left = 1;
    s.fork(ask_into(ch, "never answered", pending, left));
    co_await s.until([&] { return ch.waiting() == 1; });
    ch.close();
    co_await s.until([&] { return left == 0; });
    s.note("waiting caller: " + pending);
    s.note("after close: " + co_await ask(ch, "x"));
    result<void> reopened = co_await ch.connect(true);
    s.note(reopened ? "reopened" : failure(reopened.error()));
    s.note(co_await ask(ch, "works"));
    s.done();
  });
  ASSERT_TRUE(out.finished);
  EXPECT_EQ(out.events, wanted({"waiting caller: error:socket closed",
                                "after close: error:channel closed", "reopened", "works"}));
}

TEST(channel, a_refused_port_fails_fast) {
  refused_port = testing::free_loopback_port();
  auto out = testing::run_script([](script& s) -> task<> {
    channel ch(s, at(refused_port));
    result<void> c = co_await ch.connect(true);
    s.note(c ? "connected?" : failure(c.error()));
    s.note(co_await ask(ch, "x"));
    s.note(ch.last_error());
    s.done();
  });
  ASSERT_TRUE(out.finished);
  EXPECT_EQ(out.events,
            wanted({"error:socket failed", "error:socket failed", "Connection refused"}));
  EXPECT_EQ(out.log->count_prefix("Connect failed Connection refused 127.0.0.1 " +
                                  std::to_string(refused_port)),
            2U);
}

// ---- servers: backups, auth, change_host ------------------------------------------------

TEST(channel, a_backup_that_connects_becomes_the_primary) {
  fake_server server(echo);
  port = server.port();
  refused_port = testing::free_loopback_port();
  auto out = testing::run_script([](script& s) -> task<> {
    channel::options o = at(refused_port);
    o.backups = {{"127.0.0.1", refused_port}, {"127.0.0.1", refused_port}, {"127.0.0.1", port}};
    channel ch(s, std::move(o));
    s.note(co_await ask(ch, "via backup"));
    s.note(ch.server().port == port ? "server is the backup" : "server unchanged");
    s.done();
  });
  ASSERT_TRUE(out.finished);
  EXPECT_EQ(out.events, wanted({"via backup", "server is the backup"}));
  // The primary is tried, then each distinct backup once.
  EXPECT_EQ(out.log->count_prefix("socket: connect to backup host 127.0.0.1 "), 2U);
}

/// Auth for the line servers: "auth secret" must be answered "yes".
task<result<void>> line_auth(channel::handshake& h) {
  line_reader r;
  result<void> sent = co_await h.request(payload::copy_of(std::string_view("auth secret\n")), r);
  if (!sent) co_return sent.error();
  if (r.line != "yes") co_return h.fail("refused: " + r.line);
  co_return result<void>{};
}

/// Answers auth with `verdict`, then echoes; counts the connections whose first line is auth.
std::atomic<int> authed_first{0};
void auth_then_echo(fake_server::connection& c, const char* verdict) {
  auto first = c.read_line();
  if (first == "auth secret") ++authed_first;
  c.write(std::string(verdict) + "\n");
  echo(c);
}

TEST(channel, auth_runs_first_on_every_connection_while_other_callers_wait) {
  authed_first = 0;
  fake_server server([](fake_server::connection& c) { auth_then_echo(c, "yes"); });
  port = server.port();
  auto out = testing::run_script([](script& s) -> task<> {
    channel::options o = at(port);
    o.auth = line_auth;
    channel ch(s, std::move(o));
    // Three callers at once on a channel that has no connection yet.
    const std::vector<std::string> lines{"one", "two", "three"};
    for (const std::string& a : co_await ask_all(s, ch, lines))
      s.note(a);
    ch.change_host({"127.0.0.1", port});  // drops the connection
    s.note(co_await ask(ch, "four"));
    s.done();
  });
  ASSERT_TRUE(out.finished);
  EXPECT_EQ(out.events, wanted({"one", "two", "three", "four"}));
  EXPECT_EQ(server.accepted(), 2);
  EXPECT_EQ(authed_first, 2);
}

TEST(channel, a_failed_auth_moves_on_to_the_next_backup) {
  fake_server refusing([](fake_server::connection& c) { auth_then_echo(c, "no"); });
  fake_server accepting([](fake_server::connection& c) { auth_then_echo(c, "yes"); });
  port = refusing.port();
  second_port = accepting.port();
  auto out = testing::run_script([](script& s) -> task<> {
    channel::options o = at(port);
    o.auth = line_auth;
    o.backups = {{"127.0.0.1", second_port}};
    channel ch(s, std::move(o));
    s.note(co_await ask(ch, "hello"));
    s.note(ch.server().port == second_port ? "on the backup" : "elsewhere");
    // Only the refusing server left: every candidate fails its auth.
    ch.change_backups({});
    ch.change_host({"127.0.0.1", port});
    s.note(co_await ask(ch, "again"));
    s.note(ch.last_error());
    s.done();
  });
  ASSERT_TRUE(out.finished);
  EXPECT_EQ(out.events,
            wanted({"hello", "on the backup", "error:socket failed", "no more backup host"}));
  EXPECT_EQ(out.log->count_prefix("socket: auth failed refused: no"), 2U);
  EXPECT_TRUE(
      out.log->contains("Connect failed no more backup host 127.0.0.1 " + std::to_string(port)));
}

TEST(channel, change_host_to_a_dead_port_and_back) {
  fake_server server(echo);
  port = server.port();
  refused_port = testing::free_loopback_port();
  auto out = testing::run_script([](script& s) -> task<> {
    channel ch(s, at(port));
    s.note(co_await ask(ch, "a"));
    ch.change_host({"127.0.0.1", refused_port});
    s.note(co_await ask(ch, "b"));
    ch.change_host({"127.0.0.1", port});
    s.note(co_await ask(ch, "c"));
    s.done();
  });
  ASSERT_TRUE(out.finished);
  EXPECT_EQ(out.events, wanted({"a", "error:socket failed", "c"}));
  EXPECT_EQ(server.accepted(), 2);
}

TEST(channel, an_idle_close_is_noticed_and_the_next_request_reconnects) {
  fake_server server([](fake_server::connection& c) {
    auto line = c.read_line();
    c.write(*line + "\n");
    if (c.number() == 1) {
      c.close();  // after answering: the client is idle
      return;
    }
    echo(c);
  });
  port = server.port();
  auto out = testing::run_script([](script& s) -> task<> {
    channel ch(s, at(port));
    s.note(co_await ask(ch, "a"));
    co_await s.until([&] { return !ch.connected(); });
    s.note(co_await ask(ch, "b"));
    s.done();
  });
  ASSERT_TRUE(out.finished);
  EXPECT_EQ(out.events, wanted({"a", "b"}));
  EXPECT_TRUE(out.log->contains_prefix("socket closed by peer : 127.0.0.1 "));
}

}  // namespace
}  // namespace starling
