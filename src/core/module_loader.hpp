#pragma once
// Native modules from shared objects found through `cpath` (config.md): skynet's way of adding
// C services, with one versioned entry point per module (core/module_abi.hpp).

#include <map>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "core/module_abi.hpp"

namespace starling {

/// An open shared object, closed with it. Move-only.
class shared_library {
 public:
  shared_library() = default;
  /// dlopen(path, RTLD_NOW | RTLD_LOCAL); empty on failure, with `error` set to dlerror's text.
  static shared_library open(const std::string& path, std::string& error);

  shared_library(shared_library&& other) noexcept;
  shared_library& operator=(shared_library&& other) noexcept;
  shared_library(const shared_library&) = delete;
  shared_library& operator=(const shared_library&) = delete;
  ~shared_library();

  explicit operator bool() const noexcept { return handle_ != nullptr; }
  /// The address of `symbol`, or null.
  [[nodiscard]] void* symbol(const char* name) const noexcept;

 private:
  explicit shared_library(void* handle) noexcept : handle_(handle) {}
  void* handle_ = nullptr;
};

/// Finds and loads modules, each once per loader; thread-safe. A loaded module stays loaded as
/// long as the loader: it must outlive every service created from it (the module registry
/// holds it, and outlives the node).
class module_loader {
 public:
  /// `templates`: cpath's elements, each with a `?` that the module name replaces (the first).
  explicit module_loader(std::vector<std::string> templates);

  /// The descriptor of `name`: loaded from the first template whose file opens and passes the
  /// checks (entry point, ABI version, name). Null on failure, with `error` saying why, in the
  /// words of the first file that exists but was refused (else of the last one tried).
  /// Failures are not remembered: a module installed later is found by the next launch.
  const module_descriptor* find(std::string_view name, std::string& error);

  /// How many modules are loaded.
  [[nodiscard]] std::size_t loaded() const;

 private:
  struct loaded_module {
    shared_library library;
    const module_descriptor* descriptor;
  };
  /// Opens `path` and checks its entry point for module `name`.
  static const module_descriptor* load(const std::string& path, std::string_view name,
                                       shared_library& library, std::string& error);

  const std::vector<std::string> templates_;
  mutable std::mutex mutex_;
  std::map<std::string, loaded_module, std::less<>> modules_;  // guarded
};

}  // namespace starling
