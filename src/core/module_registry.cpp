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

void module_registry::set_search_path(std::vector<std::string> templates) {
  loader_ = std::make_unique<module_loader>(std::move(templates));
}

std::unique_ptr<service> module_registry::create(std::string_view name, std::string& error) const {
  if (auto it = factories_.find(name); it != factories_.end()) return it->second();
  if (!loader_) {
    error = "no such module";
    return nullptr;
  }
  const module_descriptor* module = loader_->find(name, error);
  return module != nullptr ? module->create() : nullptr;
}

bool module_registry::contains(std::string_view name) const {
  return factories_.contains(name);
}

}  // namespace starling
