// db/redis against fake servers: the exact bytes of commands and pipelines, AUTH and SELECT
// before anything else on every connection, and a server that misbehaves — garbage, a RESP3
// reply, an oversized bulk length, a cut reply, silence, a close after half a pipeline. Every
// waiting command gets an errc and the next command works on a new connection.

#include <gtest/gtest.h>

#include <mutex>
#include <string>
#include <vector>

#include "../support/fake_server.hpp"
#include "../support/redis_script.hpp"
#include "../support/script_actor.hpp"
#include "db/redis.hpp"

namespace starling::db {
namespace {

using testing::fake_server;
using testing::redis_at;
using testing::script;
using testing::show;
using testing::wanted;

int port = 0;

/// What the fake servers received, one line per command: "<connection>: ARG ARG ...".
std::mutex seen_mutex;
std::vector<std::string> seen;

void record(const fake_server::connection& c, const std::vector<std::string>& args) {
  std::string line = std::to_string(c.number()) + ":";
  for (const std::string& a : args)
    line += " " + a;
  std::lock_guard lock(seen_mutex);
  seen.push_back(line);
}

std::vector<std::string> take_seen() {
  std::lock_guard lock(seen_mutex);
  return std::exchange(seen, {});
}

/// Answers AUTH and SELECT with +OK and GET k with the connection's number; records all.
void polite(fake_server::connection& c) {
  while (auto args = c.read_command()) {
    record(c, *args);
    if (args->at(0) == "GET") {
      const std::string n = std::to_string(c.number());
      c.write("$" + std::to_string(n.size()) + "\r\n" + n + "\r\n");
    } else {
      c.write("+OK\r\n");
    }
  }
}

TEST(redis_fake, commands_and_pipelines_are_sent_byte_exact) {
  std::string bytes;
  std::mutex m;
  fake_server server([&](fake_server::connection& c) {
    auto command = c.read_exact(31);
    c.write("+OK\r\n");
    auto pipeline = c.read_exact(49);
    c.write("+OK\r\n:-6\r\n");
    {
      std::lock_guard lock(m);
      bytes = command.value_or("") + pipeline.value_or("");
    }
    c.wait_closed();
  });
  port = server.port();
  auto out = testing::run_script([](script& s) -> task<> {
    redis db(s, redis_at(port));
    s.note(show(co_await db.command("SET", "key", 1.5)));
    batch b;
    b.add("set", "n", -7).add("incr", "n");
    auto replies = co_await db.pipeline(b);
    s.note(replies ? std::to_string(replies->size()) + " replies" : "pipeline failed");
    s.done();
  });
  ASSERT_TRUE(out.finished);
  EXPECT_EQ(out.events, wanted({"OK", "2 replies"}));
  std::lock_guard lock(m);
  EXPECT_EQ(bytes,
            "*3\r\n$3\r\nSET\r\n$3\r\nkey\r\n$3\r\n1.5\r\n"
            "*3\r\n$3\r\nset\r\n$1\r\nn\r\n$2\r\n-7\r\n*2\r\n$4\r\nincr\r\n$1\r\nn\r\n");
}

TEST(redis_fake, auth_and_select_come_first_on_every_connection) {
  take_seen();
  fake_server server(polite);
  port = server.port();
  auto out = testing::run_script([](script& s) -> task<> {
    redis_options o = redis_at(port);
    o.username = "user";
    o.password = "pw";
    o.db = 5;
    redis db(s, o);
    s.note(show(co_await db.command("GET", "k")));
    db.link().change_host({"127.0.0.1", port});  // drops the connection
    s.note(show(co_await db.command("GET", "k")));
    s.done();
  });
  ASSERT_TRUE(out.finished);
  EXPECT_EQ(out.events, wanted({"\"1\"", "\"2\""}));
  EXPECT_EQ(take_seen(), wanted({"1: AUTH user pw", "1: SELECT 5", "1: GET k", "2: AUTH user pw",
                                 "2: SELECT 5", "2: GET k"}));
}

/// The first connection reads three commands and answers the first with "+OK" and then
/// `garbage`; later connections are polite.
std::string garbage;
void misbehave_once(fake_server::connection& c) {
  if (c.number() > 1) {
    polite(c);
    return;
  }
  for (int i = 0; i < 3; ++i)
    (void)c.read_command();
  c.write("+OK\r\n" + garbage);
  c.wait_closed();
}

task<> get_into(redis& db, std::string& out, int& left) {
  out = show(co_await db.command("GET", "k"));
  --left;
}

/// Three GETs at once, then one more after they have all finished.
task<> three_then_one(script& s) {
  redis db(s, redis_at(port));
  std::vector<std::string> answers(3);
  int left = 3;
  for (std::string& a : answers)
    s.fork(get_into(db, a, left));
  co_await s.until([&] { return left == 0; });
  for (const std::string& a : answers)
    s.note(a);
  s.note(db.link().last_error());
  s.note(show(co_await db.command("GET", "k")));
  s.done();
}

std::vector<std::string> run_misbehaving(std::string bytes) {
  garbage = std::move(bytes);
  fake_server server(misbehave_once);
  port = server.port();
  auto out = testing::run_script(three_then_one);
  EXPECT_TRUE(out.finished);
  EXPECT_EQ(server.accepted(), 2);
  return out.events;
}

TEST(redis_fake, garbage_fails_every_waiting_command) {
  EXPECT_EQ(run_misbehaving("hello\r\n"),
            wanted({"OK", "error:protocol error", "error:protocol error",
                    "unsupported reply type 'h'", "\"2\""}));
}

TEST(redis_fake, a_resp3_reply_is_a_protocol_error) {
  EXPECT_EQ(run_misbehaving("%1\r\n+a\r\n+b\r\n"),
            wanted({"OK", "error:protocol error", "error:protocol error",
                    "unsupported reply type '%'", "\"2\""}));
}

TEST(redis_fake, an_oversized_bulk_length_is_a_protocol_error) {
  EXPECT_EQ(run_misbehaving("$999999999999\r\n"),
            wanted({"OK", "error:protocol error", "error:protocol error",
                    "bulk length 999999999999 over the limit of 536870912", "\"2\""}));
}

TEST(redis_fake, a_negative_length_is_a_protocol_error) {
  EXPECT_EQ(run_misbehaving("*-3\r\n"),
            wanted({"OK", "error:protocol error", "error:protocol error",
                    "invalid array count '-3'", "\"2\""}));
}

TEST(redis_fake, a_cut_reply_fails_with_socket_closed) {
  fake_server server([](fake_server::connection& c) {
    if (c.number() > 1) {
      polite(c);
      return;
    }
    for (int i = 0; i < 3; ++i)
      (void)c.read_command();
    c.write("+OK\r\n$10\r\nonly");
    c.close();
  });
  port = server.port();
  auto out = testing::run_script(three_then_one);
  ASSERT_TRUE(out.finished);
  EXPECT_EQ(out.events, wanted({"OK", "error:socket closed", "error:socket closed",
                                "closed by peer", "\"2\""}));
}

TEST(redis_fake, a_close_after_half_a_pipeline_fails_the_rest) {
  fake_server server([](fake_server::connection& c) {
    if (c.number() > 1) {
      polite(c);
      return;
    }
    for (int i = 0; i < 3; ++i)
      (void)c.read_command();
    c.write("$1\r\na\r\n$1\r\nb\r\n");  // two of three
    c.close();
  });
  port = server.port();
  auto out = testing::run_script(three_then_one);
  ASSERT_TRUE(out.finished);
  EXPECT_EQ(out.events,
            wanted({"\"a\"", "\"b\"", "error:socket closed", "closed by peer", "\"2\""}));
}

TEST(redis_fake, a_silent_server_times_out) {
  fake_server server([](fake_server::connection& c) {
    if (c.number() > 1) {
      polite(c);
      return;
    }
    c.wait_closed();
  });
  port = server.port();
  auto out = testing::run_script([](script& s) -> task<> {
    redis_options o = redis_at(port);
    o.timeout = 10;
    redis db(s, o);
    s.note(show(co_await db.command("GET", "k")));
    s.note(show(co_await db.command("GET", "k")));
    s.done();
  });
  ASSERT_TRUE(out.finished);
  EXPECT_EQ(out.events, wanted({"error:timeout", "\"2\""}));
}

}  // namespace
}  // namespace starling::db
