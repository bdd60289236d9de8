#include "core/mailbox.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <cstdlib>
#include <thread>
#include <vector>

#include "core/socket_message.hpp"

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
  message_queue left = box.close();
  EXPECT_EQ(left.size(), 1U);
  m = numbered(8);
  EXPECT_EQ(box.push(m), mailbox::push_result::closed);
  EXPECT_EQ(m.session, 8) << "a refused message stays with the caller";
  EXPECT_EQ(box.size(), 0U);
}

TEST(mailbox, pushes_during_a_batch_follow_it) {
  mailbox box;
  (void)box.activate();
  for (int i = 1; i <= 3; ++i) {
    message m = numbered(i);
    box.push(m);
  }
  message out;
  std::size_t remaining = 0;
  std::optional<std::size_t> overload;
  ASSERT_TRUE(box.pop(out, remaining, overload));
  EXPECT_EQ(out.session, 1);
  EXPECT_EQ(remaining, 2U) << "the batch taken: what was queued then";
  message m = numbered(4);
  EXPECT_EQ(box.push(m), mailbox::push_result::queued);
  EXPECT_EQ(box.size(), 3U) << "the rest of the batch and the queue";
  for (int i = 2; i <= 4; ++i) {
    ASSERT_TRUE(box.pop(out, remaining, overload));
    EXPECT_EQ(out.session, i);
  }
  EXPECT_FALSE(box.pop(out, remaining, overload));
  EXPECT_EQ(box.size(), 0U);
}

TEST(mailbox, bursts_across_batches_and_idle_spells_stay_in_order) {
  // Bursts of different sizes, some arriving in the middle of a batch, with the mailbox going
  // idle in between: the blocks change hands between the queue and the batch each time.
  mailbox box;
  (void)box.activate();
  std::int32_t sent = 0;
  std::int32_t received = 0;
  message out;
  std::size_t remaining = 0;
  std::optional<std::size_t> overload;
  for (int round = 0; round < 60; ++round) {
    const int burst = 1 + (round * 7) % 40;
    for (int i = 0; i < burst; ++i) {
      message m = numbered(sent++);
      box.push(m);
    }
    ASSERT_TRUE(box.pop(out, remaining, overload));
    ASSERT_EQ(out.session, received++);
    for (int i = 0; i < round % 20; ++i) {  // arrive during the batch
      message m = numbered(sent++);
      box.push(m);
    }
    while (box.pop(out, remaining, overload))
      ASSERT_EQ(out.session, received++);
    ASSERT_EQ(received, sent);
    EXPECT_EQ(box.size(), 0U);
  }
}

TEST(mailbox, close_during_a_batch_leaves_everything_to_the_worker_in_order) {
  mailbox box;
  (void)box.activate();
  for (int i = 1; i <= 3; ++i) {
    message m = numbered(i);
    box.push(m);
  }
  message out;
  std::size_t remaining = 0;
  std::optional<std::size_t> overload;
  ASSERT_TRUE(box.pop(out, remaining, overload));  // the batch is 1, 2, 3
  message m = numbered(4);
  box.push(m);
  EXPECT_EQ(box.close().size(), 0U) << "handing back 4 would answer it before 2 and 3";
  m = numbered(5);
  EXPECT_EQ(box.push(m), mailbox::push_result::closed);
  for (int i = 2; i <= 4; ++i) {
    ASSERT_TRUE(box.pop(out, remaining, overload));
    EXPECT_EQ(out.session, i);
  }
  EXPECT_FALSE(box.pop(out, remaining, overload));
}

TEST(mailbox, close_after_a_finished_batch_hands_back_the_queue) {
  mailbox box;
  (void)box.activate();
  message m = numbered(1);
  box.push(m);
  message out;
  std::size_t remaining = 0;
  std::optional<std::size_t> overload;
  ASSERT_TRUE(box.pop(out, remaining, overload));  // a batch of one, now finished
  m = numbered(2);
  box.push(m);
  message_queue left = box.close();
  ASSERT_EQ(left.size(), 1U);
  ASSERT_TRUE(left.pop(out));
  EXPECT_EQ(out.session, 2);
  EXPECT_FALSE(box.pop(out, remaining, overload));
}

// Several senders and one worker: every message once, in order per sender, and the mailbox
// scheduled exactly when a push finds it idle.
TEST(mailbox, senders_and_a_worker_concurrently) {
  constexpr int senders = 3;
  constexpr int per_sender = 20'000;
  mailbox box;
  (void)box.activate();
  std::atomic<int> schedules{0};
  std::vector<std::thread> threads;
  for (int s = 0; s < senders; ++s) {
    threads.emplace_back([&, s] {
      for (int i = 0; i < per_sender; ++i) {
        message m{static_cast<handle_t>(s), i, ptype::lua, {}};
        if (box.push(m) == mailbox::push_result::schedule) schedules.fetch_add(1);
      }
    });
  }
  std::vector<int> next(senders, 0);
  int received = 0;
  int out_of_order = 0;
  int idle_pops = 0;
  message out;
  std::size_t remaining = 0;
  while (received < senders * per_sender) {
    std::optional<std::size_t> overload;
    if (!box.pop(out, remaining, overload)) {
      ++idle_pops;
      std::this_thread::yield();
      continue;
    }
    if (out.session != next[out.source]++) ++out_of_order;
    ++received;
  }
  for (std::thread& t : threads)
    t.join();
  EXPECT_EQ(out_of_order, 0);
  // Only the first push and a push after an empty pop find the mailbox idle.
  EXPECT_GE(schedules.load(), 1);
  EXPECT_LE(schedules.load(), idle_pops + 1);
  std::optional<std::size_t> overload;
  EXPECT_FALSE(box.pop(out, remaining, overload));
  message m = numbered(1);
  EXPECT_EQ(box.push(m), mailbox::push_result::schedule);
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

TEST(mailbox, destruction_frees_buffers_of_queued_socket_messages) {
  // Nothing to observe but ASan's leak check: these buffers have no other owner.
  mailbox box;
  for (int i = 0; i < 40; ++i) {
    message m{0, 0, ptype::socket, make_socket_message(socket_event::data, 1, 16, std::malloc(16))};
    box.push(m);
  }
  ASSERT_TRUE(box.activate());
  message first;
  std::size_t remaining = 0;
  std::optional<std::size_t> overload;
  ASSERT_TRUE(box.pop(first, remaining, overload));  // the rest sits in the worker's batch
  release_socket_buffer(first);
  message late{0, 0, ptype::socket, make_socket_message(socket_event::data, 1, 8, std::malloc(8))};
  box.push(late);
}

}  // namespace
}  // namespace starling
