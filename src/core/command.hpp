#pragma once
// skynet's native command interface (`skynet.core.command`, docs/DESIGN.md):
// a text command with an optional text parameter, answering a text result or nothing. The Lua
// host's `skynet.core` binding and stock services (launcher, debug console) are built on it.
// Thread contract: call from `self`'s own dispatch.

#include <optional>
#include <string>
#include <string_view>

#include "core/context.hpp"

namespace starling {

/// Runs `command` for `self`. Unknown commands return nothing.
std::optional<std::string> run_command(context& self, std::string_view command,
                                       std::string_view param);

}  // namespace starling
