#include "services/harbor.hpp"

#include "core/node.hpp"

namespace starling {

bool harbor::init(context& self, std::string_view param) {
  (void)self;
  (void)param;
  return true;
}

void harbor::dispatch(context& self, message& msg) {
  if (msg.type != ptype::harbor && msg.type != ptype::text) return;
  const std::string_view command = msg.data.view();
  if (command.size() > 2 && command.starts_with("N ")) {
    (void)self.owner().register_global(command.substr(2), msg.source);
  }
}

}  // namespace starling
