#include "core/environment.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <string>
#include <thread>
#include <vector>

namespace starling {
namespace {

// Built by appending: `"literal" + std::string&&` trips a GCC 12 -Wrestrict false positive.
std::string key_of(int owner, int index) {
  std::string key("k");
  key += std::to_string(owner);
  key += '_';
  key += std::to_string(index);
  return key;
}

TEST(environment, get_of_absent_key_is_nullopt) {
  environment env;
  EXPECT_FALSE(env.get("missing").has_value());
  EXPECT_FALSE(env.contains("missing"));
  EXPECT_EQ(env.size(), 0U);
}

TEST(environment, set_then_get) {
  environment env;
  EXPECT_TRUE(env.set("thread", "8"));
  EXPECT_EQ(env.get("thread"), "8");
  EXPECT_TRUE(env.contains("thread"));
}

TEST(environment, value_with_spaces_is_kept_intact) {
  environment env;
  EXPECT_TRUE(env.set("bootstrap", "snlua bootstrap  x "));
  EXPECT_EQ(env.get("bootstrap"), "snlua bootstrap  x ");
}

TEST(environment, empty_value_is_a_value) {
  environment env;
  EXPECT_TRUE(env.set("empty", ""));
  EXPECT_EQ(env.get("empty"), "");
}

TEST(environment, set_of_existing_key_fails_and_keeps_the_value) {
  environment env;
  EXPECT_TRUE(env.set("harbor", "0"));
  EXPECT_FALSE(env.set("harbor", "1"));
  EXPECT_EQ(env.get("harbor"), "0");
  EXPECT_EQ(env.size(), 1U);
}

TEST(environment, setenv_exists_message_matches_skynet) {
  EXPECT_EQ(setenv_exists_message("harbor"), "Can't setenv exist key : harbor");
  EXPECT_EQ(setenv_exists_prefix, "Can't setenv exist key : ");
}

TEST(environment, keys_are_sorted) {
  environment env;
  env.set("b", "2");
  env.set("a", "1");
  env.set("c", "3");
  EXPECT_EQ(env.keys(), (std::vector<std::string>{"a", "b", "c"}));
}

TEST(environment, concurrent_set_and_get_from_several_threads) {
  constexpr int thread_count = 4;
  constexpr int keys_per_thread = 500;
  environment env;
  std::vector<std::thread> threads;
  threads.reserve(thread_count);
  for (int t = 0; t < thread_count; ++t) {
    threads.emplace_back([&env, t] {
      for (int i = 0; i < keys_per_thread; ++i) {
        std::string key = key_of(t, i);
        EXPECT_TRUE(env.set(key, std::to_string(i)));
        EXPECT_EQ(env.get(key), std::to_string(i));
        // Reads of other threads' keys see either nothing or the complete value.
        std::string other = key_of((t + 1) % thread_count, i);
        if (auto value = env.get(other)) {
          EXPECT_EQ(*value, std::to_string(i));
        }
        (void)env.keys();
      }
    });
  }
  for (auto& thread : threads)
    thread.join();
  EXPECT_EQ(env.size(), static_cast<std::size_t>(thread_count * keys_per_thread));
}

TEST(environment, racing_sets_of_one_key_have_exactly_one_winner) {
  constexpr int thread_count = 4;
  constexpr int rounds = 200;
  environment env;
  std::atomic<int> wins[rounds] = {};
  std::vector<std::thread> threads;
  threads.reserve(thread_count);
  for (int t = 0; t < thread_count; ++t) {
    threads.emplace_back([&, t] {
      for (int r = 0; r < rounds; ++r) {
        if (env.set(key_of(-1, r), std::to_string(t))) wins[r].fetch_add(1);
      }
    });
  }
  for (auto& thread : threads)
    thread.join();
  for (int r = 0; r < rounds; ++r) {
    EXPECT_EQ(wins[r].load(), 1) << "round " << r;
    auto value = env.get(key_of(-1, r));
    ASSERT_TRUE(value.has_value());
    EXPECT_EQ(value->size(), 1U);
  }
}

}  // namespace
}  // namespace starling
