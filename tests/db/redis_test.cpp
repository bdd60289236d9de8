// db/redis against a real redis-server that each test starts on a free loopback port
// (the redis checklist, docs/TESTING.md): commands and reply types, error replies that keep the
// connection, MULTI/EXEC, pipelines, concurrent callers who each get their own replies, AUTH/SELECT
// on every reconnect, CLIENT KILL, pub/sub across a dropped connection, and a server killed and
// restarted under load.

#include "db/redis.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <string>
#include <vector>

#include "../support/redis_script.hpp"
#include "../support/redis_server.hpp"
#include "../support/script_actor.hpp"

namespace starling::db {
namespace {

using testing::redis_at;
using testing::script;
using testing::show;
using testing::wanted;

int port = 0;

TEST(redis, commands_and_reply_types) {
  testing::redis_server server;
  port = server.port();
  auto out = testing::run_script([](script& s) -> task<> {
    redis db(s, redis_at(port));
    s.note(show(co_await db.command("SET", "k", 1.5)));
    s.note(show(co_await db.command("GET", "k")));
    s.note(show(co_await db.command("GET", "missing")));
    s.note(show(co_await db.command("INCR", "n")));
    s.note(show(co_await db.command("INCRBY", "n", 41)));
    s.note(show(co_await db.command("EXISTS", "n")));
    s.note(show(co_await db.command("HSET", "h", "f", "v", "g", 2)));
    s.note(show(co_await db.command("HGETALL", "h")));
    s.note(show(co_await db.command("LRANGE", "nothing", 0, -1)));
    const std::string binary("a\0\r\nb", 5);
    (void)co_await db.command("SET", "bin", binary);
    auto back = co_await db.command("GET", "bin");
    s.note(back && back->text == binary ? "binary safe" : "binary mangled");
    const std::vector<std::string_view> args{"DEL", "k", "n"};
    s.note(show(co_await db.command(args)));
    auto id = co_await db.command("CLIENT", "ID");
    s.note(show(co_await db.command("LPUSH", "h", "x")));  // h is a hash
    s.note(show(co_await db.command("NOSUCHCOMMAND")).substr(0, 31));
    auto same = co_await db.command("CLIENT", "ID");
    s.note(id && same && *id == *same ? "same connection" : "reconnected");
    s.done();
  });
  ASSERT_TRUE(out.finished);
  EXPECT_EQ(
      out.events,
      wanted({"OK", "\"1.5\"", "(nil)", "(integer) 1", "(integer) 42", "(integer) 1", "(integer) 2",
              "[\"f\", \"v\", \"g\", \"2\"]", "[]", "binary safe", "(integer) 2",
              "(error) WRONGTYPE Operation against a key holding the wrong kind of value",
              "(error) ERR unknown command 'NO", "same connection"}));
}

TEST(redis, multi_exec_and_pipelines) {
  testing::redis_server server;
  port = server.port();
  auto out = testing::run_script([](script& s) -> task<> {
    redis db(s, redis_at(port));
    (void)co_await db.command("SET", "text", "abc");
    s.note(show(co_await db.command("MULTI")));
    s.note(show(co_await db.command("INCR", "counter")));
    s.note(show(co_await db.command("INCR", "text")));  // fails at EXEC time
    s.note(show(co_await db.command("EXEC")));

    batch b;
    b.add("SET", "p", 1).add("INCR", "p").add("LPUSH", "p", "x").add("get", "p");
    auto replies = co_await db.pipeline(b);
    if (replies) {
      for (const resp::value& v : *replies)
        s.note(resp::to_string(v));
    }
    s.done();
  });
  ASSERT_TRUE(out.finished);
  EXPECT_EQ(out.events,
            wanted({"OK", "QUEUED", "QUEUED",
                    "[(integer) 1, (error) ERR value is not an integer or out of range]", "OK",
                    "(integer) 2",
                    "(error) WRONGTYPE Operation against a key holding the wrong kind of value",
                    "\"2\""}));
}

task<> set_and_get(redis& db, int i, int& mismatches, int& left) {
  const std::string key = "key:" + std::to_string(i);
  const std::string value = "value-" + std::to_string(i * 7919);
  auto set = co_await db.command("SET", key, value);
  auto incr = co_await db.command("INCR", "shared");
  auto get = co_await db.command("GET", key);
  if (!set || !set->is("OK") || !incr || incr->type != resp::value::kind::integer || !get ||
      get->text != value) {
    ++mismatches;
  }
  --left;
}

TEST(redis, concurrent_callers_get_their_own_replies_on_one_connection) {
  testing::redis_server server;
  port = server.port();
  auto out = testing::run_script([](script& s) -> task<> {
    redis db(s, redis_at(port));
    auto id = co_await db.command("CLIENT", "ID");
    int mismatches = 0;
    int left = 200;
    for (int i = 0; i < 200; ++i)
      s.fork(set_and_get(db, i, mismatches, left));
    co_await s.until([&] { return left == 0; });
    s.note("mismatches " + std::to_string(mismatches));
    s.note(show(co_await db.command("GET", "shared")));
    auto same = co_await db.command("CLIENT", "ID");
    s.note(id && same && *id == *same ? "one connection" : "several connections");
    s.done();
  });
  ASSERT_TRUE(out.finished);
  EXPECT_EQ(out.events, wanted({"mismatches 0", "\"200\"", "one connection"}));
}

TEST(redis, auth_and_select_on_every_connection) {
  testing::redis_server server;
  port = server.port();
  ASSERT_TRUE(
      server.command({"ACL", "SETUSER", "alice", "on", ">wonderland", "~*", "+@all"}).is("OK"));
  ASSERT_TRUE(server.command({"CONFIG", "SET", "requirepass", "secret"}).is("OK"));
  auto out = testing::run_script([](script& s) -> task<> {
    redis_options o = redis_at(port);
    o.password = "secret";
    o.db = 3;
    redis db(s, o);
    s.note(show(co_await db.command("SET", "where", "db3")));
    auto id = co_await db.command("CLIENT", "ID");

    // Kill that connection from another client: the next command reconnects into db 3.
    redis_options a = redis_at(port);
    a.username = "alice";
    a.password = "wonderland";
    redis admin(s, a);
    s.note(show(co_await admin.command("CLIENT", "KILL", "ID", id ? id->integer : 0)));
    co_await s.until([&] { return !db.link().connected(); });
    s.note(show(co_await db.command("GET", "where")));
    auto other = co_await db.command("CLIENT", "ID");
    s.note(id && other && *id != *other ? "a new connection" : "the same connection");

    redis_options bad = redis_at(port);
    bad.password = "wrong";
    redis refused(s, bad);
    result<void> c = co_await refused.connect();
    s.note(c ? "connected?" : "error:" + std::string(describe(c.error())));
    s.note(refused.link().last_error());
    s.done();
  });
  ASSERT_TRUE(out.finished);
  EXPECT_EQ(out.events, wanted({"OK", "(integer) 1", "\"db3\"", "a new connection",
                                "error:socket failed", "no more backup host"}));
  EXPECT_TRUE(out.log->contains_prefix("socket: auth failed WRONGPASS"));
  EXPECT_TRUE(
      out.log->contains("Connect failed no more backup host 127.0.0.1 " + std::to_string(port)));
}

TEST(redis, a_refused_port_fails_the_connect) {
  port = testing::free_loopback_port();
  auto out = testing::run_script([](script& s) -> task<> {
    redis db(s, redis_at(port));
    result<void> c = co_await db.connect();
    s.note(c ? "connected?" : "error:" + std::string(describe(c.error())));
    s.note(show(co_await db.command("PING")));
    db.disconnect();
    s.note(show(co_await db.command("PING")));
    s.done();
  });
  ASSERT_TRUE(out.finished);
  EXPECT_EQ(out.events,
            wanted({"error:socket failed", "error:socket failed", "error:channel closed"}));
  EXPECT_TRUE(
      out.log->contains("Connect failed Connection refused 127.0.0.1 " + std::to_string(port)));
}

/// Waits until the server counts `n` subscribers of `channel` and `patterns` patterns.
task<> until_subscribed(script& s, redis& admin, std::string channel, int n, int patterns) {
  for (;;) {
    auto subs = co_await admin.command("PUBSUB", "NUMSUB", channel);
    auto pats = co_await admin.command("PUBSUB", "NUMPAT");
    if (subs && subs->elements.size() == 2 && subs->elements[1].integer == n && pats &&
        pats->integer == patterns) {
      co_return;
    }
    (void)co_await s.sleep(1);
  }
}

std::string show(const result<message>& m) {
  if (!m) return "error:" + std::string(describe(m.error()));
  return m->data + " on " + m->channel + (m->pattern.empty() ? "" : " by " + m->pattern);
}

task<> wait_message(subscriber& sub, std::string& out) {
  out = show(co_await sub.next_message());
}

TEST(redis, pub_sub_survives_a_dropped_connection) {
  testing::redis_server server;
  port = server.port();
  auto out = testing::run_script([](script& s) -> task<> {
    subscriber sub(s, redis_at(port));
    redis pub(s, redis_at(port));
    const std::vector<std::string> channels{"news", "sports"};
    const std::vector<std::string> patterns{"w*"};
    (void)co_await sub.subscribe(channels);
    (void)co_await sub.psubscribe(patterns);
    co_await until_subscribed(s, pub, "sports", 1, 1);
    (void)co_await pub.command("PUBLISH", "news", "hello");
    (void)co_await pub.command("PUBLISH", "weather", "rain");
    s.note(show(co_await sub.next_message()));
    s.note(show(co_await sub.next_message()));

    // The server drops the subscriber while it waits for a message.
    std::string waiting;
    s.fork(wait_message(sub, waiting));
    co_await s.until([&] { return sub.link().waiting() == 1; });
    (void)co_await pub.command("CLIENT", "KILL", "TYPE", "pubsub");
    co_await s.until([&] { return !waiting.empty(); });
    s.note(waiting);

    // The next call reconnects and subscribes again; an unsubscribed channel stays away.
    waiting.clear();
    s.fork(wait_message(sub, waiting));
    co_await s.until([&] { return sub.link().connected(); });
    const std::vector<std::string> sports{"sports"};
    (void)co_await sub.unsubscribe(sports);
    co_await until_subscribed(s, pub, "sports", 0, 1);
    co_await until_subscribed(s, pub, "news", 1, 1);
    (void)co_await pub.command("PUBLISH", "sports", "not delivered");
    (void)co_await pub.command("PUBLISH", "news", "again");
    co_await s.until([&] { return !waiting.empty(); });
    s.note(waiting);
    s.done();
  });
  ASSERT_TRUE(out.finished);
  EXPECT_EQ(out.events, wanted({"hello on news", "rain on weather by w*", "error:socket closed",
                                "again on news"}));
  EXPECT_TRUE(out.log->contains("socket: connect to 127.0.0.1 " + std::to_string(port)));
}

// ---- a server killed and restarted under load ---------------------------------------------

struct load_counters {
  std::atomic<int> ok{0};
  std::atomic<int> failed{0};
  std::atomic<int> lost{0};        // a GET after a restart: the value went with the old server
  std::atomic<int> mismatched{0};  // someone else's reply: must stay 0
  std::atomic<bool> stop{false};
  std::atomic<int> running{0};
};
load_counters load;

task<> load_caller(script& s, redis& db, int caller) {
  const std::string key = "load:" + std::to_string(caller);
  for (int round = 0; !load.stop; ++round) {
    const std::string value = std::to_string(caller) + ":" + std::to_string(round);
    result<resp::value> set = co_await db.command("SET", key, value);
    result<resp::value> get = errc::call_failed;
    if (set) get = co_await db.command("GET", key);
    if (!set || !get) {
      ++load.failed;
      (void)co_await s.sleep(1);  // the server is down: do not spin
    } else if (get->is(value)) {
      ++load.ok;
    } else if (get->is_nil()) {
      ++load.lost;
    } else {
      ++load.mismatched;
    }
  }
  --load.running;
}

TEST(redis, callers_recover_after_the_server_is_killed_and_restarted) {
  testing::redis_server server;
  port = server.port();
  load.ok = load.failed = load.lost = load.mismatched = 0;
  load.stop = false;
  load.running = 16;
  int ok_before_kill = 0;
  int failed_after_kill = 0;
  int ok_before_restart = 0;
  auto out = testing::run_script(
      [](script& s) -> task<> {
        redis db(s, redis_at(port));
        for (int i = 0; i < 16; ++i)
          s.fork(load_caller(s, db, i));
        co_await s.until([] { return load.running == 0; });
        s.done();
      },
      [&](const testing::log_record&) {
        ASSERT_TRUE(testing::eventually([] { return load.ok >= 500; }));
        ok_before_kill = load.ok;
        server.kill();
        ASSERT_TRUE(testing::eventually([] { return load.failed >= 16; }));
        failed_after_kill = load.failed;
        server.start();
        ok_before_restart = load.ok;
        ASSERT_TRUE(testing::eventually([&] { return load.ok >= ok_before_restart + 500; }));
        load.stop = true;
      });
  load.stop = true;
  ASSERT_TRUE(out.finished);
  EXPECT_GE(ok_before_kill, 500);
  EXPECT_GE(failed_after_kill, 16);
  EXPECT_GE(load.ok, ok_before_restart + 500);
  EXPECT_EQ(load.mismatched, 0);
}

}  // namespace
}  // namespace starling::db
