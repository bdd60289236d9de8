#pragma once
// The one entry point of a native module loaded through `cpath` (docs/API.md, "Native
// modules"). A module is a shared object `<name>.so` defining the extern "C" function
// `starling_module`, which returns a descriptor; write it with STARLING_MODULE:
//
//   STARLING_MODULE("echo", my::echo_service)
//
// The module calls into the runtime of the executable that loads it (actor API, node), so it is
// built against the same headers and links no Starling library itself (docs/DESIGN.md).

#include <cstdint>
#include <memory>
#include <type_traits>

#include "core/service.hpp"

namespace starling {

/// Bumped whenever a change to an installed header changes what a compiled module relies on:
/// a class layout, a virtual function, the signature or meaning of a function it may call. The
/// loader refuses a module built for another version instead of letting it crash the node.
inline constexpr std::uint32_t module_abi_version = 1;

/// What a module's entry point returns. `abi_version` is the first member in every version:
/// the loader reads it before it trusts anything else.
struct module_descriptor {
  std::uint32_t abi_version;
  /// The module's name: the loader refuses a descriptor whose name is not the one it looked
  /// for (a file renamed or copied under another name).
  const char* name;
  /// A new instance of the service, for every launch.
  std::unique_ptr<service> (*create)();
};

/// The symbol the loader looks up, and its type.
inline constexpr const char* module_entry_symbol = "starling_module";
using module_entry = const module_descriptor* (*)();

}  // namespace starling

/// Defines the entry point of a module named NAME (a string literal) whose service is TYPE, a
/// default-constructible class derived from starling::service (an actor, usually). Once per
/// shared object, at namespace scope.
#define STARLING_MODULE(NAME, TYPE)                                                         \
  static_assert(std::is_base_of_v<::starling::service, TYPE>,                               \
                "STARLING_MODULE: the type must derive from starling::service");            \
  extern "C" __attribute__((visibility("default"))) const ::starling::module_descriptor*    \
  starling_module() {                                                                       \
    static constexpr ::starling::module_descriptor descriptor{                              \
        ::starling::module_abi_version, NAME,                                               \
        []() -> std::unique_ptr<::starling::service> { return std::make_unique<TYPE>(); }}; \
    return &descriptor;                                                                     \
  }
