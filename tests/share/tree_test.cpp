// share::tree (src/share/tree.hpp): lookups, iteration order, and counts from many threads.

#include "share/tree.hpp"

#include <gtest/gtest.h>

#include <thread>
#include <vector>

namespace starling::share {
namespace {

// {10, 20, nil, x = "y", sub = {1}, [-1] = true, [2.5] = 7}
std::unique_ptr<tree> sample() {
  tree_builder b;
  const std::uint32_t root = b.add_node();
  const std::uint32_t sub = b.add_node();
  b.set_array_size(root, 3);
  b.set_array(root, 0, value::make_integer(10));
  b.set_array(root, 1, value::make_integer(20));
  const std::uint32_t x = b.intern("x");  // string 0
  b.add_hash(root, value::make_index(value::kind::string, x),
             value::make_index(value::kind::string, b.intern("y")));
  b.add_hash(root, value::make_index(value::kind::string, b.intern("sub")),
             value::make_index(value::kind::table, sub));
  b.add_hash(root, value::make_integer(-1), value::make_boolean(true));
  b.add_hash(root, value::make_real(2.5), value::make_integer(7));
  b.set_array_size(sub, 1);
  b.set_array(sub, 0, value::make_integer(1));
  return b.finish();
}

TEST(share_tree, looks_up_array_hash_and_string_keys) {
  const auto t = sample();
  const node& root = t->root();
  EXPECT_EQ(t->get(root, 1).as.integer, 10);
  EXPECT_EQ(t->get(root, 3).type, value::kind::nil);
  EXPECT_EQ(t->get(root, 4).type, value::kind::nil);
  EXPECT_EQ(t->text(t->get(root, "x").as.index), "y");
  EXPECT_EQ(t->get(root, "nothing").type, value::kind::nil);
  EXPECT_TRUE(t->get(root, -1).as.boolean);
  EXPECT_EQ(t->get(root, value::make_real(2.5)).as.integer, 7);
  const value sub = t->get(root, "sub");
  ASSERT_EQ(sub.type, value::kind::table);
  EXPECT_EQ(t->get(t->at(sub.as.index), 1).as.integer, 1);
  EXPECT_EQ(t->at(sub.as.index).owner, t.get());
}

TEST(share_tree, iterates_array_then_hash_skipping_holes) {
  const auto t = sample();
  const node& root = t->root();
  int entries = 0;
  std::int64_t last_array_key = 0;
  for (std::int64_t p = t->next(root, -1); p >= 0; p = t->next(root, p)) {
    const auto [k, v] = t->entry(root, p);
    EXPECT_NE(v.type, value::kind::nil);
    EXPECT_EQ(t->position(root, k), p);
    if (p < 3) last_array_key = k.as.integer;
    ++entries;
  }
  EXPECT_EQ(entries, 6);
  EXPECT_EQ(last_array_key, 2);
  EXPECT_EQ(t->position(root, "x"), t->position(root, value::make_index(value::kind::string, 0)));
}

TEST(share_tree, interns_each_string_once) {
  tree_builder b;
  const std::uint32_t root = b.add_node();
  const std::uint32_t first = b.intern("same");
  EXPECT_EQ(b.intern("same"), first);
  EXPECT_NE(b.intern("other"), first);
  b.add_hash(root, value::make_index(value::kind::string, first), value::make_integer(1));
  const auto t = b.finish();
  EXPECT_GT(t->bytes(), 0U);
}

TEST(share_tree, counts_from_many_threads) {
  const auto t = sample();
  std::vector<std::thread> threads;
  for (int i = 0; i < 4; ++i) {
    threads.emplace_back([&] {
      for (int n = 0; n < 10000; ++n) {
        t->refs.fetch_add(1);
        EXPECT_EQ(t->get(t->root(), 2).as.integer, 20);
        t->refs.fetch_sub(1);
      }
      t->dirty.store(true);
    });
  }
  for (auto& th : threads)
    th.join();
  EXPECT_EQ(t->refs.load(), 0);
  EXPECT_TRUE(t->dirty.load());
}

}  // namespace
}  // namespace starling::share
