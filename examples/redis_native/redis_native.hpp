#pragma once
// A native service that uses redis (db/redis.hpp), and a benchmark of the client. `config` and
// `bench.config` beside this file start them; `make run-redis` and `make bench-redis` do so
// against a throwaway redis-server (scripts/redis_native.sh).

#include <cstdint>
#include <string>
#include <vector>

#include "actor/actor.hpp"
#include "db/redis.hpp"

namespace starling::examples {

/// SET/GET/INCR, an error reply, a pipeline and pub/sub against the redis named by the config
/// keys redis_host, redis_port, redis_db, redis_auth (or the environment variables
/// REDIS_HOST, REDIS_PORT, ...); logs what it sees and aborts the node.
class redis_demo final : public actor {
 protected:
  task<> start(std::vector<std::string> args) override;

 private:
  task<> run();
  task<> publish_and_listen(db::redis& db);
};

/// The load of the Lua redis benchmark (shared bench/lua/bench_redis.lua) on the native client:
/// SET and GET from 1 coroutine and from `bench_concurrency` (32) coroutines sharing one
/// connection; prints `RESULT redis <metric> <value> <unit>` lines and aborts the node.
class redis_bench final : public actor {
 protected:
  task<> start(std::vector<std::string> args) override;

 private:
  struct phase;
  struct outcome {
    std::int64_t completed = 0;
    double elapsed = 0;   ///< seconds
    std::string failure;  ///< why a worker stopped early
  };
  task<> run();
  /// Ends the node if the benchmark is still running after `seconds` (bench_maxtime).
  task<> guard(std::int64_t seconds);
  /// `workers` coroutines issue SETs (or GETs) until `count` were issued or `seconds` passed.
  task<outcome> measure(db::redis& db, bool set, int workers, std::int64_t count, double seconds,
                        std::vector<double>* latencies);
  task<> worker(db::redis& db, phase& p);

  std::vector<std::string> keys_;
  std::string value_;
  bool finished_ = false;
};

}  // namespace starling::examples
