#pragma once
// The demo services; see pingpong.cpp.

#include "actor/actor.hpp"

namespace starling::examples {

class pong final : public actor {
 protected:
  task<> on_request(request req) override;
};

/// ("relay", target, value): calls `target` with ("echo", value) and replies with what it got
/// back: a native service calling another (a Lua one, in the interop test) with "lua".
class relay final : public actor {
 protected:
  task<> on_request(request req) override;
};

class pingpong_main final : public actor {
 protected:
  task<> start(std::vector<std::string> args) override;

 private:
  struct rate_probe_state {
    std::uint64_t done = 0;
    std::uint64_t deadline_ns = 0;
    int running = 0;
  };
  task<> run();
  task<> caller(handle_t target, rate_probe_state& state);
  task<std::uint64_t> measure(handle_t target, int coroutines);
};

}  // namespace starling::examples
