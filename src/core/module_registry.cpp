#include "core/module_registry.hpp"

#include <utility>

namespace starling {

command_line split_command_line(std::string_view line) noexcept {
  constexpr std::string_view blanks = " \t\r\n";
  const auto blank = line.find_first_of(blanks);
  if (blank == std::string_view::npos) return {line, {}};
  const auto param = line.find_first_not_of(blanks, blank);
  return {line.substr(0, blank),
          param == std::string_view::npos ? std::string_view{} : line.substr(param)};
}

void module_registry::add(std::string name, factory make) {
  factories_.insert_or_assign(std::move(name), std::move(make));
}

std::unique_ptr<service> module_registry::create(std::string_view name) const {
  auto it = factories_.find(name);
  return it == factories_.end() ? nullptr : it->second();
}

bool module_registry::contains(std::string_view name) const {
  return factories_.contains(name);
}

}  // namespace starling
