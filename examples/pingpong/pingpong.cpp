// The demo: two native services talking in the skynet.pack format.
//
// `pong` answers ("ping", n) with ("pong", n); `relay` passes a call on. `pingpong_main` (the start
// service) launches it, makes a few calls, shows what a failed call looks like, measures call round
// trips for one second with 1 and with 64 coroutines, prints the figures and aborts the node.

#include "examples/pingpong/pingpong.hpp"

#include <fmt/format.h>

#include "base/clock.hpp"
#include "core/node.hpp"
#include "services/logger.hpp"

namespace starling::examples {

task<> pong::on_request(request req) {
  seri::reader args = req.reader();
  const std::string_view command = args.read_string();
  if (command != "ping") {
    req.fail();
    co_return;
  }
  req.reply("pong", args.read_integer());
}

task<> relay::on_request(request req) {
  seri::reader args = req.reader();
  if (args.read_string() != "relay") {
    req.fail();
    co_return;
  }
  const auto target = static_cast<handle_t>(args.read_integer());
  const std::string value(args.read_string());
  auto answer = co_await call(target, "echo", value);
  if (!answer) {
    req.fail();
    co_return;
  }
  req.reply_raw(std::move(*answer).take());
}

task<> pingpong_main::caller(handle_t target, rate_probe_state& state) {
  while (monotonic_ns() < state.deadline_ns) {
    auto answer = co_await call(target, "ping", static_cast<std::int64_t>(state.done));
    if (!answer) break;
    ++state.done;
  }
  if (--state.running == 0) wakeup(&state);
}

task<std::uint64_t> pingpong_main::measure(handle_t target, int coroutines) {
  rate_probe_state state;
  state.deadline_ns = monotonic_ns() + 1'000'000'000;
  state.running = coroutines;
  for (int i = 0; i < coroutines; ++i)
    fork(caller(target, state));
  (void)co_await wait(&state);
  co_return state.done;
}

task<> pingpong_main::start(std::vector<std::string> args) {
  (void)args;
  // Like a skynet main: the start function returns (the bootstrap then exits) and the work
  // goes on in a fork.
  fork(run());
  co_return;
}

task<> pingpong_main::run() {
  const handle_t target = launch("pong", "");
  for (std::int64_t n = 1; n <= 3; ++n) {
    auto answer = co_await call(target, "ping", n);
    seri::value_list values = answer->values();
    log(fmt::format("ping {} -> {} {}", n, values.at(0).as_string(), values.at(1).as_integer()));
  }
  auto refused = co_await call(target, "shout", 1);
  log(fmt::format("an unknown command fails the call: {}", describe(refused.error())));
  auto nobody = co_await call(".nobody", "ping", 1);
  log(fmt::format("a call to an unknown name fails at once: {}", describe(nobody.error())));

  for (int coroutines : {1, 64}) {
    const std::uint64_t done = co_await measure(target, coroutines);
    log(fmt::format("{} coroutine(s): {} call round trips in 1 s", coroutines, done));
  }
  // abort drops log lines still queued: let the logger print ours first.
  while (!log_drained(runtime()))
    (void)co_await sleep(1);
  runtime().abort();
}

}  // namespace starling::examples
