// memory_trimmer: when it trims (after a watched mailbox drains, or on request) and when it
// does not (an idle node, a mailbox still long), with a fake length and a counting trim.

#include "core/memory_trimmer.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <map>
#include <mutex>
#include <optional>
#include <thread>

#include "../support/test_services.hpp"

namespace starling {
namespace {

using namespace std::chrono_literals;
using testing::eventually;

class memory_trimmer_test : public ::testing::Test {
 protected:
  void set_length(handle_t service, std::optional<std::size_t> length) {
    std::lock_guard lock(mutex_);
    lengths_[service] = length;
  }

  memory_trimmer make(std::chrono::milliseconds interval = 5ms) {
    return memory_trimmer(
        [this](handle_t service) {
          std::lock_guard lock(mutex_);
          return lengths_[service];
        },
        [this] { trims.fetch_add(1); }, interval);
  }

  std::atomic<int> trims{0};

 private:
  std::mutex mutex_;
  std::map<handle_t, std::optional<std::size_t>> lengths_;
};

TEST_F(memory_trimmer_test, trims_once_a_watched_mailbox_has_drained) {
  memory_trimmer trimmer = make();
  set_length(1, 5000);
  trimmer.watch(1);
  std::this_thread::sleep_for(50ms);  // several looks: still long, no trim
  EXPECT_EQ(trims.load(), 0);
  set_length(1, 1023);
  ASSERT_TRUE(eventually([&] { return trims.load() == 1; }));
  std::this_thread::sleep_for(50ms);
  EXPECT_EQ(trims.load(), 1) << "once per drain, then it forgets the service";
}

TEST_F(memory_trimmer_test, a_watched_service_that_is_gone_counts_as_drained) {
  memory_trimmer trimmer = make();
  set_length(7, std::nullopt);
  trimmer.watch(7);
  EXPECT_TRUE(eventually([&] { return trims.load() == 1; }));
}

TEST_F(memory_trimmer_test, a_request_trims_and_several_make_one_trim_per_interval) {
  memory_trimmer trimmer = make(200ms);
  for (int i = 0; i < 10; ++i)
    trimmer.request();
  ASSERT_TRUE(eventually([&] { return trims.load() == 1; }));
  std::this_thread::sleep_for(300ms);
  EXPECT_EQ(trims.load(), 1);
}

TEST_F(memory_trimmer_test, nothing_to_do_nothing_trimmed_and_stop_is_prompt) {
  memory_trimmer trimmer = make(std::chrono::hours(1));
  std::this_thread::sleep_for(20ms);
  EXPECT_EQ(trims.load(), 0);
  const auto before = std::chrono::steady_clock::now();
  trimmer.request();  // the thread now waits its (hour-long) interval
  trimmer.stop();
  EXPECT_LT(std::chrono::steady_clock::now() - before, 10s) << "stop does not wait the interval";
  EXPECT_EQ(trims.load(), 0);
}

TEST(memory_trimmer, node_watches_an_overloaded_mailbox) {
  // The real trimmer of a node: an overload warning makes it watch the service; once the
  // service has drained, malloc_trim runs (nothing to observe but that the node goes on).
  module_registry modules;
  std::atomic<int> handled{0};
  modules.add("sink", [&] {
    return std::make_unique<testing::lambda_service>(
        nullptr, [&](context&, message&) { handled.fetch_add(1); });
  });
  testing::node_fixture f(modules);
  const handle_t sink = f.runtime->launch("sink", "");
  for (int i = 0; i < 20000; ++i)
    f.runtime->send(0, sink, ptype::lua, 0, {});
  EXPECT_TRUE(eventually([&] { return handled.load() == 20000; }));
  f.runtime->release_memory_soon();
}

}  // namespace
}  // namespace starling
