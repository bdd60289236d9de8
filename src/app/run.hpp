#pragma once
// A node's whole life from its command line. The `starling` executable is this and nothing
// else; an executable of one's own calls it with the native services it links in
// (docs/API.md, "An executable of your own").

#include <functional>

#include "core/module_registry.hpp"

namespace starling {

/// Adds an executable's own modules (module_registry::add, register_actor).
using register_services = std::function<void(module_registry&)>;

/// `<program> CONFIG` (or --help, --version): loads the config, registers the built-in
/// services then `add`'s (which may replace them), looks for every other module through the
/// config's `cpath`, and runs the node until it ends. Returns the process exit status: 0 after
/// a normal end, 1 when the config or the boot fails, the status of a requested stop.
/// Call it once per process, from main, before any other thread exists (it blocks signals).
[[nodiscard]] int run_node(int argc, char** argv, const register_services& add = {});

}  // namespace starling
