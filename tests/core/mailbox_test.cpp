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

/// Pushes messages with sessions first..last, in order.
void push_sessions(mailbox& box, std::int32_t first, std::int32_t last) {
  for (std::int32_t i = first; i <= last; ++i) {
    message m = numbered(i);
    box.push(m);
  }
}

TEST(mailbox, schedules_once_after_activation) {
  mailbox box;
  message m = numbered(1);
  EXPECT_EQ(box.push(m).result, mailbox::push_result::queued) << "not schedulable before init ends";
  EXPECT_TRUE(box.activate()) << "a message arrived during init";
  m = numbered(2);
  EXPECT_EQ(box.push(m).result, mailbox::push_result::queued);
}

TEST(mailbox, empty_pop_takes_it_out_of_the_run_queue) {
  mailbox box;
  EXPECT_FALSE(box.activate());
  message m = numbered(1);
  EXPECT_EQ(box.push(m).result, mailbox::push_result::schedule);
  m = numbered(2);
  EXPECT_EQ(box.push(m).result, mailbox::push_result::queued);
  message out;
  std::size_t remaining = 0;
  ASSERT_TRUE(box.pop(out, remaining));
  EXPECT_EQ(out.session, 1);
  EXPECT_EQ(remaining, 1U);
  ASSERT_TRUE(box.pop(out, remaining));
  EXPECT_EQ(out.session, 2);
  EXPECT_FALSE(box.pop(out, remaining));
  m = numbered(3);
  EXPECT_EQ(box.push(m).result, mailbox::push_result::schedule);
}

TEST(mailbox, fifo_across_growth) {
  mailbox box;
  (void)box.activate();
  push_sessions(box, 0, 999);
  message out;
  std::size_t remaining = 0;
  for (int i = 0; i < 1000; ++i) {
    ASSERT_TRUE(box.pop(out, remaining));
    ASSERT_EQ(out.session, i);
  }
}

TEST(mailbox, overload_is_reported_by_the_push_that_crosses_each_threshold) {
  mailbox box;
  (void)box.activate();
  auto burst = [&] {
    std::vector<std::size_t> warnings;
    for (int i = 0; i < 5000; ++i) {
      message m = numbered(i);
      if (const auto out = box.push(m); out.overload != 0) warnings.push_back(out.overload);
    }
    message out;
    std::size_t remaining = 0;
    while (box.pop(out, remaining)) {
    }
    return warnings;
  };
  const std::vector<std::size_t> expected{1025, 2049, 4097};
  EXPECT_EQ(burst(), expected) << "past 1024, then each time the length doubles (skynet's)";
  EXPECT_EQ(burst(), expected) << "a second burst after draining warns again";
}

TEST(mailbox, overload_counts_the_batch_the_worker_holds) {
  mailbox box;
  (void)box.activate();
  push_sessions(box, 0, 999);
  message out;
  std::size_t remaining = 0;
  ASSERT_TRUE(box.pop(out, remaining));  // 999 left in the worker's batch
  std::size_t reported = 0;
  for (int i = 0; i < 1025 && reported == 0; ++i) {
    message m = numbered(i);
    reported = box.push(m).overload;
  }
  EXPECT_EQ(reported, 999U + 1025U) << "the senders' queue crossed 1024; the length is the whole";
}

