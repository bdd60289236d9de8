#include "core/handle_table.hpp"

#include <gtest/gtest.h>

#include <memory>

namespace starling {
namespace {

struct item {
  handle_t handle = 0;
  void set_handle(handle_t h) { handle = h; }
};

TEST(handle_table, sequential_launches_get_consecutive_handles) {
  handle_table<item> table(0);
  for (handle_t expected = 1; expected <= 20; ++expected) {
    auto v = std::make_shared<item>();
    EXPECT_EQ(table.insert(v), expected);
    EXPECT_EQ(v->handle, expected) << "the value learns its handle";
  }
  EXPECT_EQ(table.live(), 20U);
}

TEST(handle_table, harbor_id_in_high_bits) {
  handle_table<item> table(2);
  EXPECT_EQ(table.insert(std::make_shared<item>()), 0x02000001U);
  EXPECT_TRUE(table.grab(0x02000001));
  EXPECT_FALSE(table.grab(0x00000001)) << "same local id, other harbor";
}

TEST(handle_table, retired_handles_are_not_reused) {
  handle_table<item> table(0);
  const handle_t a = table.insert(std::make_shared<item>());
  const handle_t b = table.insert(std::make_shared<item>());
  ASSERT_TRUE(table.retire(b));
  EXPECT_FALSE(table.grab(b));
  EXPECT_FALSE(table.retire(b)) << "retiring twice is a no-op";
  EXPECT_EQ(table.insert(std::make_shared<item>()), b + 1);
  EXPECT_TRUE(table.grab(a));
}

TEST(handle_table, skips_values_whose_slot_is_held) {
  handle_table<item> table(0);
  // Fill 1..4 (table size 4), retire 2..4: handle 1 still holds slot 1 of 4.
  for (int i = 0; i < 4; ++i)
    table.insert(std::make_shared<item>());
  for (handle_t h = 2; h <= 4; ++h)
    table.retire(h);
  // Next candidate 5 maps to slot 1 (taken by handle 1), so 6 is chosen.
  EXPECT_EQ(table.insert(std::make_shared<item>()), 6U);
}

TEST(handle_table, grows_past_the_initial_size) {
  handle_table<item> table(0);
  for (int i = 0; i < 1000; ++i)
    table.insert(std::make_shared<item>());
  for (handle_t h = 1; h <= 1000; ++h)
    ASSERT_TRUE(table.grab(h)) << h;
  EXPECT_EQ(table.handles().size(), 1000U);
}

TEST(handle_table, names_first_registration_wins) {
  handle_table<item> table(0);
  const handle_t a = table.insert(std::make_shared<item>());
  const handle_t b = table.insert(std::make_shared<item>());
  EXPECT_TRUE(table.bind_name("launcher", a));
  EXPECT_FALSE(table.bind_name("launcher", b));
  EXPECT_EQ(table.find_name("launcher"), a);
  EXPECT_FALSE(table.find_name("nobody"));
}

TEST(handle_table, one_handle_two_names_removed_on_retire) {
  handle_table<item> table(0);
  const handle_t a = table.insert(std::make_shared<item>());
  EXPECT_TRUE(table.bind_name("x", a));
  EXPECT_TRUE(table.bind_name("y", a));
  EXPECT_EQ(table.find_name("x"), a);
  EXPECT_EQ(table.find_name("y"), a);
  table.retire(a);
  EXPECT_FALSE(table.find_name("x"));
  EXPECT_FALSE(table.find_name("y"));
  EXPECT_FALSE(table.bind_name("z", a)) << "a dead handle cannot be named";
}

TEST(handle_table, retire_all_empties_the_table) {
  handle_table<item> table(0);
  for (int i = 0; i < 10; ++i)
    table.insert(std::make_shared<item>());
  table.bind_name("n", 3);
  auto all = table.retire_all();
  EXPECT_EQ(all.size(), 10U);
  EXPECT_EQ(all.front()->handle, 1U);
  EXPECT_EQ(table.live(), 0U);
  EXPECT_FALSE(table.find_name("n"));
}

}  // namespace
}  // namespace starling
