// share::multicast packages (src/share/multicast.hpp): binding, closing from many threads,
// and the errors the Lua module reports.

#include "share/multicast.hpp"

#include <gtest/gtest.h>

#include <cstring>
#include <thread>
#include <vector>

namespace starling::share {
namespace {

void* holder_of(const char* text) {
  const std::size_t size = std::strlen(text);
  void* data = std::malloc(size);  // NOLINT(*-no-malloc)
  std::memcpy(data, text, size);
  return multicast::pack(data, size);
}

TEST(share_multicast, a_holder_names_its_package) {
  void* holder = holder_of("hello");
  ASSERT_NE(holder, nullptr);
  multicast_package* p = multicast::unpack(holder, sizeof(void*));
  ASSERT_NE(p, nullptr);
  EXPECT_EQ(std::string(static_cast<const char*>(p->data()), p->size()), "hello");
  EXPECT_EQ(multicast::unpack(holder, 4), nullptr) << "only a pointer-sized message";
  ASSERT_TRUE(multicast::bind(holder, 1));
  EXPECT_TRUE(multicast::close(p));
}

TEST(share_multicast, binds_once) {
  void* holder = holder_of("x");
  void* copy = std::malloc(sizeof(void*));  // NOLINT(*-no-malloc)
  std::memcpy(copy, holder, sizeof(void*));
  multicast_package* p = multicast::unpack(holder, sizeof(void*));
  ASSERT_TRUE(multicast::bind(holder, 2));
  EXPECT_FALSE(multicast::bind(copy, 1));
  std::free(copy);  // NOLINT(*-no-malloc)
  EXPECT_TRUE(multicast::close(p));
  EXPECT_TRUE(multicast::close(p));
}

TEST(share_multicast, the_last_of_many_threads_frees_it) {
  constexpr int deliveries = 64;
  for (int round = 0; round < 50; ++round) {
    void* holder = holder_of("shared");
    multicast_package* p = multicast::unpack(holder, sizeof(void*));
    ASSERT_TRUE(multicast::bind(holder, deliveries));
    std::vector<std::thread> threads;
    for (int t = 0; t < 4; ++t) {
      threads.emplace_back([p] {
        for (int i = 0; i < deliveries / 4; ++i) {
          EXPECT_EQ(p->size(), 6U);
          EXPECT_TRUE(multicast::close(p));
        }
      });
    }
    for (auto& t : threads)
      t.join();
  }
}

TEST(share_multicast, a_copy_and_a_take) {
  void* holder = multicast::pack_copy("bytes", 5);
  ASSERT_NE(holder, nullptr);
  auto [data, size] = multicast::take(holder);
  EXPECT_EQ(std::string(static_cast<const char*>(data), size), "bytes");
  std::free(data);  // NOLINT(*-no-malloc)
  EXPECT_EQ(multicast::next_channel(0), 256U);
  EXPECT_EQ(multicast::next_channel(0x7fffff01U), 1U);
}

}  // namespace
}  // namespace starling::share
