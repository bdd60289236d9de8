#pragma once
// Registers the native services that ship with Starling (logger, bootstrap, examples).

#include "core/module_registry.hpp"

namespace starling {

void register_builtin_services(module_registry& modules);

}  // namespace starling
