// Native modules from cpath: found, not found, refused (ABI, name, entry point, dlopen), loaded
// once; the executable's own modules first. The modules are built by tests/core/CMakeLists.txt.

#include <dlfcn.h>
#include <fmt/format.h>
#include <gtest/gtest.h>

#include <fstream>
#include <string>
#include <vector>

#include "../support/temp_dir.hpp"
#include "core/module_abi.hpp"
#include "core/module_registry.hpp"

namespace starling {
namespace {

const std::string module_dir = STARLING_TEST_MODULE_DIR;
const std::string in_module_dir = module_dir + "/?.so";

bool contains(const std::string& text, const std::string& what) {
  return text.find(what) != std::string::npos;
}

class local_service final : public service {
 public:
  bool init(context&, std::string_view) override { return true; }
  void dispatch(context&, message&) override {}
};

TEST(module_loader, a_module_in_cpath_is_loaded_and_creates_its_service) {
  module_registry modules;
  modules.set_search_path({in_module_dir});
  std::string error;
  std::unique_ptr<service> s = modules.create("modtest_good", error);
  ASSERT_NE(s, nullptr) << error;
  EXPECT_EQ(s->memory_in_use(), 42u);
  EXPECT_FALSE(modules.contains("modtest_good")) << "contains() is for added modules only";
}

TEST(module_loader, templates_are_tried_in_order_and_the_first_found_wins) {
  const testing::temp_dir empty;
  module_registry modules;
  modules.set_search_path({empty.path() + "/?.so", in_module_dir});
  std::string error;
  EXPECT_NE(modules.create("modtest_good", error), nullptr) << error;
}

TEST(module_loader, a_module_is_loaded_once_and_stays_loaded) {
  module_registry modules;
  modules.set_search_path({in_module_dir});
  std::string error;
  auto first = modules.create("modtest_good", error);
  ASSERT_NE(first, nullptr) << error;
  // The library is open (RTLD_NOLOAD finds it); a second launch does not ask it again.
  void* handle = ::dlopen((module_dir + "/modtest_good.so").c_str(), RTLD_NOW | RTLD_NOLOAD);
  ASSERT_NE(handle, nullptr);
  auto calls = reinterpret_cast<int (*)()>(::dlsym(handle, "modtest_entry_calls"));
  ASSERT_NE(calls, nullptr);
  const int after_first = calls();
  EXPECT_GE(after_first, 1);
  auto second = modules.create("modtest_good", error);
  ASSERT_NE(second, nullptr) << error;
  EXPECT_EQ(calls(), after_first);
  EXPECT_EQ(modules.loader()->loaded(), 1u);
  ::dlclose(handle);
}

TEST(module_loader, an_unknown_module_fails_with_the_dlopen_reason) {
  module_registry modules;
  modules.set_search_path({in_module_dir});
  std::string error;
  EXPECT_EQ(modules.create("modtest_nothere", error), nullptr);
  EXPECT_TRUE(contains(error, module_dir + "/modtest_nothere.so")) << error;
  EXPECT_TRUE(contains(error, "No such file or directory")) << error;
}

TEST(module_loader, a_module_built_for_another_abi_is_refused_with_both_versions) {
  module_registry modules;
  modules.set_search_path({in_module_dir});
  std::string error;
  EXPECT_EQ(modules.create("modtest_stale", error), nullptr);
  EXPECT_EQ(error, fmt::format("{}/modtest_stale.so: built for Starling module ABI {}, this "
                               "runtime has module ABI {}; rebuild the module against this "
                               "Starling",
                               module_dir, module_abi_version + 1, module_abi_version));
  EXPECT_EQ(modules.loader()->loaded(), 0u);
}

TEST(module_loader, a_refused_file_is_reported_rather_than_a_later_missing_one) {
  const testing::temp_dir empty;
  module_registry modules;
  modules.set_search_path({in_module_dir, empty.path() + "/?.so"});
  std::string error;
  EXPECT_EQ(modules.create("modtest_stale", error), nullptr);
  EXPECT_TRUE(contains(error, "module ABI")) << error;
}

TEST(module_loader, a_library_that_does_not_link_is_refused_with_dlerror) {
  module_registry modules;
  modules.set_search_path({in_module_dir});
  std::string error;
  EXPECT_EQ(modules.create("modtest_unresolved", error), nullptr);
  EXPECT_TRUE(contains(error, "modtest_unresolved.so")) << error;
  EXPECT_TRUE(contains(error, "undefined symbol: modtest_defined_nowhere")) << error;
}

TEST(module_loader, a_file_that_is_no_shared_object_is_refused_with_dlerror) {
  const testing::temp_dir dir;
  std::ofstream(dir.file("garbage.so")) << "not an ELF file\n";
  module_registry modules;
  modules.set_search_path({dir.path() + "/?.so"});
  std::string error;
  EXPECT_EQ(modules.create("garbage", error), nullptr);
  EXPECT_TRUE(contains(error, dir.file("garbage.so"))) << error;
}

TEST(module_loader, a_library_without_the_entry_point_is_refused) {
  module_registry modules;
  modules.set_search_path({in_module_dir});
  std::string error;
  EXPECT_EQ(modules.create("modtest_noentry", error), nullptr);
  EXPECT_TRUE(contains(error, "no `starling_module` entry point")) << error;
}

TEST(module_loader, a_module_that_names_itself_otherwise_is_refused) {
  module_registry modules;
  modules.set_search_path({in_module_dir});
  std::string error;
  EXPECT_EQ(modules.create("modtest_misnamed", error), nullptr);
  EXPECT_TRUE(contains(error, "names itself `someone_else`, not `modtest_misnamed`")) << error;
}

TEST(module_loader, a_name_with_a_directory_is_refused_before_any_file_is_opened) {
  module_registry modules;
  modules.set_search_path({in_module_dir});
  std::string error;
  EXPECT_EQ(modules.create("../cservice/modtest_good", error), nullptr);
  EXPECT_EQ(error, "invalid module name `../cservice/modtest_good`");
  EXPECT_EQ(modules.create("", error), nullptr);
  EXPECT_EQ(error, "invalid module name ``");
}

TEST(module_loader, the_executables_own_module_comes_before_cpath) {
  module_registry modules;
  modules.add("modtest_good", [] { return std::make_unique<local_service>(); });
  modules.set_search_path({in_module_dir});
  std::string error;
  auto s = modules.create("modtest_good", error);
  ASSERT_NE(s, nullptr);
  EXPECT_EQ(s->memory_in_use(), 0u);
  EXPECT_EQ(modules.loader()->loaded(), 0u);
}

TEST(module_loader, without_a_search_path_only_added_modules_exist) {
  module_registry modules;
  std::string error;
  EXPECT_EQ(modules.create("modtest_good", error), nullptr);
  EXPECT_EQ(error, "no such module");
}

}  // namespace
}  // namespace starling
