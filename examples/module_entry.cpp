// The entry point of one demo module, compiled once per module with EXAMPLE_MODULE set to its
// name, which is also the name of its class in starling::examples, and EXAMPLE_HEADER to the
// header declaring it (examples/CMakeLists.txt). examples/external_module shows the plain form.

#include "core/module_abi.hpp"
#include EXAMPLE_HEADER

#define EXAMPLE_STRING(x) #x
#define EXAMPLE_NAME(x) EXAMPLE_STRING(x)

STARLING_MODULE(EXAMPLE_NAME(EXAMPLE_MODULE), starling::examples::EXAMPLE_MODULE)
