#pragma once
// The native bootstrap (`bootstrap = "bootstrap"`): brings up a node without the Lua host.
//
// Like skynet's Lua bootstrap in single-node mode it marks the node standalone, then launches
// the `start` service (default `main`) as a native service from its command line, ignores its
// failure, and exits (`KILL self`). Multi-node harbor mode needs the cslave service, which does
// not exist natively: with a non-zero harbor (or `standalone` set with harbor 0) the bootstrap
// logs why, waits until the logger has written the line, and aborts the node.

#include "actor/actor.hpp"

namespace starling {

class bootstrap final : public actor {
 protected:
  task<> start(std::vector<std::string> args) override;

 private:
  /// Logs `why`, waits until the logger has it, and aborts the node.
  task<> refuse(std::string why);
};

}  // namespace starling
