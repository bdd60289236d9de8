#include "core/cpu_meter.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <cstdint>
#include <memory>
#include <thread>
#include <vector>

#include "../support/test_services.hpp"
#include "base/clock.hpp"
#include "core/node.hpp"

namespace starling {
namespace {

using testing::lambda_service;

// Burns about `ns` of this thread's CPU.
void burn(std::uint64_t ns) {
  const std::uint64_t until = thread_cpu_ns() + ns;
  volatile std::uint64_t x = 0;
  while (thread_cpu_ns() < until) {
    for (int i = 0; i < 1000; ++i)
      x = x + static_cast<std::uint64_t>(i);
  }
}

// Contexts to charge: services of a node without profiling, so only this thread's meter
// (the test's own) charges them.
class cpu_meter_test : public ::testing::Test {
 protected:
  cpu_meter_test() {
    modules.add("idle", [] { return std::make_unique<lambda_service>(nullptr, nullptr); });
    node_options options;
    options.profile = false;
    fixture = std::make_unique<testing::node_fixture>(modules, options);
  }
  std::shared_ptr<context> spawn() {
    return fixture->runtime->grab(fixture->runtime->launch("idle", ""));
  }
  module_registry modules;
  std::unique_ptr<testing::node_fixture> fixture;
};

TEST_F(cpu_meter_test, shares_the_thread_cpu_by_ticks_and_adds_up_to_it) {
  auto a = spawn();
  auto b = spawn();
  cpu_meter meter;
  const std::uint64_t cpu0 = thread_cpu_ns();
  for (int round = 0; round < 200; ++round) {
    std::uint64_t start = meter.begin();
    burn(100'000);
    meter.charge(*a, start);
    start = meter.begin();
    burn(300'000);
    meter.charge(*b, start);
  }
  meter.settle();
  const double spent = static_cast<double>(thread_cpu_ns() - cpu0);
  const double charged = static_cast<double>(a->cpu_ns() + b->cpu_ns());
  EXPECT_LE(charged, spent * 1.01);
  EXPECT_GE(charged, spent * 0.9);
  // Shared by ticks, which count the time the thread was preempted too: on a loaded machine
  // the split follows the wall clock, so only its direction is certain.
  EXPECT_GT(b->cpu_ns(), a->cpu_ns());
}

TEST_F(cpu_meter_test, settles_by_itself_every_window_of_messages) {
  auto a = spawn();
  cpu_meter meter;
  for (unsigned i = 0; i + 1 < cpu_meter::window_messages; ++i) {
    const std::uint64_t start = meter.begin();
    burn(10'000);
    meter.charge(*a, start);
  }
  EXPECT_EQ(a->cpu_ns(), 0U) << "nothing is charged inside a window";
  const std::uint64_t start = meter.begin();
  burn(10'000);
  meter.charge(*a, start);
  EXPECT_GT(a->cpu_ns(), 0U) << "the window's last message settles it";
}

TEST_F(cpu_meter_test, more_services_than_entries_settle_early_and_lose_nothing) {
  std::vector<std::shared_ptr<context>> services;
  for (int i = 0; i < 20; ++i)
    services.push_back(spawn());
  cpu_meter meter;
  for (auto& s : services) {
    const std::uint64_t start = meter.begin();
    burn(200'000);
    meter.charge(*s, start);
  }
  meter.settle();
  for (auto& s : services)
    EXPECT_GT(s->cpu_ns(), 0U);
}

TEST_F(cpu_meter_test, a_wait_between_pause_and_resume_is_charged_to_no_one) {
  auto a = spawn();
  cpu_meter meter;
  std::uint64_t start = meter.begin();
  burn(1'000'000);
  meter.charge(*a, start);
  meter.pause();
  const std::uint64_t before = a->cpu_ns();
  EXPECT_GT(before, 0U) << "pause settles";
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  meter.resume();
  start = meter.begin();
  burn(1'000'000);
  meter.charge(*a, start);
  meter.settle();
  // 2 ms of CPU in all: the 50 ms asleep would have tripled it.
  EXPECT_LT(a->cpu_ns(), 4'000'000U);
}

TEST_F(cpu_meter_test, a_service_outlives_its_window_while_charged) {
  std::weak_ptr<context> gone;
  cpu_meter meter;
  {
    auto a = spawn();
    gone = a;
    const std::uint64_t start = meter.begin();
    meter.charge(*a, start);
    fixture->runtime->kill(0, a->handle());
  }
  // The meter's reference keeps the context until the window settles.
  EXPECT_FALSE(gone.expired());
  meter.settle();
  EXPECT_TRUE(testing::eventually([&] { return gone.expired(); }));
}

TEST_F(cpu_meter_test, elapsed_is_the_time_since_begin) {
  cpu_meter meter;
  const std::uint64_t start = meter.begin();
  const std::uint64_t t0 = monotonic_ns();
  burn(2'000'000);
  const std::uint64_t wall = monotonic_ns() - t0;
  const std::uint64_t elapsed = meter.elapsed_ns(start);
  EXPECT_GE(elapsed, wall * 9 / 10);
  EXPECT_LE(elapsed, wall * 11 / 10 + 100'000);
}

}  // namespace
}  // namespace starling