TEST(mailbox, limit_refuses_requests_but_not_replies_errors_or_socket_events) {
  mailbox box;
  (void)box.activate();
  box.set_limit(3);
  for (int i = 0; i < 3; ++i) {
    message m = numbered(i);
    ASSERT_NE(box.push(m).result, mailbox::push_result::full);
  }
  message refused = numbered(3);
  auto out = box.push(refused);
  EXPECT_EQ(out.result, mailbox::push_result::full);
  EXPECT_EQ(out.refused, 1U);
  EXPECT_EQ(refused.session, 3) << "a refused message stays with the caller";
  message text{1, 0, ptype::text, {}};
  EXPECT_EQ(box.push(text).refused, 2U) << "any request type counts";
  for (ptype kept : {ptype::response, ptype::error, ptype::socket}) {
    message m{1, 9, kept, {}};
    EXPECT_EQ(box.push(m).result, mailbox::push_result::queued);
  }
  EXPECT_EQ(box.size(), 6U);
  message taken;
  std::size_t remaining = 0;
  ASSERT_TRUE(box.pop(taken, remaining));  // the worker's batch counts too: 5 left
  message again = numbered(4);
  EXPECT_EQ(box.push(again).result, mailbox::push_result::full);
  while (box.pop(taken, remaining)) {
  }
  message after = numbered(5);
  out = box.push(after);
  EXPECT_EQ(out.result, mailbox::push_result::schedule) << "drained: requests are taken again";
  box.set_limit(1);
  message over = numbered(6);
  EXPECT_EQ(box.push(over).refused, 1U) << "the count starts again after the mailbox emptied";
  box.set_limit(0);
  EXPECT_EQ(box.push(over).result, mailbox::push_result::queued) << "0 lifts the limit";
}

TEST(mailbox, length_hint_follows_the_queue_and_the_batch) {
  mailbox box;
  (void)box.activate();
  EXPECT_EQ(box.length_hint(), 0U);
  push_sessions(box, 0, 9);
  EXPECT_EQ(box.length_hint(), 10U);
  message out;
  std::size_t remaining = 0;
  ASSERT_TRUE(box.pop(out, remaining));
  message m = numbered(10);
  box.push(m);
  EXPECT_EQ(box.length_hint(), 10U) << "nine in the batch, one queued";
  while (box.pop(out, remaining)) {
  }
  EXPECT_EQ(box.length_hint(), 0U);
  box.push(m = numbered(11));
  (void)box.close();
  EXPECT_EQ(box.length_hint(), 0U) << "what close hands back is no longer queued";
}

TEST(mailbox, close_returns_queued_and_refuses_more) {
  mailbox box;
  (void)box.activate();
  message m = numbered(7);
  box.push(m);
  message_queue left = box.close();
  EXPECT_EQ(left.size(), 1U);
  m = numbered(8);
  EXPECT_EQ(box.push(m).result, mailbox::push_result::closed);
  EXPECT_EQ(m.session, 8) << "a refused message stays with the caller";
  EXPECT_EQ(box.size(), 0U);
}

TEST(mailbox, pushes_during_a_batch_follow_it) {
  mailbox box;
  (void)box.activate();
  push_sessions(box, 1, 3);
  message out;
  std::size_t remaining = 0;
  ASSERT_TRUE(box.pop(out, remaining));
  EXPECT_EQ(out.session, 1);
  EXPECT_EQ(remaining, 2U) << "the batch taken: what was queued then";
  message m = numbered(4);
  EXPECT_EQ(box.push(m).result, mailbox::push_result::queued);
  EXPECT_EQ(box.size(), 3U) << "the rest of the batch and the queue";
  for (int i = 2; i <= 4; ++i) {
    ASSERT_TRUE(box.pop(out, remaining));
    EXPECT_EQ(out.session, i);
  }
  EXPECT_FALSE(box.pop(out, remaining));
  EXPECT_EQ(box.size(), 0U);
}

