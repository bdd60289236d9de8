#include "services/bootstrap.hpp"

#include "core/node.hpp"

namespace starling {

void bootstrap::refuse(const std::string& why) {
  log("error: " + why);
  // The application flushes the log, stops the node and exits 1 with `why` on stderr.
  runtime().shutdown().request_stop(1, "bootstrap: " + why);
}

task<> bootstrap::start(std::vector<std::string> args) {
  (void)args;
  environment& env = runtime().env();
  // The harbor the node runs with (config `harbor` read like strtol, low 8 bits), so the mode
  // chosen here matches the handles; parsing the text again threw on a non-number.
  if (runtime().options().harbor != 0) {
    refuse(
        "the native bootstrap supports single-node mode only (harbor = 0); use cluster for "
        "several nodes");
    co_return;
  }
  if (env.contains("standalone")) {
    refuse("standalone must not be set when harbor = 0");
    co_return;
  }
  env.set("standalone", "true");
  const std::string start_line = env.get("start").value_or("main");
  const auto [module, param] = split_command_line(start_line);
  // skynet ignores a start service that fails and idles on; a supervisor could not tell.
  auto started = co_await newservice(std::string(module), std::string(param));
  if (!started) {
    refuse("start service " + start_line + " failed");
    co_return;
  }
  co_await exit();
}

}  // namespace starling
