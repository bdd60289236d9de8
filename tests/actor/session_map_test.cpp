#include "actor/session_map.hpp"

#include <gtest/gtest.h>

#include <map>
#include <random>

namespace starling::detail {
namespace {

TEST(session_map, put_find_take) {
  session_map<int> map;
  int a = 1;
  int b = 2;
  map.put(5, &a);
  map.put(6, &b);
  EXPECT_EQ(map.find(5), &a);
  EXPECT_EQ(map.find(6), &b);
  EXPECT_EQ(map.find(7), nullptr);
  EXPECT_EQ(map.take(5), &a);
  EXPECT_EQ(map.find(5), nullptr);
  EXPECT_EQ(map.take(5), nullptr);
  EXPECT_EQ(map.size(), 1U);
}

TEST(session_map, matches_std_map_under_random_churn) {
  session_map<int> map;
  std::map<std::int32_t, int*> model;
  std::vector<int> storage(64);
  std::mt19937 rng(7);
  for (int step = 0; step < 200000; ++step) {
    const auto session = static_cast<std::int32_t>(rng() % 3000 + 1);
    int* value = &storage[rng() % storage.size()];
    switch (rng() % 3) {
      case 0:
        map.put(session, value);
        model[session] = value;
        break;
      case 1: {
        auto it = model.find(session);
        int* expected = it == model.end() ? nullptr : it->second;
        ASSERT_EQ(map.take(session), expected);
        if (it != model.end()) model.erase(it);
        break;
      }
      default: {
        auto it = model.find(session);
        ASSERT_EQ(map.find(session), it == model.end() ? nullptr : it->second);
      }
    }
    ASSERT_EQ(map.size(), model.size());
  }
  std::size_t visited = 0;
  map.for_each([&](std::int32_t s, int* v) {
    ++visited;
    EXPECT_EQ(model.at(s), v);
  });
  EXPECT_EQ(visited, model.size());
}

}  // namespace
}  // namespace starling::detail
