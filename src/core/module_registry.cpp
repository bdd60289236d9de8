#include "core/module_registry.hpp"

#include <utility>

namespace starling {

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
