// Runtime benchmarks of native services (Google Benchmark). docs/PERFORMANCE.md records the
// figures. Every benchmark runs a real node with 2 workers; the benchmark thread only starts
// a round and waits for its end, and the time measured is the wall time of the round.
//
//   native_send/1to1, native_send/4to1   one-way ("d", i) messages into a counting sink
//   native_call/1, native_call/64        call round trips ("ping", i) -> ("pong", i)
//   native_spawn                         launching services (time, RSS bytes per service)
//   native_timers                        100k timeouts: lateness p50 / p99 / max
//
// Wall time on a shared 2-core machine swings with what else runs, so the send and call
// benchmarks also report CPU time per message (cpu_ns_per_msg: the whole process, both
// workers; sender_ns_per_msg: the sending loops alone), which other load disturbs less.

#include <benchmark/benchmark.h>

#include <algorithm>
#include <atomic>
#include <ctime>
#include <fstream>
#include <memory>
#include <string>
#include <vector>

#include "actor/actor.hpp"
#include "base/clock.hpp"
#include "core/node.hpp"

namespace starling {
namespace {

/// What the benchmark thread and the services share for one round.
struct round_state {
  std::atomic<std::uint64_t> counted{0};
  std::atomic<std::uint64_t> sender_cpu_ns{0};
  std::atomic<bool> done{false};
  std::uint64_t target = 0;
  std::vector<handle_t> peers;
  int coroutines = 1;
  std::vector<std::int64_t> lateness_ns;  // one slot per timer, each written by one service
  void finish() {
    done.store(true, std::memory_order_release);
    done.notify_one();
  }
  void await_done() {
    done.wait(false, std::memory_order_acquire);
    done.store(false, std::memory_order_relaxed);
  }
};

round_state* shared = nullptr;

class sink final : public actor {
 protected:
  task<> on_request(request req) override {
    if (shared->counted.fetch_add(1, std::memory_order_relaxed) + 1 == shared->target) {
      shared->finish();
    }
    req.reply();
    co_return;
  }
};

class sender final : public actor {
 protected:
  task<> on_request(request req) override {
    const auto count = req.reader().read_integer();
    const handle_t target = shared->peers.front();
    const std::uint64_t start = thread_cpu_ns();
    for (std::int64_t i = 0; i < count; ++i)
      send(target, "d", i);
    shared->sender_cpu_ns.fetch_add(thread_cpu_ns() - start, std::memory_order_relaxed);
    co_return;
  }
};

class pong final : public actor {
 protected:
  task<> on_request(request req) override {
    seri::reader args = req.reader();
    (void)args.read_string();
    req.reply("pong", args.read_integer());
    co_return;
  }
};

class caller final : public actor {
 protected:
  task<> on_request(request req) override {
    const auto per_coroutine = req.reader().read_integer();
    remaining_ = shared->coroutines;
    for (int c = 0; c < shared->coroutines; ++c)
      fork(loop(per_coroutine));
    co_return;
  }

 private:
  task<> loop(std::int64_t count) {
    const handle_t target = shared->peers.front();
    for (std::int64_t i = 0; i < count; ++i) {
      auto answer = co_await call(target, "ping", i);
      if (!answer) break;
    }
    if (--remaining_ == 0) shared->finish();
  }
  int remaining_ = 0;
};

class idle final : public actor {};

/// Sleeps `count` times concurrently, for 200 ms .. 690 ms, recording how late each wakes.
class timer_user final : public actor {
 protected:
  task<> on_request(request req) override {
    seri::reader args = req.reader();
    const auto first = args.read_integer();
    const auto count = args.read_integer();
    for (std::int64_t i = 0; i < count; ++i)
      fork(one(first + i, 20 + i % 50));
    co_return;
  }

