// The shared objects of module_loader_test, one per MODULE_KIND (tests/core/CMakeLists.txt):
// good (a module as it should be), stale (built for another ABI), misnamed (calls itself
// something else), unresolved (needs a symbol nobody defines), noentry (no entry point).

#include <atomic>
#include <memory>

#include "core/module_abi.hpp"

namespace {

std::atomic<int> entry_calls{0};

class probe final : public starling::service {
 public:
  bool init(starling::context&, std::string_view param) override { return param != "fail"; }
  void dispatch(starling::context&, starling::message&) override {}
  /// What tells a test that this instance came from the module.
  [[nodiscard]] std::size_t memory_in_use() const noexcept override { return 42; }
};

[[maybe_unused]] std::unique_ptr<starling::service> make_probe() {
  return std::make_unique<probe>();
}

}  // namespace

/// How many times the loader asked for the descriptor.
extern "C" __attribute__((visibility("default"))) int modtest_entry_calls() {
  return entry_calls.load();
}

#if defined(MODULE_KIND_unresolved)
extern "C" int modtest_defined_nowhere();
extern "C" __attribute__((visibility("default"))) int modtest_use_it() {
  return modtest_defined_nowhere();
}
#endif

#if !defined(MODULE_KIND_noentry)
extern "C" __attribute__((visibility("default"))) const starling::module_descriptor*
starling_module() {
  ++entry_calls;
#if defined(MODULE_KIND_stale)
  static constexpr starling::module_descriptor descriptor{starling::module_abi_version + 1,
                                                          "modtest_stale", &make_probe};
#elif defined(MODULE_KIND_misnamed)
  static constexpr starling::module_descriptor descriptor{starling::module_abi_version,
                                                          "someone_else", &make_probe};
#else
  static constexpr starling::module_descriptor descriptor{starling::module_abi_version, MODULE_NAME,
                                                          &make_probe};
#endif
  return &descriptor;
}
#endif
