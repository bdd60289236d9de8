// The Lua module skynet.netpack (docs/GATE.md) in a plain lua_State, fed hand-built socket
// messages: the filter scenarios of tests/vectors/netpack.json (read at run time) with
// their exact return shapes, the other socket events, pack, pop, tostring and clear. Under
// ASan the leak checker also proves that every read buffer and packet is freed.

#include <gtest/gtest.h>

#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "../support/netpack_vectors.hpp"
#include "base/payload.hpp"
#include "core/socket_message.hpp"
#include "lua/netpack.hpp"

namespace starling::lua {
namespace {

using namespace netpack_vectors;  // NOLINT(google-build-using-namespace): test helpers

struct state_closer {
  void operator()(lua_State* L) const { lua_close(L); }
};
using state_ptr = std::unique_ptr<lua_State, state_closer>;

class lua_netpack : public ::testing::Test {
 protected:
  lua_netpack() : state_(luaL_newstate()), L(state_.get()) {
    luaL_openlibs(L);
    open_netpack(L);
    lua_setglobal(L, "netpack");
  }

  // Runs a chunk; a Lua error (or failed assert) fails the test.
  void run(const std::string& code) {
    ASSERT_EQ(luaL_dostring(L, code.c_str()), LUA_OK) << lua_tostring(L, -1);
    lua_settop(L, 0);
  }

  // netpack.filter(Q, msg, sz) on `body`; the global Q becomes the returned queue. Leaves
  // every result on the stack (index 1 is the queue) and returns their count, -1 on error.
  int filter(payload& body) {
    lua_settop(L, 0);
    lua_getglobal(L, "netpack");
    lua_getfield(L, 1, "filter");
    lua_remove(L, 1);
    lua_getglobal(L, "Q");
    lua_pushlightuserdata(L, body.data());
    lua_pushinteger(L, static_cast<lua_Integer>(body.size()));
    if (lua_pcall(L, 3, LUA_MULTRET, 0) != LUA_OK) {
      ADD_FAILURE() << lua_tostring(L, -1);
      lua_settop(L, 0);
      return -1;
    }
    EXPECT_GE(lua_gettop(L), 1);
    lua_pushvalue(L, 1);
    lua_setglobal(L, "Q");
    return lua_gettop(L);
  }

  // A DATA message carrying a malloc'd copy of `bytes`.
  static payload data_message(std::int32_t fd, const std::string& bytes) {
    void* buffer = std::malloc(bytes.size() == 0 ? 1 : bytes.size());  // NOLINT(*-no-malloc)
    std::memcpy(buffer, bytes.data(), bytes.size());
    return make_socket_message(socket_event::data, fd, static_cast<std::int32_t>(bytes.size()),
                               buffer);
  }

  // Takes the packet (light userdata at `at`, size at `at + 1`) through netpack.tostring,
  // which frees it.
  std::string take_packet(int at) {
    EXPECT_EQ(lua_type(L, at), LUA_TLIGHTUSERDATA);
    EXPECT_EQ(lua_type(L, at + 1), LUA_TNUMBER);
    lua_getglobal(L, "netpack");
    lua_getfield(L, -1, "tostring");
    lua_pushvalue(L, at);
    lua_pushvalue(L, at + 1);
    lua_call(L, 2, 1);
    std::size_t size = 0;
    const char* s = lua_tolstring(L, -1, &size);
    std::string bytes(s, size);
    lua_pop(L, 2);
    return bytes;
  }

  // Pops Q until it is empty (netpack.pop returns nothing).
  std::vector<delivered> drain() {
    std::vector<delivered> popped;
    for (;;) {
      lua_settop(L, 0);
      lua_getglobal(L, "netpack");
      lua_getfield(L, 1, "pop");
      lua_remove(L, 1);
      lua_getglobal(L, "Q");
      lua_call(L, 1, LUA_MULTRET);
      if (lua_gettop(L) == 0) break;
      EXPECT_EQ(lua_gettop(L), 3);
      const auto fd = static_cast<std::int32_t>(lua_tointeger(L, 1));
      popped.push_back({fd, take_packet(2)});
    }
    return popped;
  }

  std::string string_at(int index) {
    std::size_t size = 0;
    const char* s = lua_tolstring(L, index, &size);
    return s == nullptr ? std::string("<not a string>") : std::string(s, size);
  }

