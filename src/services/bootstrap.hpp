#pragma once
// The native bootstrap (`bootstrap = "bootstrap"`): brings up a node without the Lua host.
//
// Like skynet's Lua bootstrap in single-node mode it marks the node standalone, then launches
// the `start` service (default `main`) as a native service from its command line and exits
// (`KILL self`). Multi-node harbor mode needs the cslave service, which does not exist
// natively. With a non-zero harbor, `standalone` set with harbor 0, or a start service that
// fails, the bootstrap logs why and asks the application to stop the node: the process exits
// 1 with the reason on stderr (skynet would idle on with nothing running).

#include "actor/actor.hpp"

namespace starling {

class bootstrap final : public actor {
 protected:
  task<> start(std::vector<std::string> args) override;

 private:
  /// Logs `why` and asks for the node to stop with status 1.
  void refuse(const std::string& why);
};

}  // namespace starling
