#include "core/message_log.hpp"

#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

#include "../support/temp_dir.hpp"

namespace starling {
namespace {

std::string read_file(const std::string& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

TEST(message_log, writes_a_header_a_line_per_message_and_a_footer) {
  testing::temp_dir dir;
  const std::string path = dir.path() + "/0000000a.log";
  message_log log;
  EXPECT_FALSE(log.active());
  ASSERT_TRUE(log.open(path, 1234));
  EXPECT_TRUE(log.active());
  EXPECT_FALSE(log.open(path, 1234)) << "already open";
  log.write(message{8, 3, ptype::lua, payload::copy_of(std::string_view("\x01\xab", 2))}, 1240);
  log.write(message{0x1f, 0, ptype::text, {}}, 1250);
  EXPECT_TRUE(log.close(1260));
  EXPECT_FALSE(log.active());
  EXPECT_FALSE(log.close(1260)) << "not open";
  log.write(message{8, 0, ptype::lua, {}}, 1270);  // after close: nothing

  const std::string text = read_file(path);
  EXPECT_EQ(text.rfind("open time: 1234 ", 0), 0u) << text;
  EXPECT_NE(text.find("\n:00000008 10 3 1240 01ab\n:0000001f 0 0 1250 \nclose time: 1260\n"),
            std::string::npos)
      << text;
}

TEST(message_log, an_unwritable_path_fails_to_open) {
  message_log log;
  EXPECT_FALSE(log.open("/nonexistent-dir/x.log", 0));
  EXPECT_FALSE(log.active());
}

}  // namespace
}  // namespace starling
