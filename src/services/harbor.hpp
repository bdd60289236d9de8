#pragma once
// The native `harbor` service, launched by `.cslave` with "<harbor id> <cslave handle>"
// (docs/HARBOR.md). With harbor id 0 (single-node mode, cdummy) the global-name table lives in
// the node and the only job is the `N <name>` command. With another id it owns the links to
// the other harbors (services/harbor_links), installed as the node's remote router.

#include <memory>

#include "core/service.hpp"

namespace starling {

class harbor_links;

class harbor final : public service {
 public:
  bool init(context& self, std::string_view param) override;
  void dispatch(context& self, message& msg) override;

 private:
  std::shared_ptr<harbor_links> links_;  // multi-node mode only; the node keeps it too
};

}  // namespace starling
