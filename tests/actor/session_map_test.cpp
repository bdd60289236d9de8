#include "actor/session_map.hpp"

#include <gtest/gtest.h>

#include <map>
#include <random>

namespace starling::detail {
namespace {

template <class Placement>
class session_map_test : public ::testing::Test {
 protected:
  using map_type = session_map<int, Placement>;
};

using placements = ::testing::Types<sequential_keys, scattered_keys>;
TYPED_TEST_SUITE(session_map_test, placements);

TYPED_TEST(session_map_test, put_find_take) {
  typename TestFixture::map_type map;
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

TYPED_TEST(session_map_test, matches_std_map_under_random_churn) {
  typename TestFixture::map_type map;
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

// A service's own sessions: a window of live ones slides forward (calls answered out of
// order, some waiting long), across the table's wrap-around many times.
TYPED_TEST(session_map_test, sliding_window_of_sessions) {
  typename TestFixture::map_type map;
  std::map<std::int32_t, int*> model;
  std::vector<int> storage(16);
  std::mt19937 rng(11);
  std::int32_t next = 1;
  for (int step = 0; step < 100000; ++step) {
    if (model.size() < 1000 && rng() % 2 == 0) {
      int* value = &storage[rng() % storage.size()];
      map.put(next, value);
      model[next++] = value;
    } else if (!model.empty()) {
      // Mostly the oldest, sometimes one from the middle.
      auto it = model.begin();
      if (rng() % 4 == 0) std::advance(it, static_cast<long>(rng() % model.size()));
      ASSERT_EQ(map.take(it->first), it->second);
      model.erase(it);
    }
    ASSERT_EQ(map.find(next), nullptr);
    ASSERT_EQ(map.size(), model.size());
  }
  for (const auto& [session, value] : model)
    EXPECT_EQ(map.find(session), value);
}

}  // namespace
}  // namespace starling::detail
