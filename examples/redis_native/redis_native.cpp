// The redis client of native services, shown and measured.
//
// `redis_demo` connects to the redis named by the config (or the environment), runs a few
// commands, a pipeline and a publish/subscribe round, logs the replies and aborts the node.
// `redis_bench` applies the load of the Lua benchmark (bench_redis.lua) to the native client
// and prints the same RESULT lines, so the two can be compared.

#include "examples/redis_native/redis_native.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <utility>

#include "base/clock.hpp"
#include "core/node.hpp"
#include "services/logger.hpp"

namespace starling::examples {

namespace {

/// The environment variable `env`, else the config key `key`, else `fallback`.
std::string setting(const node& runtime, const char* key, const char* env, std::string fallback) {
  if (const char* v = std::getenv(env); v != nullptr && *v != '\0') return v;
  if (auto v = runtime.env().get(key); v && !v->empty()) return *v;
  return fallback;
}

double number(const node& runtime, const char* key, double fallback) {
  auto v = runtime.env().get(key);
  if (!v || v->empty()) return fallback;
  char* end = nullptr;
  const double d = std::strtod(v->c_str(), &end);
  return end != v->c_str() ? d : fallback;
}

double seconds_now() {
  return static_cast<double>(monotonic_ns()) * 1e-9;
}

}  // namespace

// ---- the demo ----------------------------------------------------------------------------

task<> redis_demo::start(std::vector<std::string> args) {
  (void)args;
  fork(run());  // the start function returns; the work goes on
  co_return;
}

task<> redis_demo::run() {
  db::redis_options options;
  options.server.host = setting(runtime(), "redis_host", "REDIS_HOST", "127.0.0.1");
  options.server.port = std::atoi(setting(runtime(), "redis_port", "REDIS_PORT", "6379").c_str());
  options.password = setting(runtime(), "redis_auth", "REDIS_AUTH", "");
  if (auto d = setting(runtime(), "redis_db", "REDIS_DB", ""); !d.empty()) {
    options.db = std::atoi(d.c_str());
  }
  db::redis db(*this, options);
  if (!co_await db.connect()) {
    log(fmt::format("redis_demo: no redis at {}:{} ({})", options.server.host, options.server.port,
                    db.link().last_error()));
  } else {
    auto show = [](const result<resp::value>& r) {
      return r ? resp::to_string(r.value()) : std::string(describe(r.error()));
    };
    log("SET -> " + show(co_await db.command("SET", "starling:demo:greeting", "hello")));
    log("GET -> " + show(co_await db.command("GET", "starling:demo:greeting")));
    log("INCR -> " + show(co_await db.command("INCR", "starling:demo:visits")));
    log("LPUSH on a string -> " +
        show(co_await db.command("LPUSH", "starling:demo:greeting", "x")));

    db::batch batch;
    batch.add("INCRBY", "starling:demo:score", 10)
        .add("INCRBY", "starling:demo:score", 5)
        .add("GET", "starling:demo:score")
        .add("DEL", "starling:demo:score");
    auto replies = co_await db.pipeline(batch);
    if (replies) {
      std::string line = "pipeline ->";
      for (const resp::value& v : *replies)
        line += " " + resp::to_string(v);
      log(line);
    }
    co_await publish_and_listen(db);
    db.disconnect();
  }
  // abort drops log lines still queued: let the logger print ours first.
  while (!log_drained(runtime()))
    (void)co_await sleep(1);
  runtime().abort();
}

task<> redis_demo::publish_and_listen(db::redis& db) {
  db::redis_options options;
  options.server = db.link().server();
  db::subscriber news(*this, options);
  const std::vector<std::string> channels{"starling:demo:news"};
  if (!co_await news.subscribe(channels)) {
    log("subscribe failed: " + news.link().last_error());
    co_return;
  }
  // Publish once the server counts the subscriber, or the messages go to nobody.
  for (;;) {
    auto n = co_await db.command("PUBSUB", "NUMSUB", "starling:demo:news");
    if (!n || (n->elements.size() == 2 && n->elements[1].integer > 0)) break;
    (void)co_await sleep(1);
  }
  for (int i = 1; i <= 3; ++i)
    (void)co_await db.command("PUBLISH", "starling:demo:news", fmt::format("item {}", i));
  for (int i = 1; i <= 3; ++i) {
    auto m = co_await news.next_message();
    if (!m) break;
    log(fmt::format("message on {}: {}", m->channel, m->data));
  }
  news.disconnect();
}

// ---- the benchmark -----------------------------------------------------------------------

/// One measured phase, shared by its workers (bench_util.lua's U.parallel).
struct redis_bench::phase {
  bool set = true;
  std::int64_t count = 0;  // operations to issue at most
  double deadline = 0;     // seconds_now() after which no operation starts
  std::int64_t issued = 0;
  std::int64_t completed = 0;
  int running = 0;
  std::string failure;
  std::vector<double>* latencies = nullptr;
};

task<> redis_bench::start(std::vector<std::string> args) {
  (void)args;
  fork(guard(static_cast<std::int64_t>(number(runtime(), "bench_maxtime", 60))));
  fork(run());
  co_return;
}

task<> redis_bench::guard(std::int64_t seconds) {
  (void)co_await sleep(seconds * 100);
  if (finished_) co_return;
  fmt::print("BENCHERR redis internal time limit of {} s reached\n", seconds);
  std::fflush(stdout);
  runtime().abort();
}

task<> redis_bench::worker(db::redis& db, phase& p) {
  while (p.issued < p.count && p.failure.empty() && seconds_now() < p.deadline) {
    const std::string& key = keys_[static_cast<std::size_t>(++p.issued) % keys_.size()];
    const double started = p.latencies != nullptr ? seconds_now() : 0;
    result<resp::value> r = errc::call_failed;
    if (p.set) {
      r = co_await db.command("SET", key, value_);
    } else {
      r = co_await db.command("GET", key);
    }
    if (p.latencies != nullptr) p.latencies->push_back(seconds_now() - started);
    if (!r || !r->is(p.set ? std::string_view("OK") : std::string_view(value_))) {
      p.failure = fmt::format("{} returned {}", p.set ? "SET" : "GET",
                              r ? resp::to_string(*r) : std::string(describe(r.error())));
      break;
    }
    ++p.completed;
  }
  if (--p.running == 0) wakeup(&p);
}

task<redis_bench::outcome> redis_bench::measure(db::redis& db, bool set, int workers,
                                                std::int64_t count, double seconds,
                                                std::vector<double>* latencies) {
  phase p;
  p.set = set;
  p.count = count;
  p.latencies = latencies;
  p.running = workers;
  const double t0 = seconds_now();
  p.deadline = t0 + seconds;
  for (int w = 0; w < workers; ++w)
    fork(worker(db, p));
  (void)co_await wait(&p);
  co_return outcome{p.completed, seconds_now() - t0, std::move(p.failure)};
}

namespace {

void result_line(std::string_view metric, double value, std::string_view unit) {
  fmt::print("RESULT redis {} {:.6g} {}\n", metric, value, unit);
  std::fflush(stdout);
}

double percentile(std::vector<double>& values, double p) {
  if (values.empty()) return 0;
  std::sort(values.begin(), values.end());
  const auto at =
      static_cast<std::size_t>(std::llround(p * static_cast<double>(values.size() - 1)));
  return values[std::min(at, values.size() - 1)];
}

}  // namespace

task<> redis_bench::run() {
  const int port = static_cast<int>(number(runtime(), "bench_redis_port", 0));
  const double phase_time = number(runtime(), "bench_phase_time", 1.5);
  const auto concurrency = static_cast<int>(number(runtime(), "bench_concurrency", 32));
  const double scale = number(runtime(), "bench_scale", 1);
  value_.assign(static_cast<std::size_t>(number(runtime(), "bench_value_size", 16)), 'v');
  for (int i = 1; i <= 1000; ++i)
    keys_.push_back(fmt::format("skybench:{}", i));

  std::string error;
  db::redis_options options;
  options.server = {"127.0.0.1", port};
  options.db = 0;
  db::redis db(*this, options);
  if (port == 0) {
    error = "bench_redis_port not set";
  } else if (!co_await db.connect()) {
    error = "no redis on port " + std::to_string(port) + ": " + db.link().last_error();
  }
  for (std::size_t i = 0; error.empty() && i < keys_.size(); ++i) {
    if (!co_await db.command("SET", keys_[i], value_)) error = "prefill failed";
  }
  const std::int64_t count = std::max<std::int64_t>(1, std::llround(500000 * scale));
  for (int workers : {1, concurrency}) {
    for (bool set : {true, false}) {
      if (!error.empty()) break;
      const char* name = set ? "set" : "get";
      (void)co_await measure(db, set, workers, 200, 2, nullptr);  // warm-up
      std::vector<double> latencies;
      outcome o = co_await measure(db, set, workers, count, phase_time,
                                   workers == 1 ? &latencies : nullptr);
      if (!o.failure.empty()) {
        error = o.failure;
        break;
      }
      result_line(fmt::format("{}_c{}", name, workers),
                  static_cast<double>(o.completed) / o.elapsed, "req/s");
      if (workers == 1) {
        result_line(fmt::format("{}_c1_p50", name), percentile(latencies, 0.5) * 1e6, "us");
      }
    }
  }
  if (!error.empty()) {
    fmt::print("BENCHERR redis {}\n", error);
    std::fflush(stdout);
  }
  db.disconnect();
  finished_ = true;
  runtime().abort();
}

}  // namespace starling::examples
