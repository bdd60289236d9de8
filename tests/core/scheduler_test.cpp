// The scheduler alone, driven by a fake dispatcher instead of the node's services: the next
// slot's fairness, stealing from a worker stuck in one dispatch, wake-ups under many producers
// (run under TSan in CI), the polling role handed between workers, and a sleeper waking for a
// timer. Every wait is on a condition with a generous deadline, never on a duration.

#include "core/scheduler.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "../support/test_services.hpp"
#include "base/clock.hpp"

namespace starling {
namespace {

using testing::eventually;

constexpr auto generous = std::chrono::seconds(60);

/// Runs each message with the handler the test gives; fires one fake timer.
class fake_dispatcher final : public dispatcher {
 public:
  using handler_fn = std::function<void(context&, message&)>;

  explicit fake_dispatcher(handler_fn handler) : handler_(std::move(handler)) {}

  void dispatch(context& target, message& msg) override { handler_(target, msg); }
  void between_batches() override {
    if (monotonic_ns() >= deadline_.load()) fired_.store(true);
  }
  void after_wait() override { between_batches(); }
  [[nodiscard]] std::uint64_t next_timer_deadline() const override {
    return fired_.load() ? UINT64_MAX : deadline_.load();
  }

  /// A "timer" due at `at`: between_batches fires it, a sleeping worker must wake for it.
  void set_deadline(std::uint64_t at) { deadline_.store(at); }
  [[nodiscard]] bool fired() const { return fired_.load(); }

 private:
  handler_fn handler_;
  std::atomic<std::uint64_t> deadline_{UINT64_MAX};
  std::atomic<bool> fired_{false};
};

/// Contexts need a node to belong to; this one is never started and dispatches nothing.
class owner_node {
 public:
  owner_node() : runtime_(node_options{.threads = 1}, modules_, env_) {}

  /// A service with an empty mailbox, ready to be scheduled by its first message.
  std::shared_ptr<context> make(handle_t h) {
    auto ctx = std::make_shared<context>(
        runtime_, std::make_unique<testing::lambda_service>(nullptr, nullptr), "fake", "");
    ctx->set_handle(h);
    ctx->inbox().activate();
    return ctx;
  }

 private:
  module_registry modules_;
  environment env_;
  node runtime_;
};

/// Pushes a message (its session carries `tag`) to `target` and schedules it if it was idle,
/// as the node's deliver does.
void send(scheduler& sched, context& target, std::int32_t tag = 0) {
  message msg{0, tag, ptype::text, {}};
  if (target.inbox().push(msg).result == mailbox::push_result::schedule) {
    sched.schedule(target.shared_from_this());
  }
}

/// Blocks the calling dispatch until `done` holds (or a generous deadline passes).
struct latch {
  std::mutex mutex;
  std::condition_variable cv;
  bool done = false;
  void open() {
    std::lock_guard lock(mutex);
    done = true;
    cv.notify_all();
  }
  bool wait() {
    std::unique_lock lock(mutex);
    return cv.wait_for(lock, generous, [this] { return done; });
  }
};

/// One worker, and two services in conversation in its next slot: each message to one sends
/// the next to the other until `stop`. Messages to any other service go to `others`.
class conversation {
 public:
  explicit conversation(std::function<void(conversation&, context&)> others)
      : fake_([this, others = std::move(others)](context& target, message&) {
          if (&target != a_.get() && &target != b_.get()) {
            others(*this, target);
            return;
          }
          volleys_.fetch_add(1);
          if (!stopping_.load()) send(workers_, &target == a_.get() ? *b_ : *a_);
        }) {}
  conversation(const conversation&) = delete;
  conversation& operator=(const conversation&) = delete;
  ~conversation() { workers_.stop(); }

