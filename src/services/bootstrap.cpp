#include "services/bootstrap.hpp"

#include "core/node.hpp"
#include "services/logger.hpp"

namespace starling {

namespace {

/// How long `refuse` waits for the logger before it aborts anyway (ticks of 10 ms).
constexpr int drain_limit_ticks = 500;

}  // namespace

task<> bootstrap::refuse(std::string why) {
  log(why);
  // abort() drops the lines still queued: wait until the logger has taken this one.
  for (int tick = 0; tick < drain_limit_ticks && !log_drained(runtime()); ++tick) {
    (void)co_await sleep(1);
  }
  runtime().abort();
}

task<> bootstrap::start(std::vector<std::string> args) {
  (void)args;
  environment& env = runtime().env();
  // The harbor the node runs with (config `harbor` read like strtol, low 8 bits), so the mode
  // chosen here matches the handles; parsing the text again threw on a non-number.
  if (runtime().options().harbor != 0) {
    co_await refuse(
        "error: the native bootstrap supports single-node mode only (harbor = 0); use cluster "
        "for several nodes");
    co_return;
  }
  if (env.contains("standalone")) {
    co_await refuse("error: standalone must not be set when harbor = 0");
    co_return;
  }
  env.set("standalone", "true");
  const std::string start_line = env.get("start").value_or("main");
  const auto [module, param] = split_command_line(start_line);
  // Like skynet: wait for the start service's start function, ignore its failure, then exit.
  auto started = co_await newservice(std::string(module), std::string(param));
  if (!started) log("error: start service " + start_line + " failed");
  co_await exit();
}

}  // namespace starling
