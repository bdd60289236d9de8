#include "examples/cluster/cluster_bench.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cstdio>

#include "cluster/cluster.hpp"
#include "core/node.hpp"

namespace starling::examples {

namespace {

constexpr std::uint64_t phase_ns = 1'000'000'000;

double percentile(std::vector<std::uint64_t> v, double p) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  return static_cast<double>(v[static_cast<std::size_t>(p * static_cast<double>(v.size() - 1))]);
}

}  // namespace

task<> cluster_bench::start(std::vector<std::string> args) {
  (void)args;
  fork(run());
  co_return;
}

void cluster_bench::report(const std::string& figure, double value, const char* unit) {
  // stdout, as the Lua benchmarks print theirs, for scripts to read
  std::printf("RESULT cluster_native %s %.6g %s\n", figure.c_str(), value, unit);
  std::fflush(stdout);
}

task<> cluster_bench::caller(const std::string& payload, load& state, int& running) {
  cluster::client cluster(*this);
  while (node::hpc() < state.deadline_ns && !state.failed) {
    const std::uint64_t t0 = node::hpc();
    result<reply> r = co_await cluster.call("server", "@echo", "echo", payload);
    if (!r) {
      state.failed = true;
      break;
    }
    if (state.latencies != nullptr) state.latencies->push_back(node::hpc() - t0);
    ++state.done;
  }
  --running;
  co_return;
}

task<double> cluster_bench::calls_per_second(std::size_t size, int coroutines,
                                             std::vector<std::uint64_t>* latencies) {
  const std::string payload(size, 'x');
  load state;
  state.latencies = latencies;
  int running = coroutines;
  const std::uint64_t t0 = node::hpc();
  state.deadline_ns = t0 + phase_ns;
  for (int i = 0; i < coroutines; ++i)
    fork(caller(payload, state, running));
  while (running > 0)
    (void)co_await sleep(1);
  if (state.failed) co_return -1;
  co_return static_cast<double>(state.done) * 1e9 / static_cast<double>(node::hpc() - t0);
}

task<double> cluster_bench::sends_per_second(std::size_t size) {
  cluster::client cluster(*this);
  const std::string payload(size, 'x');
  (void)co_await cluster.call("server", "@echo", "reset");
  const std::uint64_t t0 = node::hpc();
  // As the Lua benchmark: at most 300 000 pushes or one second of pushing, then the count.
  std::int64_t sent = 0;
  while (sent < 300000 && node::hpc() - t0 < phase_ns) {
    for (int i = 0; i < 1024; ++i) {
      if (!co_await cluster.send("server", "@echo", "push", payload)) co_return -1;
    }
    sent += 1024;
  }
  // "count" travels behind the pushes on the same connection
  for (;;) {
    result<reply> r = co_await cluster.call("server", "@echo", "count");
    if (!r) co_return -1;
    seri::value_list v = r->values();
    if (!v.empty() && v[0].is_integer() && v[0].as_integer() >= sent) break;
    (void)co_await sleep(1);
  }
  co_return static_cast<double>(sent) * 1e9 / static_cast<double>(node::hpc() - t0);
}

task<> cluster_bench::run() {
  cluster::client cluster(*this);
  const std::string server = runtime().env().get("cluster_bench_server").value_or("");
  // (built apart: g++ 12 rejects a braced list inside co_await)
  std::vector<cluster::node_entry> nodes;
  nodes.emplace_back("server", server);
  bool ok = !server.empty() && co_await cluster.reload(std::move(nodes));
  for (int i = 0; ok && i < 500; ++i) {
    if (co_await cluster.call("server", "@echo", "echo", "ping")) break;
    (void)co_await sleep(1);
  }
  if (ok) {
    std::vector<std::uint64_t> latencies;
    (void)co_await calls_per_second(16, 1, nullptr);  // warm-up
    const double c1 = co_await calls_per_second(16, 1, &latencies);
    report("c1_16B_calls", c1, "calls/s");
    report("c1_16B_p50", percentile(latencies, 0.50) / 1000, "us");
    report("c1_16B_p99", percentile(latencies, 0.99) / 1000, "us");
    const double c128 = co_await calls_per_second(1024, 128, nullptr);
    report("c128_1KiB_calls", c128, "calls/s");
    latencies.clear();
    const double big1 = co_await calls_per_second(102400, 1, &latencies);
    report("c1_100KiB_p50", percentile(latencies, 0.50) / 1000, "us");
    (void)big1;
    const double big = co_await calls_per_second(102400, 128, nullptr);
    report("c128_100KiB_MBps", big * 102400 / 1e6, "MB/s");
    report("send_16B_msgs", co_await sends_per_second(16), "msgs/s");
  } else {
    log("cluster_bench: no server (config cluster_bench_server)");
  }
  (void)co_await cluster.send("server", "@echo", "quit");
  (void)co_await sleep(10);
  runtime().abort();
}

}  // namespace starling::examples