  /// Another service, for the shared queue.
  std::shared_ptr<context> make(handle_t h) { return owner_.make(h); }
  /// Starts the worker and the conversation; true once it has gone back and forth 1,000 times.
  [[nodiscard]] bool start() {
    workers_.start();
    send(workers_, *a_);
    return eventually([&] { return volleys_.load() > 1000; }, generous);
  }
  /// The conversation's messages so far.
  [[nodiscard]] int volleys() const { return volleys_.load(); }
  /// The next message of the conversation is its last.
  void stop() { stopping_.store(true); }
  [[nodiscard]] scheduler& workers() { return workers_; }

 private:
  owner_node owner_;
  std::shared_ptr<context> a_ = owner_.make(1);
  std::shared_ptr<context> b_ = owner_.make(2);
  std::atomic<int> volleys_{0};
  std::atomic<bool> stopping_{false};
  fake_dispatcher fake_;
  scheduler workers_{1, fake_};
};

TEST(scheduler, ping_pong_pair_cannot_starve_a_third_service) {
  // The pair keeps the worker's next slot full, so only the fairness period lets the service
  // in the shared queue run.
  std::atomic<bool> third_ran{false};
  conversation pair([&](conversation& self, context&) {
    third_ran.store(true);
    self.stop();
  });
  auto c = pair.make(3);
  ASSERT_TRUE(pair.start());
  send(pair.workers(), *c);
  EXPECT_TRUE(eventually([&] { return third_ran.load(); }, generous));
}

TEST(scheduler, the_shared_queue_and_a_conversation_take_turns_of_equal_length) {
  // Backlogs for two services in the shared queue beside the pair: the queue's turns last as
  // many batches as the slot's, so the pair runs about as many messages as the backlogs
  // meanwhile. One batch in nine for the queue, as it had been, let the pair run eight times
  // the backlogs; a queue that never empties must not keep the pair from running either.
  constexpr int backlog = 1000;
  constexpr int queued = 2 * backlog;
  latch all_queued;
  std::atomic<int> served{0};
  std::atomic<int> volleys_at_first{0};
  std::atomic<int> volleys_at_last{0};
  conversation pair([&](conversation& self, context&) {
    const int n = served.fetch_add(1) + 1;
    if (n == 1) {
      (void)all_queued.wait();  // both backlogs are queued before the count starts
      volleys_at_first.store(self.volleys());
    }
    if (n == queued) {
      volleys_at_last.store(self.volleys());
      self.stop();
    }
  });
  auto c = pair.make(3);
  auto d = pair.make(4);
  ASSERT_TRUE(pair.start());
  for (int i = 0; i < backlog; ++i) {
    send(pair.workers(), *c);
    send(pair.workers(), *d);
  }
  all_queued.open();
  ASSERT_TRUE(eventually([&] { return served.load() == queued; }, generous));
  const int pair_meanwhile = volleys_at_last.load() - volleys_at_first.load();
  EXPECT_LE(pair_meanwhile, 2 * queued) << "the queue's turns are too short";
  EXPECT_GE(pair_meanwhile, queued / 4) << "the queue's turns keep the pair waiting";
}

TEST(scheduler, a_next_slot_behind_a_long_dispatch_is_stolen) {
  owner_node owner;
  auto stuck = owner.make(1);
  auto waiting = owner.make(2);
  latch ran;
  std::atomic<bool> ran_while_stuck{false};
  std::thread::id stuck_thread;
  std::thread::id thief_thread;
  scheduler* sched = nullptr;
  fake_dispatcher fake([&](context& target, message&) {
    if (&target == stuck.get()) {
      stuck_thread = std::this_thread::get_id();
      // Made runnable by this dispatch: it waits in this worker's next slot.
      send(*sched, *waiting);
      ran_while_stuck.store(ran.wait());
      return;
    }
    thief_thread = std::this_thread::get_id();
    ran.open();
  });
  scheduler s(2, fake);
  sched = &s;
  s.start();
  send(s, *stuck);
  ASSERT_TRUE(eventually([&] { return ran_while_stuck.load(); }, generous));
  s.stop();
  EXPECT_NE(stuck_thread, thief_thread);
}

TEST(scheduler, no_wake_up_is_lost_under_many_producers) {
  constexpr int services = 16;
  constexpr int producers = 4;
  constexpr int per_producer = 2000;
  constexpr int hops = 3;  // each message is passed on this many times between services
  owner_node owner;
  std::vector<std::shared_ptr<context>> all;
  for (int i = 0; i < services; ++i)
    all.push_back(owner.make(static_cast<handle_t>(i + 1)));
  std::atomic<int> dispatched{0};
  scheduler* sched = nullptr;
  fake_dispatcher fake([&](context& target, message& msg) {
    dispatched.fetch_add(1);
    if (msg.session > 0) {
      const auto next = static_cast<std::size_t>(target.handle()) % services;
      send(*sched, *all[next], msg.session - 1);
    }
  });
  scheduler s(3, fake);
  sched = &s;
  s.start();

  // Bursts from several threads at once, with pauses that let the workers fall asleep.
  std::vector<std::thread> threads;
  for (int p = 0; p < producers; ++p) {
    threads.emplace_back([&, p] {
      for (int i = 0; i < per_producer; ++i) {
        send(s, *all[static_cast<std::size_t>((p * 7 + i) % services)], hops);
        if (i % 97 == 0) std::this_thread::sleep_for(std::chrono::microseconds(300));
      }
    });
  }
  for (std::thread& t : threads)
    t.join();
  constexpr int burst_total = producers * per_producer * (hops + 1);
  ASSERT_TRUE(eventually([&] { return dispatched.load() == burst_total; }, generous))
      << dispatched.load() << " of " << burst_total;

  // One message at a time, after a pause that lets the workers go back to waiting: each must
  // wake one (a lost wake-up leaves the message unserved).
  for (int round = 0; round < 200; ++round) {
    const int expected = dispatched.load() + 1;
    std::this_thread::sleep_for(std::chrono::microseconds(round % 5 * 200));
    send(s, *all[static_cast<std::size_t>(round % services)]);
    ASSERT_TRUE(eventually([&] { return dispatched.load() == expected; }, generous))
        << "round " << round;
  }
  s.stop();
  EXPECT_EQ(dispatched.load(), burst_total + 200);
}

TEST(scheduler, a_sleeping_worker_wakes_for_the_next_timer) {
  owner_node owner;
  fake_dispatcher fake([](context&, message&) {});
  scheduler s(2, fake);
  fake.set_deadline(monotonic_ns() + 20'000'000);
  s.start();
  // Nothing else runs: only a worker that waits with the timer's deadline calls
  // between_batches once it has passed.
  EXPECT_TRUE(eventually([&] { return fake.fired(); }, generous));
  s.stop();
}

TEST(scheduler, the_watch_covers_only_deadlines_the_watcher_wakes_for) {
  owner_node owner;
  fake_dispatcher fake([](context&, message&) {});
  scheduler s(2, fake);
  const std::uint64_t later = monotonic_ns() + 600'000'000'000;  // never reached by the test
  fake.set_deadline(later);
  s.start();
  ASSERT_TRUE(eventually([&] { return s.waiting() == 2 && s.timers_covered(later); }, generous));
  // A timer added now for an earlier deadline: the watcher planned its wait before it, so the
  // timer thread must not leave it to the workers (node::timeout's timer fires it instead).
  EXPECT_FALSE(s.timers_covered(later - 1'000'000));
  s.stop();
}

/// "Packets" are services injected by the test; a poll delivers them as the socket server
/// delivers its events, from the polling worker's thread.
class fake_poller final : public io_poller {
 public:
  explicit fake_poller(scheduler*& sched) : sched_(sched) {}

