#include "core/module_loader.hpp"

#include <dlfcn.h>
#include <fmt/format.h>
#include <unistd.h>

#include <utility>

namespace starling {

shared_library shared_library::open(const std::string& path, std::string& error) {
  void* handle = ::dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
  if (handle == nullptr) {
    const char* why = ::dlerror();
    error = why != nullptr ? why : path + ": cannot be opened";
  }
  return shared_library(handle);
}

shared_library::shared_library(shared_library&& other) noexcept
    : handle_(std::exchange(other.handle_, nullptr)) {}

shared_library& shared_library::operator=(shared_library&& other) noexcept {
  if (this != &other) {
    if (handle_ != nullptr) ::dlclose(handle_);
    handle_ = std::exchange(other.handle_, nullptr);
  }
  return *this;
}

shared_library::~shared_library() {
  if (handle_ != nullptr) ::dlclose(handle_);
}

void* shared_library::symbol(const char* name) const noexcept {
  return handle_ != nullptr ? ::dlsym(handle_, name) : nullptr;
}

module_loader::module_loader(std::vector<std::string> templates)
    : templates_(std::move(templates)) {}

const module_descriptor* module_loader::load(const std::string& path, std::string_view name,
                                             shared_library& library, std::string& error) {
  library = shared_library::open(path, error);
  if (!library) return nullptr;
  void* entry = library.symbol(module_entry_symbol);
  if (entry == nullptr) {
    error = fmt::format("{}: no `{}` entry point: not a Starling module (see STARLING_MODULE)",
                        path, module_entry_symbol);
    return nullptr;
  }
  const module_descriptor* descriptor = reinterpret_cast<module_entry>(entry)();
  if (descriptor == nullptr) {
    error = fmt::format("{}: `{}` returned no descriptor", path, module_entry_symbol);
    return nullptr;
  }
  // Nothing but the version is read before the version matches.
  if (descriptor->abi_version != module_abi_version) {
    error = fmt::format(
        "{}: built for Starling module ABI {}, this runtime has module ABI {}; rebuild the "
        "module against this Starling",
        path, descriptor->abi_version, module_abi_version);
    return nullptr;
  }
  if (descriptor->name == nullptr || name != descriptor->name) {
    error = fmt::format("{}: the module names itself `{}`, not `{}`", path,
                        descriptor->name != nullptr ? descriptor->name : "", name);
    return nullptr;
  }
  if (descriptor->create == nullptr) {
    error = fmt::format("{}: the descriptor has no factory", path);
    return nullptr;
  }
  return descriptor;
}

const module_descriptor* module_loader::find(std::string_view name, std::string& error) {
  // A name is a file name's stem: no directories, nothing a C string cannot hold.
  if (name.empty() || name.find_first_of(std::string_view("/\0", 2)) != std::string_view::npos) {
    error = fmt::format("invalid module name `{}`", name);
    return nullptr;
  }
  std::lock_guard lock(mutex_);
  if (auto it = modules_.find(name); it != modules_.end()) return it->second.descriptor;
  if (templates_.empty()) {
    error = "cpath is empty";
    return nullptr;
  }
  std::string refused;  // the error of the first file that exists
  std::string last;
  for (const std::string& pattern : templates_) {
    std::string path = pattern;
    const auto mark = path.find('?');
    if (mark == std::string::npos) continue;  // config.cpp refuses such templates
    path.replace(mark, 1, name);
    shared_library library;
    std::string why;
    if (const module_descriptor* d = load(path, name, library, why)) {
      modules_.emplace(std::string(name), loaded_module{std::move(library), d});
      return d;
    }
    if (refused.empty() && ::access(path.c_str(), F_OK) == 0) refused = why;
    last = std::move(why);
  }
  error = refused.empty() ? std::move(last) : std::move(refused);
  return nullptr;
}

std::size_t module_loader::loaded() const {
  std::lock_guard lock(mutex_);
  return modules_.size();
}

}  // namespace starling