  state_ptr state_;
  lua_State* L;
};

// ---- the vectors ------------------------------------------------------------------------------

class lua_netpack_scenario : public lua_netpack, public ::testing::WithParamInterface<case_ref> {};

TEST_P(lua_netpack_scenario, return_shapes_and_deliveries) {
  const json& c = entry(GetParam());
  const json& inputs = c["inputs"];
  const json& results = c["filter_results"];
  ASSERT_EQ(inputs.size(), results.size());
  std::vector<delivered> got;
  for (std::size_t i = 0; i < inputs.size(); ++i) {
    SCOPED_TRACE("input " + std::to_string(i));
    const json& in = inputs[i];
    const json& want = results[i];
    const auto fd = in["fd"].get<std::int32_t>();
    const std::string result = want["result"].get<std::string>();
    payload body = in["event"] == "close"
                       ? make_socket_message(socket_event::close, fd, 0, nullptr)
                       : data_message(fd, from_hex(in["hex"].get<std::string>()));
    const int n = filter(body);
    ASSERT_GE(n, 1);
    EXPECT_EQ(lua_type(L, 1), LUA_TUSERDATA) << "the queue comes first";
    if (result == "none") {
      EXPECT_EQ(n, 1);
    } else if (result == "close") {
      ASSERT_EQ(n, 3);
      EXPECT_EQ(string_at(2), "close");
      EXPECT_EQ(lua_tointeger(L, 3), want["fd"].get<std::int32_t>());
    } else if (result == "data") {
      ASSERT_EQ(n, 5);
      EXPECT_EQ(string_at(2), "data");
      const delivered packet{static_cast<std::int32_t>(lua_tointeger(L, 3)), take_packet(4)};
      const std::vector<delivered> want_packets = packets_of(want["packets"]);
      ASSERT_EQ(want_packets.size(), 1U);
      EXPECT_EQ(packet, want_packets[0]);
      got.push_back(packet);
    } else {
      ASSERT_EQ(result, "more");
      ASSERT_EQ(n, 2);
      EXPECT_EQ(string_at(2), "more");
      const std::vector<delivered> popped = drain();
      EXPECT_EQ(popped, packets_of(want["packets"]));
      got.insert(got.end(), popped.begin(), popped.end());
    }
  }
  EXPECT_EQ(got, packets_of(c["delivered"]));
}

INSTANTIATE_TEST_SUITE_P(vectors, lua_netpack_scenario,
                         ::testing::ValuesIn(refs("filter_scenarios")), test_name);

class lua_netpack_pack : public lua_netpack, public ::testing::WithParamInterface<case_ref> {};

TEST_P(lua_netpack_pack, is_byte_exact) {
  const json& c = entry(GetParam());
  run("local p, n = netpack.pack(" + c["lua"].get<std::string>() +
      ")\n"
      "assert(type(p) == 'userdata' and math.type(n) == 'integer')\n"
      "frame, size = netpack.tostring(p, n), n");
  lua_getglobal(L, "frame");
  EXPECT_EQ(string_at(1), from_hex(c["hex"].get<std::string>()));
  lua_getglobal(L, "size");
  EXPECT_EQ(lua_tointeger(L, 2), c["size"].get<lua_Integer>());
}

INSTANTIATE_TEST_SUITE_P(vectors, lua_netpack_pack, ::testing::ValuesIn(refs("pack")), test_name);

class lua_netpack_pack_error : public lua_netpack,
                               public ::testing::WithParamInterface<case_ref> {};

TEST_P(lua_netpack_pack_error, raises_the_text) {
  const json& c = entry(GetParam());
  run("local ok, err = pcall(netpack.pack, " + c["lua"].get<std::string>() +
      ")\n"
      "assert(not ok)\n"
      "message = err");
  lua_getglobal(L, "message");
  EXPECT_EQ(string_at(1), c["error"].get<std::string>());
}

INSTANTIATE_TEST_SUITE_P(vectors, lua_netpack_pack_error, ::testing::ValuesIn(refs("pack_errors")),
                         test_name);

// ---- the other socket events -------------------------------------------------------------------

TEST_F(lua_netpack, connect_is_init_with_text_and_port) {
  payload body = make_socket_message(socket_event::connect, 5, 8888, "127.0.0.1");
  ASSERT_EQ(filter(body), 5);
  EXPECT_TRUE(lua_isnil(L, 1)) << "no queue is made before data";
  EXPECT_EQ(string_at(2), "init");
  EXPECT_EQ(lua_tointeger(L, 3), 5);
  EXPECT_EQ(string_at(4), "127.0.0.1");
  EXPECT_EQ(lua_tointeger(L, 5), 8888);
}

TEST_F(lua_netpack, accept_is_open_with_the_new_id) {
  payload body = make_socket_message(socket_event::accept, 5, 9, "10.0.0.1:4242");
  ASSERT_EQ(filter(body), 4);
  EXPECT_EQ(string_at(2), "open");
  EXPECT_EQ(lua_tointeger(L, 3), 9);
  EXPECT_EQ(string_at(4), "10.0.0.1:4242");
}

TEST_F(lua_netpack, error_discards_the_partial_frame) {
  payload start = data_message(7, from_hex("000461"));
  ASSERT_EQ(filter(start), 1);
  payload error = make_socket_message(socket_event::error, 7, 0, "Connection reset by peer");
  ASSERT_EQ(filter(error), 4);
  EXPECT_EQ(lua_type(L, 1), LUA_TUSERDATA);
  EXPECT_EQ(string_at(2), "error");
  EXPECT_EQ(lua_tointeger(L, 3), 7);
  EXPECT_EQ(string_at(4), "Connection reset by peer");
  payload fresh = data_message(7, from_hex("000162"));
  ASSERT_EQ(filter(fresh), 5);
  EXPECT_EQ(take_packet(4), "b");
}

TEST_F(lua_netpack, warning_carries_kib) {
  payload body = make_socket_message(socket_event::warning, 3, 1024, nullptr);
  ASSERT_EQ(filter(body), 4);
  EXPECT_EQ(string_at(2), "warning");
  EXPECT_EQ(lua_tointeger(L, 3), 3);
  EXPECT_EQ(lua_tointeger(L, 4), 1024);
}

TEST_F(lua_netpack, udp_is_ignored_and_its_buffer_freed) {
  void* datagram = std::malloc(16);  // NOLINT(*-no-malloc)
  std::memset(datagram, 0, 16);
  payload body = make_socket_message(socket_event::udp, 3, 9, datagram);
  EXPECT_EQ(filter(body), 1);
}

TEST_F(lua_netpack, a_repeated_filter_of_one_message_does_not_free_twice) {
  payload body = data_message(1, from_hex("000161"));
  ASSERT_EQ(filter(body), 5);
  EXPECT_EQ(take_packet(4), "a");
  EXPECT_EQ(filter(body), 1);
}

TEST_F(lua_netpack, rejects_what_is_not_a_socket_message) {
  run(R"lua(
    local ok, err = pcall(netpack.filter, nil, nil, 0)
    assert(not ok and err:find("not a socket message"), err)
  )lua");
}

// ---- pop, pack, tostring, clear -----------------------------------------------------------------

TEST_F(lua_netpack, pop_is_a_generic_for_iterator_and_takes_nil) {
  payload body = data_message(4, from_hex("000178000179"));
  ASSERT_EQ(filter(body), 2);
  run(R"lua(
    assert(select("#", netpack.pop(nil)) == 0)
    local got = {}
    for fd, msg, sz in netpack.pop, Q do
      got[#got + 1] = fd .. ":" .. netpack.tostring(msg, sz)
    end
    assert(table.concat(got, ",") == "4:x,4:y", table.concat(got, ","))
    assert(select("#", netpack.pop(Q)) == 0)
  )lua");
}

TEST_F(lua_netpack, pack_of_a_pointer_frames_it_without_freeing_it) {
  run(R"lua(
    local p, n = netpack.pack("hi")
    local p2, n2 = netpack.pack(p, n)
    assert(n2 == n + 2)
    assert(netpack.tostring(p2, n2) == "\0\4\0\2hi")
    assert(netpack.tostring(p, n) == "\0\2hi")
    local big, bn = netpack.pack(string.rep("p", 65535))
    local ok, err = pcall(netpack.pack, big, bn)
    assert(not ok and err == "Invalid size (too long) of data : 65537", err)
    netpack.tostring(big, bn)
    local empty, en = netpack.pack("")
    assert(en == 2 and netpack.tostring(empty, en) == "\0\0")
  )lua");
}

TEST_F(lua_netpack, clear_frees_everything) {
  payload body = data_message(4, from_hex("0001780001790003"));
  ASSERT_EQ(filter(body), 2);
  run(R"lua(
    netpack.clear(Q)
    assert(select("#", netpack.pop(Q)) == 0)
    netpack.clear(nil)
  )lua");
  payload next = data_message(4, from_hex("000161"));
  ASSERT_EQ(filter(next), 5) << "the partial frame went too";
  EXPECT_EQ(take_packet(4), "a");
}

TEST_F(lua_netpack, a_collected_queue_is_freed) {
  payload body = data_message(4, from_hex("00017800017900037a"));
  ASSERT_EQ(filter(body), 2);
  run("Q = nil; collectgarbage(); collectgarbage()");
}

}  // namespace
}  // namespace starling::lua
