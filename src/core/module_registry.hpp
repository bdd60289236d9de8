#pragma once
// Native modules by name: what `LAUNCH <module> <param>` instantiates. skynet loads modules
// from shared libraries found through `cpath`; Starling links them in and registers factories.
// Thread contract: register everything before the node starts; `create` is then safe anywhere.

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>

#include "core/service.hpp"

namespace starling {

/// A launch command line `<module> <param>`, split at the first blank (space, tab, CR, LF);
/// the parameter starts at the next non-blank character and may be empty.
struct command_line {
  std::string_view module;
  std::string_view param;
};
[[nodiscard]] command_line split_command_line(std::string_view line) noexcept;

class module_registry {
 public:
  using factory = std::function<std::unique_ptr<service>()>;

  /// Adds or replaces the factory for `name`.
  void add(std::string name, factory make);

  /// A new instance of `name`, or null for an unknown module.
  [[nodiscard]] std::unique_ptr<service> create(std::string_view name) const;

  [[nodiscard]] bool contains(std::string_view name) const;

 private:
  std::map<std::string, factory, std::less<>> factories_;
};

}  // namespace starling
