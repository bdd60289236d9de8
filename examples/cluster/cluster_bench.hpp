#pragma once
// The cluster benchmark of the C++ API (make bench-cluster, scripts/cluster_bench.sh): the loads
// of the Lua cluster_call / cluster_send benchmarks, from a native service.

#include <cstdint>
#include <string>
#include <vector>

#include "actor/actor.hpp"

namespace starling::examples {

/// A node's start service. Config: `cluster_bench_server` ("host:port" of a node whose "@echo"
/// answers ("echo", s) with s, counts ("push", s) and answers "count" and "quit"). Prints
/// `RESULT cluster_native <figure> <value> <unit>` lines, stops the server and aborts.
class cluster_bench final : public actor {
 protected:
  task<> start(std::vector<std::string> args) override;

 private:
  struct load {
    std::uint64_t done = 0;
    std::uint64_t deadline_ns = 0;
    std::vector<std::uint64_t>* latencies = nullptr;
    bool failed = false;
  };
  task<> run();
  task<> caller(const std::string& payload, load& state, int& running);
  task<double> calls_per_second(std::size_t size, int coroutines,
                                std::vector<std::uint64_t>* latencies);
  task<double> sends_per_second(std::size_t size);
  void report(const std::string& figure, double value, const char* unit);
};

}  // namespace starling::examples
