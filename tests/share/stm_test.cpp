// share::stm_cell (src/share/stm.hpp): versions, the writer going, and readers on threads.

#include "share/stm.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

namespace starling::share {
namespace {

std::shared_ptr<const stm_message> message_of(const std::string& text) {
  void* data = std::malloc(text.size());  // NOLINT(*-no-malloc)
  std::memcpy(data, text.data(), text.size());
  return std::make_shared<const stm_message>(data, text.size());
}

std::string text_of(const stm_message& m) {
  return {static_cast<const char*>(m.data()), m.size()};
}

TEST(share_stm, a_reader_sees_each_version_once) {
  stm_cell cell;
  std::uint64_t seen = 0;
  EXPECT_EQ(cell.read(seen), nullptr);
  cell.write(message_of("one"));
  auto first = cell.read(seen);
  ASSERT_NE(first, nullptr);
  EXPECT_EQ(text_of(*first), "one");
  EXPECT_EQ(cell.read(seen), nullptr);
  cell.write(message_of("two"));
  EXPECT_EQ(text_of(*first), "one") << "a held message outlives its replacement";
  EXPECT_EQ(text_of(*cell.read(seen)), "two");
}

TEST(share_stm, nothing_after_the_writer_closed) {
  stm_cell cell;
  cell.write(message_of("one"));
  cell.close();
  std::uint64_t seen = 0;
  EXPECT_EQ(cell.read(seen), nullptr);
}

TEST(share_stm, readers_on_threads_see_whole_messages) {
  stm_cell cell;
  cell.write(message_of("0"));
  std::atomic<bool> done{false};
  std::vector<std::thread> readers;
  for (int i = 0; i < 3; ++i) {
    readers.emplace_back([&] {
      std::uint64_t seen = 0;
      int last = -1;
      while (!done.load()) {
        if (auto m = cell.read(seen)) {
          const int n = std::stoi(text_of(*m));
          EXPECT_GE(n, last);
          last = n;
        }
      }
    });
  }
  for (int n = 1; n <= 2000; ++n)
    cell.write(message_of(std::to_string(n)));
  done.store(true);
  for (auto& t : readers)
    t.join();
}

}  // namespace
}  // namespace starling::share