TEST(mailbox, upcoming_shows_the_rest_of_the_batch_not_the_senders_queue) {
  mailbox box;
  (void)box.activate();
  push_sessions(box, 1, 3);
  EXPECT_EQ(box.upcoming(0), nullptr) << "no batch taken yet: the queue is the senders'";
  message out;
  std::size_t remaining = 0;
  ASSERT_TRUE(box.pop(out, remaining));
  message m = numbered(4);
  box.push(m);
  ASSERT_NE(box.upcoming(0), nullptr);
  EXPECT_EQ(box.upcoming(0)->session, 2);
  ASSERT_NE(box.upcoming(1), nullptr);
  EXPECT_EQ(box.upcoming(1)->session, 3);
  EXPECT_EQ(box.upcoming(2), nullptr) << "4 came after the batch was taken";
  for (int i = 2; i <= 4; ++i) {
    ASSERT_TRUE(box.pop(out, remaining));
    EXPECT_EQ(out.session, i) << "looking ahead took nothing";
  }
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
  for (int round = 0; round < 60; ++round) {
    const int burst = 1 + (round * 7) % 40;
    for (int i = 0; i < burst; ++i) {
      message m = numbered(sent++);
      box.push(m);
    }
    ASSERT_TRUE(box.pop(out, remaining));
    ASSERT_EQ(out.session, received++);
    for (int i = 0; i < round % 20; ++i) {  // arrive during the batch
      message m = numbered(sent++);
      box.push(m);
    }
    while (box.pop(out, remaining))
      ASSERT_EQ(out.session, received++);
    ASSERT_EQ(received, sent);
    EXPECT_EQ(box.size(), 0U);
  }
}

TEST(mailbox, close_during_a_batch_leaves_everything_to_the_worker_in_order) {
  mailbox box;
  (void)box.activate();
  push_sessions(box, 1, 3);
  message out;
  std::size_t remaining = 0;
  ASSERT_TRUE(box.pop(out, remaining));  // the batch is 1, 2, 3
  message m = numbered(4);
  box.push(m);
  EXPECT_EQ(box.close().size(), 0U) << "handing back 4 would answer it before 2 and 3";
  m = numbered(5);
  EXPECT_EQ(box.push(m).result, mailbox::push_result::closed);
  for (int i = 2; i <= 4; ++i) {
    ASSERT_TRUE(box.pop(out, remaining));
    EXPECT_EQ(out.session, i);
  }
  EXPECT_FALSE(box.pop(out, remaining));
}

TEST(mailbox, close_after_a_finished_batch_hands_back_the_queue) {
  mailbox box;
  (void)box.activate();
  message m = numbered(1);
  box.push(m);
  message out;
  std::size_t remaining = 0;
  ASSERT_TRUE(box.pop(out, remaining));  // a batch of one, now finished
  m = numbered(2);
  box.push(m);
  message_queue left = box.close();
  ASSERT_EQ(left.size(), 1U);
  ASSERT_TRUE(left.pop(out));
  EXPECT_EQ(out.session, 2);
  EXPECT_FALSE(box.pop(out, remaining));
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
        if (box.push(m).result == mailbox::push_result::schedule) schedules.fetch_add(1);
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
    if (!box.pop(out, remaining)) {
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
  EXPECT_FALSE(box.pop(out, remaining));
  message m = numbered(1);
  EXPECT_EQ(box.push(m).result, mailbox::push_result::schedule);
}

}  // namespace
}  // namespace starling

namespace starling {
namespace {

TEST(mailbox, release_if_empty_only_when_empty) {
  mailbox box;
  (void)box.activate();
  message m = numbered(1);
  ASSERT_EQ(box.push(m).result, mailbox::push_result::schedule);
  EXPECT_FALSE(box.release_if_empty()) << "a queued message keeps it scheduled";
  message out;
  std::size_t remaining = 0;
  ASSERT_TRUE(box.pop(out, remaining));
  EXPECT_TRUE(box.release_if_empty());
  m = numbered(2);
  EXPECT_EQ(box.push(m).result, mailbox::push_result::schedule)
      << "released: the next push schedules";
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
  ASSERT_TRUE(box.pop(first, remaining));  // the rest sits in the worker's batch
  release_socket_buffer(first);
  message late{0, 0, ptype::socket, make_socket_message(socket_event::data, 1, 8, std::malloc(8))};
  box.push(late);
}

}  // namespace
}  // namespace starling
