#pragma once
// Native modules by name: what `LAUNCH <module> <param>` instantiates. A module is either
// registered in the executable (a factory) or, as in skynet, a shared object found through
// `cpath` on its first launch (core/module_loader.hpp); the executable's own come first.
// Thread contract: `add` and `set_search_path` before the node starts; `create` is then safe
// anywhere.

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "core/module_loader.hpp"
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

  /// Modules not added are looked for through `templates` (cpath's elements, each with a `?`).
  /// Without a search path, only added modules exist.
  void set_search_path(std::vector<std::string> templates);

  /// A new instance of `name`, or null with `error` saying why (an unknown module, a shared
  /// object refused by the loader).
  [[nodiscard]] std::unique_ptr<service> create(std::string_view name, std::string& error) const;

  /// True for an added module (shared objects are not looked for).
  [[nodiscard]] bool contains(std::string_view name) const;

  /// The loader of cpath modules, null without a search path.
  [[nodiscard]] const module_loader* loader() const noexcept { return loader_.get(); }

 private:
  std::map<std::string, factory, std::less<>> factories_;
  // Held by pointer: the loader locks, and modules stay loaded until the registry goes.
  std::unique_ptr<module_loader> loader_;
};

}  // namespace starling
