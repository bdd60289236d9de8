// Idle workers polling an io_poller (leader/follower), with a fake poller instead of sockets:
// "packets" are handles injected by the test, delivered from inside poll as the socket server
// delivers its events.

#include "core/io_poller.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <mutex>
#include <string>

#include "../support/test_services.hpp"
#include "base/clock.hpp"

namespace starling {
namespace {

using testing::eventually;

class fake_poller final : public io_poller {
 public:
  explicit fake_poller(node& runtime) : runtime_(runtime) {}

  bool poll(std::uint64_t deadline_ns) override {
    if (inside_.exchange(true)) overlaps_.fetch_add(1);
    polls_.fetch_add(1);
    if (deadline_ns != 0 && deadline_ns != UINT64_MAX) finite_deadlines_.fetch_add(1);
    std::deque<handle_t> ready;
    {
      std::unique_lock lock(mutex_);
      blocked_ = deadline_ns != 0;
      auto woken = [this] { return interrupted_ || !packets_.empty(); };
      if (deadline_ns == UINT64_MAX) {
        cv_.wait(lock, woken);
      } else if (deadline_ns != 0) {
        cv_.wait_until(lock,
                       std::chrono::steady_clock::time_point(std::chrono::nanoseconds(deadline_ns)),
                       woken);
      }
      blocked_ = false;
      interrupted_ = false;
      ready.swap(packets_);
    }
    for (handle_t target : ready)
      runtime_.send(0, target, ptype::text, 0, payload::copy_of(std::string("packet")));
    inside_.store(false);
    return !ready.empty();
  }

  [[nodiscard]] std::uint64_t deadline() const noexcept override { return deadline_.load(); }
  /// What `deadline` answers from now on.
  void set_deadline(std::uint64_t at) { deadline_.store(at); }

  void interrupt() noexcept override {
    std::lock_guard lock(mutex_);
    interrupted_ = true;
    interrupts_.fetch_add(1);
    cv_.notify_all();
  }

  /// A "packet" for `target`, read by the next poll.
  void inject(handle_t target) {
    std::lock_guard lock(mutex_);
    packets_.push_back(target);
    cv_.notify_all();
  }

  [[nodiscard]] bool blocked() {
    std::lock_guard lock(mutex_);
    return blocked_;
  }
  [[nodiscard]] bool inside() const { return inside_.load(); }
  [[nodiscard]] int polls() const { return polls_.load(); }
  [[nodiscard]] int overlaps() const { return overlaps_.load(); }
  [[nodiscard]] int interrupts() const { return interrupts_.load(); }
  [[nodiscard]] int finite_deadlines() const { return finite_deadlines_.load(); }

 private:
  node& runtime_;
  std::mutex mutex_;
  std::condition_variable cv_;
  std::deque<handle_t> packets_;  // guarded by mutex_
  bool interrupted_ = false;      // guarded by mutex_
  bool blocked_ = false;          // guarded by mutex_
  std::atomic<bool> inside_{false};
  std::atomic<int> polls_{0};
  std::atomic<int> overlaps_{0};
  std::atomic<int> interrupts_{0};
  std::atomic<int> finite_deadlines_{0};
  std::atomic<std::uint64_t> deadline_{UINT64_MAX};
};

/// Counts the text messages each service receives.
struct counter {
  std::atomic<int> received{0};
};

class io_poller_test : public ::testing::Test {
 protected:
  void start(int threads) {
    node_options options;
    options.threads = threads;
    modules.add("count", [this] {
      return std::make_unique<testing::lambda_service>(nullptr, [this](context&, message& msg) {
        if (msg.type == ptype::text) counted.received.fetch_add(1);
      });
    });
    modules.add("block", [this] {
      return std::make_unique<testing::lambda_service>(nullptr, [this](context&, message&) {
        blocking.store(true);
        while (!release.load())
          std::this_thread::yield();
        blocking.store(false);
      });
    });
    f = std::make_unique<testing::node_fixture>(modules, options);
    poller = std::make_unique<fake_poller>(*f->runtime);
    f->runtime->set_io_poller(poller.get());
    target = f->runtime->launch("count", "");
  }
  void TearDown() override {
    release.store(true);
    if (f) f->runtime->set_io_poller(nullptr);
  }

