#include "services/builtin.hpp"

#include <memory>

#include "services/bootstrap.hpp"
#include "services/logger.hpp"

namespace starling {

void register_builtin_services(module_registry& modules) {
  modules.add("logger", [] { return std::make_unique<logger>(); });
  register_actor<bootstrap>(modules, "bootstrap");
}

}  // namespace starling
