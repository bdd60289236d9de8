// The module greeter.so: what a node run by the installed `starling` loads through cpath.

#include "core/module_abi.hpp"
#include "greeter.hpp"

STARLING_MODULE("greeter", external::greeter)