  bool poll(std::uint64_t deadline_ns) override {
    if (inside_.exchange(true)) overlaps_.fetch_add(1);
    std::deque<context*> ready;
    {
      std::unique_lock lock(mutex_);
      auto woken = [this] { return interrupted_ || !packets_.empty(); };
      if (deadline_ns == UINT64_MAX) {
        cv_.wait(lock, woken);
      } else if (deadline_ns != 0) {
        cv_.wait_until(lock,
                       std::chrono::steady_clock::time_point(std::chrono::nanoseconds(deadline_ns)),
                       woken);
      }
      interrupted_ = false;
      ready.swap(packets_);
    }
    if (!ready.empty()) {
      std::lock_guard lock(mutex_);
      readers_.push_back(std::this_thread::get_id());
    }
    for (context* target : ready)
      send(*sched_, *target);
    inside_.store(false);
    return !ready.empty();
  }

  void interrupt() noexcept override {
    std::lock_guard lock(mutex_);
    interrupted_ = true;
    cv_.notify_all();
  }

  void inject(context& target) {
    std::lock_guard lock(mutex_);
    packets_.push_back(&target);
    cv_.notify_all();
  }

  [[nodiscard]] bool inside() const { return inside_.load(); }
  [[nodiscard]] int overlaps() const { return overlaps_.load(); }
  /// The threads of the polls that read a packet, in order.
  [[nodiscard]] std::vector<std::thread::id> readers() {
    std::lock_guard lock(mutex_);
    return readers_;
  }