 private:
  task<> one(std::int64_t index, std::int64_t ticks) {
    const std::uint64_t start = monotonic_ns();
    (void)co_await sleep(ticks);
    const auto late = static_cast<std::int64_t>(monotonic_ns() - start) - ticks * 10'000'000;
    shared->lateness_ns[static_cast<std::size_t>(index)] = late;
    if (shared->counted.fetch_add(1, std::memory_order_relaxed) + 1 == shared->target) {
      shared->finish();
    }
  }
};

/// Background load for the timer benchmark: call round trips until told to stop.
class load_caller final : public actor {
 protected:
  task<> on_request(request req) override {
    (void)req;
    const handle_t target = shared->peers.front();
    for (std::int64_t i = 0; !stop_load.load(std::memory_order_relaxed); ++i) {
      if (!co_await call(target, "ping", i)) break;
    }
  }

 public:
  static inline std::atomic<bool> stop_load{false};
};

/// A started node with the benchmark services registered; aborts on destruction.
struct bench_node {
  module_registry modules;
  environment env;
  std::unique_ptr<node> runtime;
  round_state state;
  bench_node() {
    register_actor<sink>(modules, "sink");
    register_actor<sender>(modules, "sender");
    register_actor<pong>(modules, "pong");
    register_actor<caller>(modules, "caller");
    register_actor<idle>(modules, "idle");
    register_actor<timer_user>(modules, "timer_user");
    register_actor<load_caller>(modules, "load_caller");
    node_options options;
    options.threads = 2;
    options.profile = false;
    runtime = std::make_unique<node>(options, modules, env);
    shared = &state;
    runtime->start();
  }
  ~bench_node() {
    runtime->abort();
    runtime->wait();
    shared = nullptr;
  }
  void poke(handle_t target, std::int64_t n) {
    runtime->send(0, target, ptype::lua, 0, seri::pack(n));
  }
};

/// CPU time of the whole process (every worker), in nanoseconds.
std::uint64_t process_cpu_ns() {
  timespec ts{};
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return static_cast<std::uint64_t>(ts.tv_sec) * 1'000'000'000 +
         static_cast<std::uint64_t>(ts.tv_nsec);
}

long rss_bytes() {
  std::ifstream status("/proc/self/status");
  std::string key;
  while (status >> key) {
    if (key == "VmRSS:") {
      long kib = 0;
      status >> kib;
      return kib * 1024;
    }
    status.ignore(1 << 10, '\n');
  }
  return 0;
}

// First, and once: RSS growth is only meaningful in a fresh process, before other benchmarks
// leave freed memory behind for the spawns to reuse.
void native_spawn(benchmark::State& st) {
  constexpr int per_round = 100'000;
  bench_node b;
  double bytes_per_service = 0;
  double us_per_spawn = 0;
  for (auto _ : st) {
    const long before = rss_bytes();
    const std::uint64_t start = monotonic_ns();
    for (int i = 0; i < per_round; ++i)
      b.runtime->launch("idle", "");
    us_per_spawn = static_cast<double>(monotonic_ns() - start) / 1e3 / per_round;
    bytes_per_service = static_cast<double>(rss_bytes() - before) / per_round;
  }
  st.SetItemsProcessed(st.iterations() * per_round);
  st.counters["rss_bytes_per_service"] = bytes_per_service;
  st.counters["us_per_spawn"] = us_per_spawn;
}
BENCHMARK(native_spawn)
    ->Iterations(1)
    ->Repetitions(1)
    ->UseRealTime()
    ->Unit(benchmark::kMillisecond);

void native_send(benchmark::State& st) {
  const int senders = static_cast<int>(st.range(0));
  constexpr std::int64_t per_round = 1'000'000;
  bench_node b;
  b.state.peers = {b.runtime->launch("sink", "")};
  std::vector<handle_t> from;
  for (int i = 0; i < senders; ++i)
    from.push_back(b.runtime->launch("sender", ""));
  std::uint64_t cpu_ns = 0;
  for (auto _ : st) {
    b.state.counted = 0;
    b.state.target = per_round;
    const std::uint64_t cpu_start = process_cpu_ns();
    for (handle_t h : from)
      b.poke(h, per_round / senders);
    b.state.await_done();
    cpu_ns += process_cpu_ns() - cpu_start;
  }
  const auto messages = static_cast<double>(st.iterations() * per_round);
  st.SetItemsProcessed(st.iterations() * per_round);
  st.counters["cpu_ns_per_msg"] = static_cast<double>(cpu_ns) / messages;
  st.counters["sender_ns_per_msg"] = static_cast<double>(b.state.sender_cpu_ns.load()) / messages;
}
BENCHMARK(native_send)
    ->Arg(1)
    ->Arg(4)
    ->ArgName("senders")
    ->UseRealTime()
    ->Unit(benchmark::kMillisecond);

void native_call(benchmark::State& st) {
  const int coroutines = static_cast<int>(st.range(0));
  constexpr std::int64_t per_round = 1'000'000;
  bench_node b;
  b.state.peers = {b.runtime->launch("pong", "")};
  b.state.coroutines = coroutines;
  const handle_t c = b.runtime->launch("caller", "");
  std::uint64_t cpu_ns = 0;
  for (auto _ : st) {
    const std::uint64_t cpu_start = process_cpu_ns();
    b.poke(c, per_round / coroutines);
    b.state.await_done();
    cpu_ns += process_cpu_ns() - cpu_start;
  }
  const std::int64_t calls = st.iterations() * (per_round / coroutines) * coroutines;
  st.SetItemsProcessed(calls);
  st.counters["cpu_ns_per_msg"] = static_cast<double>(cpu_ns) / static_cast<double>(calls);
}
BENCHMARK(native_call)
    ->Arg(1)
    ->Arg(64)
    ->ArgName("coroutines")
    ->UseRealTime()
    ->Unit(benchmark::kMillisecond);

/// 100k timers spread over 100 services; arg 1 adds call traffic on both workers as load.
void native_timers(benchmark::State& st) {
  constexpr std::int64_t services = 100;
  constexpr std::int64_t per_service = 1000;
  const bool loaded = st.range(0) != 0;
  bench_node b;
  std::vector<handle_t> users;
  for (int i = 0; i < services; ++i)
    users.push_back(b.runtime->launch("timer_user", ""));
  b.state.peers = {b.runtime->launch("pong", "")};
  load_caller::stop_load = false;
  if (loaded) {
    for (int i = 0; i < 2; ++i)
      b.poke(b.runtime->launch("load_caller", ""), 0);
  }
  std::vector<std::int64_t> late;
  for (auto _ : st) {
    b.state.lateness_ns.assign(services * per_service, 0);
    b.state.counted = 0;
    b.state.target = services * per_service;
    for (std::int64_t i = 0; i < services; ++i) {
      b.runtime->send(0, users[static_cast<std::size_t>(i)], ptype::lua, 0,
                      seri::pack(i * per_service, per_service));
    }
    b.state.await_done();
    late = b.state.lateness_ns;
  }
  load_caller::stop_load = true;
  std::sort(late.begin(), late.end());
  auto at = [&](double q) {
    const auto i = static_cast<std::size_t>(q * static_cast<double>(late.size() - 1));
    return static_cast<double>(late[i]) / 1e6;
  };
  st.counters["late_p50_ms"] = at(0.50);
  st.counters["late_p99_ms"] = at(0.99);
  st.counters["late_max_ms"] = at(1.0);
  st.SetItemsProcessed(st.iterations() * services * per_service);
}
BENCHMARK(native_timers)
    ->Arg(0)
    ->Arg(1)
    ->ArgName("loaded")
    ->Iterations(3)
    ->UseRealTime()
    ->Unit(benchmark::kMillisecond);

}  // namespace
}  // namespace starling

BENCHMARK_MAIN();
