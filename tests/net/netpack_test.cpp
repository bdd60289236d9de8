// The framing (net/netpack) against the golden vectors (tests/vectors/netpack.json, read at
// run time), plus the edges the vectors leave out.

#include "net/netpack.hpp"

#include <gtest/gtest.h>

#include <cstring>
#include <lua.hpp>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "../support/netpack_vectors.hpp"

namespace starling::net {
namespace {

using namespace netpack_vectors;  // NOLINT(google-build-using-namespace): test helpers

std::span<const std::byte> bytes_of(const std::string& s) {
  return std::as_bytes(std::span(s.data(), s.size()));
}

std::string text_of(const payload& p) {
  return std::string(p.view());
}

delivered delivered_of(const packet& p) {
  return {p.id, text_of(p.data)};
}

// Evaluates the Lua expression of a vector (e.g. "string.rep('p', 65536)") to a string.
std::string eval_lua(const std::string& expr) {
  const std::unique_ptr<lua_State, decltype(&lua_close)> state(luaL_newstate(), &lua_close);
  lua_State* L = state.get();
  luaL_openlibs(L);
  if (luaL_dostring(L, ("return " + expr).c_str()) != LUA_OK) {
    ADD_FAILURE() << "evaluating " << expr << ": " << lua_tostring(L, -1);
    return {};
  }
  std::size_t size = 0;
  const char* s = lua_tolstring(L, -1, &size);
  return {s, size};
}

TEST(netpack_vectors, are_present) {
  ASSERT_TRUE(vectors().is_object()) << "cannot read " STARLING_VECTORS_DIR "/netpack.json";
  EXPECT_FALSE(refs("pack").empty());
  EXPECT_FALSE(refs("pack_errors").empty());
  EXPECT_FALSE(refs("filter_scenarios").empty());
}

// ---- pack -----------------------------------------------------------------------------------

class netpack_pack : public ::testing::TestWithParam<case_ref> {};

TEST_P(netpack_pack, is_byte_exact) {
  const json& c = entry(GetParam());
  const std::string data = eval_lua(c["lua"].get<std::string>());
  ASSERT_EQ(data.size(), c["payload_size"].get<std::size_t>());
  const std::optional<payload> frame = pack(bytes_of(data));
  ASSERT_TRUE(frame.has_value());
  EXPECT_EQ(frame->size(), c["size"].get<std::size_t>());
  EXPECT_EQ(text_of(*frame), from_hex(c["hex"].get<std::string>()));
}

INSTANTIATE_TEST_SUITE_P(vectors, netpack_pack, ::testing::ValuesIn(refs("pack")), test_name);

class netpack_pack_error : public ::testing::TestWithParam<case_ref> {};

TEST_P(netpack_pack_error, is_refused_with_the_text) {
  const json& c = entry(GetParam());
  const std::string data = eval_lua(c["lua"].get<std::string>());
  EXPECT_FALSE(pack(bytes_of(data)).has_value());
  EXPECT_EQ(too_long_message(data.size()), c["error"].get<std::string>());
}

INSTANTIATE_TEST_SUITE_P(vectors, netpack_pack_error, ::testing::ValuesIn(refs("pack_errors")),
                         test_name);

TEST(netpack_pack, size_boundaries) {
  EXPECT_TRUE(pack(bytes_of(std::string(max_packet_size, 'x'))).has_value());
  EXPECT_FALSE(pack(bytes_of(std::string(max_packet_size + 1, 'x'))).has_value());
  EXPECT_FALSE(pack(bytes_of(std::string(200000, 'x'))).has_value());
}

// ---- filter scenarios -------------------------------------------------------------------------

class netpack_scenario : public ::testing::TestWithParam<case_ref> {};

TEST_P(netpack_scenario, matches_filter_results_and_deliveries) {
  const json& c = entry(GetParam());
  const json& inputs = c["inputs"];
  const json& results = c["filter_results"];
  ASSERT_EQ(inputs.size(), results.size());
  frame_queue queue;
  std::vector<delivered> got;
  for (std::size_t i = 0; i < inputs.size(); ++i) {
    SCOPED_TRACE("input " + std::to_string(i));
    const json& in = inputs[i];
    const json& want = results[i];
    const auto fd = in["fd"].get<std::int32_t>();
    const std::string result = want["result"].get<std::string>();
    if (in["event"] == "close") {
      queue.discard(fd);
      EXPECT_EQ(result, "close");
      EXPECT_EQ(want["fd"].get<std::int32_t>(), fd);
      continue;
    }
    const std::string bytes = from_hex(in["hex"].get<std::string>());
    frame_queue::feed_result r = queue.feed(fd, bytes_of(bytes));
    if (result == "none") {
      EXPECT_EQ(r.what, frame_queue::outcome::none);
      EXPECT_EQ(queue.queued(), 0U);
    } else if (result == "data") {
      ASSERT_EQ(r.what, frame_queue::outcome::one);
      EXPECT_EQ(queue.queued(), 0U);
      const std::vector<delivered> want_packets = packets_of(want["packets"]);
      ASSERT_EQ(want_packets.size(), 1U);
      EXPECT_EQ(delivered_of(r.single), want_packets[0]);
      got.push_back(delivered_of(r.single));
    } else {
      ASSERT_EQ(result, "more");
      ASSERT_EQ(r.what, frame_queue::outcome::more);
      std::vector<delivered> popped;
      while (std::optional<packet> p = queue.pop())
        popped.push_back(delivered_of(*p));
      EXPECT_EQ(popped, packets_of(want["packets"]));
      got.insert(got.end(), popped.begin(), popped.end());
    }
  }
  EXPECT_EQ(got, packets_of(c["delivered"]));
}

INSTANTIATE_TEST_SUITE_P(vectors, netpack_scenario, ::testing::ValuesIn(refs("filter_scenarios")),
                         test_name);

// ---- beyond the vectors ------------------------------------------------------------------------

TEST(frame_queue, an_empty_read_changes_nothing) {
  frame_queue queue;
  EXPECT_EQ(queue.feed(1, {}).what, frame_queue::outcome::none);
  EXPECT_EQ(queue.pending(), 0U);
  const std::string high = from_hex("00");
  EXPECT_EQ(queue.feed(1, bytes_of(high)).what, frame_queue::outcome::none);
  EXPECT_EQ(queue.feed(1, {}).what, frame_queue::outcome::none);
  EXPECT_EQ(queue.pending(), 1U);
  const std::string rest = from_hex("0161");
  frame_queue::feed_result r = queue.feed(1, bytes_of(rest));
  ASSERT_EQ(r.what, frame_queue::outcome::one);
  EXPECT_EQ(text_of(r.single.data), "a");
  EXPECT_EQ(queue.pending(), 0U);
}

TEST(frame_queue, packets_of_different_reads_queue_in_order_until_popped) {
  frame_queue queue;
  const std::string two = from_hex("000161000162");
  EXPECT_EQ(queue.feed(1, bytes_of(two)).what, frame_queue::outcome::more);
  EXPECT_EQ(queue.feed(2, bytes_of(two)).what, frame_queue::outcome::more);
  std::vector<delivered> popped;
  while (std::optional<packet> p = queue.pop())
    popped.push_back(delivered_of(*p));
  EXPECT_EQ(popped, (std::vector<delivered>{{1, "a"}, {1, "b"}, {2, "a"}, {2, "b"}}));
}

TEST(frame_queue, discard_forgets_only_that_connection) {
  frame_queue queue;
  const std::string start = from_hex("000378");
  (void)queue.feed(1, bytes_of(start));
  (void)queue.feed(2, bytes_of(start));
  queue.discard(1);
  queue.discard(7);  // unknown: nothing happens
  EXPECT_EQ(queue.pending(), 1U);
  const std::string rest = from_hex("7979");
  frame_queue::feed_result r = queue.feed(2, bytes_of(rest));
  ASSERT_EQ(r.what, frame_queue::outcome::one);
  EXPECT_EQ(delivered_of(r.single), (delivered{2, "xyy"}));
}

TEST(frame_queue, clear_frees_queued_and_partial_frames) {
  frame_queue queue;
  const std::string data = from_hex("0001610002");
  EXPECT_EQ(queue.feed(3, bytes_of(data)).what, frame_queue::outcome::more);
  EXPECT_EQ(queue.queued(), 1U);
  EXPECT_EQ(queue.pending(), 1U);
  queue.clear();
  EXPECT_EQ(queue.queued(), 0U);
  EXPECT_EQ(queue.pending(), 0U);
  EXPECT_FALSE(queue.pop().has_value());
}

// Random streams cut at random points over a few connections decode to what was framed.
TEST(frame_queue, random_splits_round_trip) {
  std::mt19937 rng(12345);
  for (int round = 0; round < 50; ++round) {
    frame_queue queue;
    constexpr std::size_t connections = 3;
    std::vector<std::string> streams(connections);
    std::vector<std::vector<std::string>> sent(connections);
    for (std::size_t id = 0; id < connections; ++id) {
      const int count = static_cast<int>(rng() % 20);
      for (int k = 0; k < count; ++k) {
        const std::size_t size = rng() % 4 == 0 ? rng() % 3000 : rng() % 10;
        std::string body(size, static_cast<char>('a' + id));
        const std::optional<payload> frame = pack(bytes_of(body));
        streams[id] += text_of(*frame);
        sent[id].push_back(body);
      }
    }
    std::vector<std::size_t> at(connections, 0);
    std::vector<std::vector<std::string>> received(connections);
    for (;;) {
      std::vector<std::size_t> open;
      for (std::size_t id = 0; id < connections; ++id) {
        if (at[id] < streams[id].size()) open.push_back(id);
      }
      if (open.empty()) break;
      const std::size_t id = open[rng() % open.size()];
      const std::size_t n = std::min<std::size_t>(1 + rng() % 700, streams[id].size() - at[id]);
      frame_queue::feed_result r =
          queue.feed(static_cast<std::int32_t>(id), bytes_of(streams[id].substr(at[id], n)));
      at[id] += n;
      if (r.what == frame_queue::outcome::one) {
        received[static_cast<std::size_t>(r.single.id)].push_back(text_of(r.single.data));
      }
      while (std::optional<packet> p = queue.pop())
        received[static_cast<std::size_t>(p->id)].push_back(text_of(p->data));
    }
    EXPECT_EQ(received, sent) << "round " << round;
    EXPECT_EQ(queue.pending(), 0U);
  }
}

}  // namespace
}  // namespace starling::net
