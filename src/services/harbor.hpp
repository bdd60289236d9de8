#pragma once
// The native `harbor` service in single-node mode (docs/LUA_SERVICES.md): the
// global-name table lives in the node, so the only job left is the `N <name>` command by
// which .cslave registers a global name for the message's source.

#include "core/service.hpp"

namespace starling {

class harbor final : public service {
 public:
  bool init(context& self, std::string_view param) override;
  void dispatch(context& self, message& msg) override;
};

}  // namespace starling
