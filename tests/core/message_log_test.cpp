#include "core/message_log.hpp"

#include <gtest/gtest.h>

#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>

#include "../support/temp_dir.hpp"
#include "core/socket_message.hpp"

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

TEST(message_log, a_socket_message_is_written_as_its_head_then_its_text_or_data) {
  testing::temp_dir dir;
  const std::string path = dir.path() + "/0000000b.log";
  message_log log;
  ASSERT_TRUE(log.open(path, 0));
  auto socket = [](payload body) { return message{0, 0, ptype::socket, std::move(body)}; };
  log.write(socket(make_socket_message(socket_event::accept, 3, 7, "127.0.0.1:5000")), 1);
  log.write(socket(make_socket_message(socket_event::close, 7, 0, "")), 2);
  void* bytes = std::malloc(3);
  std::memcpy(bytes, "\x00\xff\x10", 3);
  message data = socket(make_socket_message(socket_event::data, 7, 3, bytes));
  log.write(data, 3);
  release_socket_buffer(data);
  log.write(message{8, 0, ptype::socket, payload::copy_of(std::string_view("ab"))}, 4);
  ASSERT_TRUE(log.close(5));

  const std::string text = read_file(path);
  EXPECT_NE(
      text.find("\n[socket] 4 3 7 [127.0.0.1:5000]\n[socket] 3 7 0 []\n[socket] 1 7 3 00ff10\n"
                ":00000008 6 0 4 6162\nclose time: 5\n"),
      std::string::npos)
      << "a body too short for a head is written as any message\n"
      << text;
}

TEST(message_log, an_unwritable_path_fails_to_open) {
  message_log log;
  EXPECT_FALSE(log.open("/nonexistent-dir/x.log", 0));
  EXPECT_FALSE(log.active());
}

}  // namespace
}  // namespace starling
