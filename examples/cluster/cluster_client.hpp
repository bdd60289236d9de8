#pragma once
// The native half of the two-node demo: a C++ service that reaches another node's database
// through the cluster (docs/CLUSTER.md, "Native services").

#include "actor/actor.hpp"

namespace starling::examples {

/// ("run", node): calls and sends to `node`'s "@sdb" with the C++ cluster API, logs what it
/// gets and replies true when every step gave what it should. ("register", name): registers
/// itself in the cluster as `name`. ("echo", text): replies with `text`.
class cluster_client final : public actor {
 protected:
  task<> on_request(request req) override;

 private:
  task<bool> run(std::string node);
};

}  // namespace starling::examples
