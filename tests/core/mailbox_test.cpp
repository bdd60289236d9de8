#include "core/mailbox.hpp"

#include <gtest/gtest.h>

namespace starling {
namespace {

message numbered(std::int32_t n) {
  return message{1, n, ptype::lua, {}};
}

TEST(mailbox, schedules_once_after_activation) {
  mailbox box;
  message m = numbered(1);
  EXPECT_EQ(box.push(m), mailbox::push_result::queued) << "not schedulable before init ends";
  EXPECT_TRUE(box.activate()) << "a message arrived during init";
  m = numbered(2);
  EXPECT_EQ(box.push(m), mailbox::push_result::queued);
}

TEST(mailbox, empty_pop_takes_it_out_of_the_run_queue) {
  mailbox box;
  EXPECT_FALSE(box.activate());
  message m = numbered(1);
  EXPECT_EQ(box.push(m), mailbox::push_result::schedule);
  m = numbered(2);
  EXPECT_EQ(box.push(m), mailbox::push_result::queued);
  message out;
  std::size_t remaining = 0;
  std::optional<std::size_t> overload;
  ASSERT_TRUE(box.pop(out, remaining, overload));
  EXPECT_EQ(out.session, 1);
  EXPECT_EQ(remaining, 1U);
  ASSERT_TRUE(box.pop(out, remaining, overload));
  EXPECT_EQ(out.session, 2);
  EXPECT_FALSE(box.pop(out, remaining, overload));
  m = numbered(3);
  EXPECT_EQ(box.push(m), mailbox::push_result::schedule);
}

TEST(mailbox, fifo_across_growth) {
  mailbox box;
  (void)box.activate();
  for (int i = 0; i < 1000; ++i) {
    message m = numbered(i);
    box.push(m);
  }
  message out;
  std::size_t remaining = 0;
  std::optional<std::size_t> overload;
  for (int i = 0; i < 1000; ++i) {
    ASSERT_TRUE(box.pop(out, remaining, overload));
    ASSERT_EQ(out.session, i);
  }
}

TEST(mailbox, overload_warns_once_per_crossing_and_resets_when_empty) {
  mailbox box;
  (void)box.activate();
  auto burst = [&] {
    for (int i = 0; i < 5000; ++i) {
      message m = numbered(i);
      box.push(m);
    }
    std::vector<std::size_t> warnings;
    message out;
    std::size_t remaining = 0;
    for (;;) {
      std::optional<std::size_t> overload;
      if (!box.pop(out, remaining, overload)) break;
      if (overload) warnings.push_back(*overload);
    }
    return warnings;
  };
  EXPECT_EQ(burst(), std::vector<std::size_t>{4999}) << "the reference run shows one line, 4999";
  EXPECT_EQ(burst(), std::vector<std::size_t>{4999}) << "a second burst after draining warns again";
}

TEST(mailbox, close_returns_queued_and_refuses_more) {
  mailbox box;
  (void)box.activate();
  message m = numbered(7);
  box.push(m);
  block_queue<message> left = box.close();
  EXPECT_EQ(left.size(), 1U);
  m = numbered(8);
  EXPECT_EQ(box.push(m), mailbox::push_result::closed);
  EXPECT_EQ(m.session, 8) << "a refused message stays with the caller";
  EXPECT_EQ(box.size(), 0U);
}

}  // namespace
}  // namespace starling

namespace starling {
namespace {

TEST(mailbox, release_if_empty_only_when_empty) {
  mailbox box;
  (void)box.activate();
  message m = numbered(1);
  ASSERT_EQ(box.push(m), mailbox::push_result::schedule);
  EXPECT_FALSE(box.release_if_empty()) << "a queued message keeps it scheduled";
  message out;
  std::size_t remaining = 0;
  std::optional<std::size_t> overload;
  ASSERT_TRUE(box.pop(out, remaining, overload));
  EXPECT_TRUE(box.release_if_empty());
  m = numbered(2);
  EXPECT_EQ(box.push(m), mailbox::push_result::schedule) << "released: the next push schedules";
}

}  // namespace
}  // namespace starling
