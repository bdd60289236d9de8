#include "services/builtin.hpp"

#include <memory>

#include "lua/snlua.hpp"
#include "services/bootstrap.hpp"
#include "services/harbor.hpp"
#include "services/logger.hpp"

namespace starling {

void register_builtin_services(module_registry& modules) {
  modules.add("logger", [] { return std::make_unique<logger>(); });
  register_actor<bootstrap>(modules, "bootstrap");
  modules.add("harbor", [] { return std::make_unique<harbor>(); });
  lua::register_snlua(modules);
}

}  // namespace starling
