#include "services/bootstrap.hpp"

#include "core/node.hpp"

namespace starling {

task<> bootstrap::start(std::vector<std::string> args) {
  (void)args;
  environment& env = runtime().env();
  const int harbor = std::stoi(env.get("harbor").value_or("0"));
  if (harbor != 0) {
    log("error: the native bootstrap supports single-node mode only (harbor = 0); use cluster "
        "for several nodes");
    runtime().abort();
    co_return;
  }
  if (env.contains("standalone")) {
    log("error: standalone must not be set when harbor = 0");
    runtime().abort();
    co_return;
  }
  env.set("standalone", "true");
  const std::string start_line = env.get("start").value_or("main");
  if (runtime().launch(start_line) == 0) log("error: start service " + start_line + " failed");
  co_await exit();
}

}  // namespace starling