  module_registry modules;
  counter counted;
  std::atomic<bool> blocking{false};
  std::atomic<bool> release{false};
  std::unique_ptr<testing::node_fixture> f;
  std::unique_ptr<fake_poller> poller;
  handle_t target = 0;
};

TEST_F(io_poller_test, an_idle_worker_polls_and_runs_what_a_packet_brings) {
  start(1);
  ASSERT_TRUE(eventually([&] { return poller->blocked(); }));
  for (int i = 0; i < 100; ++i)
    poller->inject(target);
  EXPECT_TRUE(eventually([&] { return counted.received.load() == 100; }));
  EXPECT_EQ(poller->overlaps(), 0);
}

TEST_F(io_poller_test, a_send_from_another_thread_interrupts_the_waiting_leader) {
  // One worker, waiting in the poller: only an interrupt can get the message run.
  start(1);
  ASSERT_TRUE(eventually([&] { return poller->blocked(); }));
  for (int i = 0; i < 50; ++i) {
    f->runtime->send(0, target, ptype::text, 0, payload::copy_of(std::string("push")));
    ASSERT_TRUE(eventually([&] { return counted.received.load() == i + 1; }));
  }
  EXPECT_GT(poller->interrupts(), 0);
}

TEST_F(io_poller_test, the_leader_waits_no_longer_than_the_next_timer) {
  start(1);
  ASSERT_TRUE(eventually([&] { return poller->blocked(); }));
  // A leader already waiting leaves a new timer to the timer thread; the next wait, after the
  // packet, must end by the timer's deadline.
  f->runtime->timeout(target, 3000, 7);
  poller->inject(target);
  ASSERT_TRUE(eventually([&] { return counted.received.load() == 1; }));
  EXPECT_TRUE(eventually([&] { return poller->finite_deadlines() > 0; }));
}

TEST_F(io_poller_test, the_leader_waits_no_longer_than_the_pollers_own_deadline) {
  start(1);
  ASSERT_TRUE(eventually([&] { return poller->blocked(); }));
  // A throttled socket's next look: the wait must end then, with no interrupt and no timer.
  poller->set_deadline(monotonic_ns() + 20'000'000);
  poller->inject(target);  // the wait under way ends; the next one uses the deadline
  ASSERT_TRUE(eventually([&] { return counted.received.load() == 1; }));
  const int interrupts = poller->interrupts();  // delivering the packet may interrupt
  EXPECT_TRUE(eventually([&] { return poller->finite_deadlines() > 0; }));
  const int polls = poller->polls();
  poller->set_deadline(UINT64_MAX);
  EXPECT_TRUE(eventually([&] { return poller->polls() > polls; })) << "it came back by itself";
  EXPECT_EQ(poller->interrupts(), interrupts);
}

TEST_F(io_poller_test, polls_never_overlap_and_with_io_lead_excludes_them) {
  start(2);
  std::atomic<bool> done{false};
  std::thread feeder([&] {
    for (int i = 0; i < 2000; ++i) {
      poller->inject(target);
      if (i % 2 == 0) {
        f->runtime->send(0, target, ptype::text, 0, payload::copy_of(std::string("push")));
      }
    }
    done.store(true);
  });
  int exclusive_violations = 0;
  while (!done.load()) {
    f->runtime->with_io_lead([&] { exclusive_violations += poller->inside() ? 1 : 0; });
  }
  feeder.join();
  EXPECT_TRUE(eventually([&] { return counted.received.load() == 3000; }));
  EXPECT_EQ(exclusive_violations, 0);
  EXPECT_EQ(poller->overlaps(), 0);
}

TEST_F(io_poller_test, a_long_dispatch_does_not_hold_packets_while_a_worker_is_idle) {
  start(2);
  const handle_t busy = f->runtime->launch("block", "");
  f->runtime->send(0, busy, ptype::text, 0, payload::copy_of(std::string("work")));
  ASSERT_TRUE(eventually([&] { return blocking.load(); }));
  // One worker is stuck until `release`; the other must take the lead and run the packet.
  poller->inject(target);
  EXPECT_TRUE(eventually([&] { return counted.received.load() == 1; }));
  EXPECT_TRUE(blocking.load());
  release.store(true);
}

TEST_F(io_poller_test, detaching_waits_for_the_poll_in_progress) {
  start(2);
  ASSERT_TRUE(eventually([&] { return poller->blocked(); }));
  f->runtime->set_io_poller(nullptr);
  EXPECT_FALSE(poller->inside());
  const int polls = poller->polls();
  // Work still runs, on workers that no longer poll.
  f->runtime->send(0, target, ptype::text, 0, payload::copy_of(std::string("push")));
  EXPECT_TRUE(eventually([&] { return counted.received.load() == 1; }));
  EXPECT_EQ(poller->polls(), polls);
}

}  // namespace
}  // namespace starling
