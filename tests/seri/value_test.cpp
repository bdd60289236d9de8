#include "seri/value.hpp"

#include <gtest/gtest.h>

#include <bit>
#include <cmath>
#include <cstdint>
#include <limits>
#include <sstream>
#include <string>
#include <type_traits>
#include <variant>

namespace starling::seri {
namespace {

value nested(int levels) {
  value v = table{};
  for (int i = 1; i < levels; ++i) {
    table outer;
    outer.array.push_back(std::move(v));
    v = std::move(outer);
  }
  return v;
}

TEST(seri_value, default_is_nil) {
  value v;
  EXPECT_TRUE(v.is_nil());
  EXPECT_EQ(v.type(), value::kind::nil);
  EXPECT_EQ(value(nullptr), v);
  EXPECT_EQ(value(std::monostate{}), v);
}

TEST(seri_value, constructors_pick_the_lua_type) {
  EXPECT_TRUE(value(true).is_boolean());
  EXPECT_TRUE(value(42).is_integer());
  EXPECT_TRUE(value(std::uint8_t{7}).is_integer());
  EXPECT_TRUE(value(42ULL).is_integer());
  EXPECT_TRUE(value(0).is_integer()) << "0 is an integer, not a null pointer";
  EXPECT_TRUE(value(1.5).is_real());
  EXPECT_TRUE(value(1.5F).is_real());
  EXPECT_TRUE(value("text").is_string()) << "a C string must not decay to bool";
  EXPECT_TRUE(value(std::string("text")).is_string());
  EXPECT_TRUE(value(std::string_view("text")).is_string());
  EXPECT_TRUE(value(light_userdata{0x1234}).is_light_userdata());
  EXPECT_TRUE(value(table{}).is_table());

  EXPECT_EQ(value(-5).as_integer(), -5);
  EXPECT_EQ(value(std::numeric_limits<std::uint64_t>::max()).as_integer(), -1) << "wraps";
  EXPECT_EQ(value(1.5F).as_real(), 1.5);
  EXPECT_EQ(value("a\0b").as_string(), "a");
  EXPECT_EQ(value(std::string("a\0b", 3)).as_string().size(), 3U);
  EXPECT_EQ(value(light_userdata{0x1234}).as_light_userdata().address, 0x1234U);
}

TEST(seri_value, wrong_accessor_throws) {
  value v = 42;
  EXPECT_THROW((void)v.as_string(), std::bad_variant_access);
  EXPECT_THROW((void)v.as_table(), std::bad_variant_access);
  EXPECT_THROW((void)v.as_real(), std::bad_variant_access) << "no silent int -> real";
}

TEST(seri_value, is_cheap_to_move) {
  static_assert(std::is_nothrow_move_constructible_v<value>);
  static_assert(std::is_nothrow_move_assignable_v<value>);
  static_assert(sizeof(value) <= 48);
  value a = table{{1, 2, 3}, {}};
  const table* inside = &a.as_table();
  value b = std::move(a);
  EXPECT_EQ(&b.as_table(), inside) << "moving a table moves the box, not the contents";
  EXPECT_TRUE(a.is_nil()) << "moved-from values are nil";  // NOLINT(bugprone-use-after-move)
}

TEST(seri_value, copies_are_deep) {
  value a = table{{1, table{{"inner"}, {}}}, {{"k", table{}}}};
  value b = a;
  EXPECT_EQ(a, b);
  b.as_table().array[1].as_table().array[0] = "changed";
  EXPECT_NE(a, b);
  EXPECT_EQ(a.as_table().array[1].as_table().array[0].as_string(), "inner");
  a = b;
  EXPECT_EQ(a, b);
  EXPECT_NE(&a.as_table(), &b.as_table());
}

TEST(seri_value, reals_compare_bit_for_bit) {
  const double nan = std::numeric_limits<double>::quiet_NaN();
  EXPECT_EQ(value(nan), value(nan));
  EXPECT_NE(value(nan), value(std::bit_cast<double>(std::bit_cast<std::uint64_t>(nan) | 1)));
  EXPECT_NE(value(0.0), value(-0.0));
  EXPECT_NE(value(1), value(1.0)) << "integer and real are different subtypes";
  EXPECT_EQ(value(0.1), value(0.1));
}

TEST(seri_value, scalars_compare_by_content) {
  EXPECT_EQ(value("abc"), value(std::string("abc")));
  EXPECT_NE(value("abc"), value("abd"));
  EXPECT_NE(value(true), value(1));
  EXPECT_NE(value(false), value());
  EXPECT_EQ(value(light_userdata{1}), value(light_userdata{1}));
  EXPECT_NE(value(light_userdata{1}), value(light_userdata{2}));
}

TEST(seri_value, tables_compare_arrays_in_order_and_hashes_as_sets) {
  EXPECT_EQ(value(table{{1, 2}, {}}), value(table{{1, 2}, {}}));
  EXPECT_NE(value(table{{1, 2}, {}}), value(table{{2, 1}, {}}));
  EXPECT_NE(value(table{{1, 2}, {}}), value(table{{1, 2, 3}, {}}));
  value a = table{{}, {{"x", 1}, {"y", 2}, {"z", 3}}};
  value b = table{{}, {{"z", 3}, {"x", 1}, {"y", 2}}};
  EXPECT_EQ(a, b);
  value c = table{{}, {{"z", 3}, {"x", 1}, {"y", 4}}};
  EXPECT_NE(a, c);
  // Table keys: equal contents count, and each pair is matched once.
  value d = table{{}, {{table{}, 1}, {table{}, 2}}};
  value e = table{{}, {{table{}, 2}, {table{}, 1}}};
  value f = table{{}, {{table{}, 1}, {table{}, 1}}};
  EXPECT_EQ(d, e);
  EXPECT_NE(d, f);
  EXPECT_NE(f, d);
}

TEST(seri_value, find_is_a_raw_lookup) {
  value k = table{};
  table t{{"one", "two"}, {{"x", 10}, {0, "zero"}, {2.5, "real"}, {k, "by table"}}};
  ASSERT_NE(t.find(1), nullptr);
  EXPECT_EQ(*t.find(1), value("one"));
  EXPECT_EQ(*t.find(2.0), value("two")) << "integral reals find integer keys";
  EXPECT_EQ(*t.find("x"), value(10));
  EXPECT_EQ(*t.find(-0.0), value("zero"));
  EXPECT_EQ(*t.find(2.5), value("real"));
  EXPECT_EQ(t.find(3), nullptr);
  EXPECT_EQ(t.find("y"), nullptr);
  EXPECT_EQ(t.find(table{}), nullptr) << "table keys match by identity";
  EXPECT_EQ(*t.find(t.hash[3].first), value("by table"));
}

TEST(seri_value, deep_trees_copy_and_free_without_recursion) {
  // Far deeper than any stack could recurse through.
  value deep = nested(1'000'000);
  value copy = deep;
  const value* v = &copy;
  int levels = 1;
  while (!v->as_table().array.empty()) {
    v = &v->as_table().array[0];
    ++levels;
  }
  EXPECT_EQ(levels, 1'000'000);
  deep = value();
  copy = value();
}

TEST(seri_value, compares_trees_as_deep_as_the_decoder_allows) {
  value a = nested(10'000);
  value b = nested(10'000);
  EXPECT_EQ(a, b);
}

TEST(seri_value, prints_like_lua) {
  std::ostringstream out;
  out << value(table{{1, "a\n", true}, {{"k", 2.5}}});
  EXPECT_EQ(out.str(), "{1, \"a\\x0a\", true, [\"k\"]=2.5(0x4004000000000000)}");
  std::ostringstream deep;
  deep << nested(100);
  EXPECT_NE(deep.str().find("{...}"), std::string::npos);
}

}  // namespace
}  // namespace starling::seri
