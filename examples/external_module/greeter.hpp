#pragma once
// A native service written outside Starling's tree, against the installed package.

#include <string>
#include <vector>

#include "actor/actor.hpp"

namespace external {

/// A start service: logs a greeting with its launch parameters, answers ("greet", name) with
/// "hello, <name>" to a call it makes to itself, logs that too, then ends the node.
class greeter final : public starling::actor {
 protected:
  starling::task<> start(std::vector<std::string> args) override;
  starling::task<> on_request(starling::request req) override;

 private:
  starling::task<> run(std::string who);
};

}  // namespace external