 private:
  scheduler*& sched_;
  std::mutex mutex_;
  std::condition_variable cv_;
  std::deque<context*> packets_;
  bool interrupted_ = false;
  std::vector<std::thread::id> readers_;
  std::atomic<bool> inside_{false};
  std::atomic<int> overlaps_{0};
};

TEST(scheduler, the_polling_role_passes_to_another_worker_during_a_long_dispatch) {
  owner_node owner;
  auto first = owner.make(1);
  auto second = owner.make(2);
  scheduler* sched = nullptr;
  fake_poller poller(sched);
  latch second_ran;
  std::atomic<bool> ran_during_first{false};
  std::thread::id first_thread;
  std::thread::id second_thread;
  fake_dispatcher fake([&](context& target, message&) {
    if (&target == first.get()) {
      first_thread = std::this_thread::get_id();
      // The worker that read this packet is busy until another worker reads the next one;
      // that one has stopped spinning (which polls too) and sleeps, so it must take the lead.
      EXPECT_TRUE(eventually([&] { return sched->waiting() == 1; }, generous));
      poller.inject(*second);
      ran_during_first.store(second_ran.wait());
      return;
    }
    second_thread = std::this_thread::get_id();
    second_ran.open();
  });
  scheduler s(2, fake);
  sched = &s;
  s.start();
  s.set_poller(&poller);
  // One worker leads, blocked in the poller; the other sleeps.
  ASSERT_TRUE(eventually([&] { return s.waiting() == 2; }, generous));
  poller.inject(*first);
  ASSERT_TRUE(eventually([&] { return ran_during_first.load(); }, generous));
  // The second packet was read by another worker, which then ran what it made runnable.
  const std::vector<std::thread::id> readers = poller.readers();
  ASSERT_EQ(readers.size(), 2U);
  EXPECT_NE(readers[1], first_thread);
  EXPECT_EQ(readers[1], second_thread);
  EXPECT_EQ(poller.overlaps(), 0);
  s.set_poller(nullptr);
  EXPECT_FALSE(poller.inside());
  s.stop();
}

TEST(scheduler, the_poller_lead_is_exclusive) {
  owner_node owner;
  auto target = owner.make(1);
  scheduler* sched = nullptr;
  fake_poller poller(sched);
  std::atomic<int> served{0};
  fake_dispatcher fake([&](context&, message&) { served.fetch_add(1); });
  scheduler s(3, fake);
  sched = &s;
  s.start();
  s.set_poller(&poller);
  for (int i = 0; i < 200; ++i) {
    poller.inject(*target);
    bool alone = false;
    s.with_poller_lead([&] { alone = !poller.inside(); });
    EXPECT_TRUE(alone) << "round " << i;
  }
  EXPECT_TRUE(eventually([&] { return served.load() >= 1; }, generous));
  s.set_poller(nullptr);
  EXPECT_FALSE(poller.inside());
  EXPECT_EQ(poller.overlaps(), 0);
  s.stop();
}

}  // namespace
}  // namespace starling
