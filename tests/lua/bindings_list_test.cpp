// Every module built into the binary is held to the memory-limit test (lua.bindings_memlimit):
// tests/lua/services/squeeze.lua must name it, and there it checks every function it exports.
#include <gtest/gtest.h>

#include <fstream>
#include <sstream>
#include <string>

#include "lua/snlua.hpp"

namespace starling::lua {
namespace {

TEST(bindings_list, every_native_module_is_squeezed) {
  std::ifstream in(std::string(STARLING_SOURCE_DIR) + "/tests/lua/services/squeeze.lua");
  ASSERT_TRUE(in.good());
  std::stringstream text;
  text << in.rdbuf();
  const std::string squeeze = text.str();
  ASSERT_FALSE(native_modules().empty());
  for (const luaL_Reg& m : native_modules()) {
    const std::string key = std::string("[\"") + m.name + "\"] =";
    EXPECT_NE(squeeze.find(key), std::string::npos) << m.name << " is not in squeeze.lua";
  }
}

}  // namespace
}  // namespace starling::lua
