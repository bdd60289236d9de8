// Many services on every worker exchanging messages: each message must arrive exactly once,
// and in order for each sender/receiver pair. Runs under TSan in CI.

#include <gtest/gtest.h>

#include <array>
#include <atomic>
#include <cstring>
#include <vector>

#include "../support/test_services.hpp"

namespace starling {
namespace {

constexpr int service_count = 32;
constexpr int fan_out = 8;               // each service talks to the next 8
constexpr std::uint32_t per_pair = 400;  // messages per (sender, receiver) pair

struct wire {
  std::uint32_t sender;
  std::uint32_t sequence;
};

struct peer_state {
  // Touched only inside the owning service's dispatch; read after the node has stopped.
  std::array<std::uint32_t, service_count> next_expected{};
  std::uint32_t received = 0;
  std::uint32_t out_of_order = 0;
  std::uint32_t sent_rounds = 0;
};

TEST(stress, every_message_once_and_in_order_per_pair) {
  module_registry modules;
  std::vector<peer_state> states(service_count);
  std::vector<handle_t> handles(service_count);
  std::atomic<int> finished_receivers{0};
  std::atomic<int> next_index{0};

  modules.add("peer", [&] {
    const int index = next_index.fetch_add(1);
    return std::make_unique<testing::lambda_service>(
        nullptr, [&, index](context& self, message& m) {
          peer_state& st = states[static_cast<std::size_t>(index)];
          if (m.type == ptype::text) {
            // A tick: one message to each target, then tick again (so rounds interleave with
            // the traffic arriving from the other peers).
            for (int k = 1; k <= fan_out; ++k) {
              const auto target = static_cast<std::size_t>((index + k) % service_count);
              const wire w{static_cast<std::uint32_t>(index), st.sent_rounds};
              self.send(handles[target], ptype::lua, 0,
                        payload::copy_of(std::as_bytes(std::span(&w, 1))));
            }
            if (++st.sent_rounds < per_pair) self.send(self.handle(), ptype::text, 0, {});
            return;
          }
          wire w{};
          ASSERT_EQ(m.data.size(), sizeof w);
          std::memcpy(&w, m.data.data(), sizeof w);
          if (w.sequence != st.next_expected[w.sender]) ++st.out_of_order;
          st.next_expected[w.sender] = w.sequence + 1;
          if (++st.received == fan_out * per_pair) finished_receivers.fetch_add(1);
        });
  });

  testing::node_fixture f(modules);
  for (int i = 0; i < service_count; ++i) {
    handles[static_cast<std::size_t>(i)] = f.runtime->launch("peer", "");
  }
  for (handle_t h : handles)
    f.runtime->send(0, h, ptype::text, 0, {});
  ASSERT_TRUE(testing::eventually([&] { return finished_receivers.load() == service_count; },
                                  std::chrono::seconds(120)));
  f.runtime->abort();
  f.runtime->wait();

  for (int i = 0; i < service_count; ++i) {
    const peer_state& st = states[static_cast<std::size_t>(i)];
    EXPECT_EQ(st.received, fan_out * per_pair) << "service " << i;
    EXPECT_EQ(st.out_of_order, 0U) << "service " << i;
    for (int k = 1; k <= fan_out; ++k) {
      const int sender = (i - k + service_count) % service_count;
      EXPECT_EQ(st.next_expected[static_cast<std::size_t>(sender)], per_pair)
          << "pair " << sender << " -> " << i;
    }
  }
}

}  // namespace
}  // namespace starling
