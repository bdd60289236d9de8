#include "greeter.hpp"

#include <fmt/format.h>

#include "core/node.hpp"
#include "services/logger.hpp"

namespace external {

starling::task<> greeter::start(std::vector<std::string> args) {
  fork(run(args.empty() ? "world" : args.front()));
  co_return;
}

starling::task<> greeter::on_request(starling::request req) {
  starling::seri::reader args = req.reader();
  const std::string_view command = args.read_string();
  if (command != "greet") {
    req.fail();
    co_return;
  }
  req.reply(fmt::format("hello, {}", args.read_string()));
  co_return;
}

starling::task<> greeter::run(std::string who) {
  auto answer = co_await call(self(), "greet", who);
  log(answer ? fmt::format("greeter: {}", answer->values().at(0).as_string())
             : std::string("greeter: the call failed"));
  // abort drops log lines still queued: let the logger print ours first.
  while (!starling::log_drained(runtime()))
    (void)co_await sleep(1);
  runtime().abort();
}

}  // namespace external
