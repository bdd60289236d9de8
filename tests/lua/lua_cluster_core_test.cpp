// The Lua module skynet.cluster.core in a plain lua_State, against every case of
// tests/vectors/cluster.json (read at run time): the exact values, shapes and error texts of
// each function, messages given as C buffers (as skynet.pack makes them) and as strings, the
// receiving side's append/concat path and the calling side's collect-and-concat path as
// skynet's clusteragent and clustersender run them, and the recorded two-node session decoded
// both ways and re-encoded. Under ASan the leak checker also proves who frees each buffer.

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "../support/cluster_vectors.hpp"
#include "lua/cluster_core.hpp"
#include "lua/lua_seri.hpp"

namespace starling::lua {
namespace {

using namespace cluster_vectors;  // NOLINT(google-build-using-namespace): test helpers

// What skynet's clusteragent and clustersender do with the module, and the re-encoding of a
// recorded conversation. Buffers returned by the module are given back with take() or free().
constexpr const char* helpers = R"lua(
local cluster = cluster

-- The receiving side (clusteragent): pieces appended per session, joined by concat.
-- Returns the rebuilt payload, or nil when concat refuses.
function reassemble(bodies)
  local large = {}
  local msg, sz
  for _, body in ipairs(bodies) do
    local addr, session, m, s, padding, is_push = cluster.unpackrequest(body)
    msg, sz = m, s
    if padding then
      local req = large[session] or { addr = addr, is_push = is_push }
      large[session] = req
      cluster.append(req, msg, sz)
      msg = nil
    else
      local req = large[session]
      if req then
        large[session] = nil
        cluster.append(req, msg, sz)
        msg, sz = cluster.concat(req)
      end
    end
  end
  if msg == nil then return nil end
  return take(msg, sz)
end

-- The calling side (socketchannel in session mode, then clustersender): pieces collected while
-- padding is true, the list joined by concat. Returns what the caller is given.
function deliver(bodies)
  local collected
  for _, body in ipairs(bodies) do
    local session, ok, data, padding = cluster.unpackresponse(body)
    assert(session, "the body does not decode")
    if padding and ok then
      collected = collected or {}
      table.insert(collected, data)
    else
      if ok and collected then
        table.insert(collected, data)
        local msg, sz = cluster.concat(collected)
        if msg == nil then return nil end
        return take(msg, sz)
      end
      return data
    end
  end
end

local function same(a, b)
  if a.n ~= b.n then return false end
  for i = 1, a.n do
    if type(a[i]) ~= type(b[i]) then return false end
    if type(a[i]) ~= 'userdata' and a[i] ~= b[i] then return false end
  end
  return true
end

-- Both forms of unpackrequest, which must agree; the buffers of the second are freed.
local function unpack_both(body)
  local r = table.pack(cluster.unpackrequest(body))
  local copy, n = block(body)
  local r2 = table.pack(cluster.unpackrequest(copy, n))
  free(copy)
  for i = 1, r2.n do
    if type(r2[i]) == 'userdata' then
      assert(take(r2[i], r2[i + 1]) == take_copy(r[i], r[i + 1]), "the buffers differ")
    end
  end
  assert(same(r, r2), "unpackrequest(string) and unpackrequest(msg, sz) differ")
  return r
end

-- A recorded A-to-B stream decoded and encoded again, the way the agent decodes it and the
-- sender encodes it. `traced` is the session a trace tag announced (its n minus one).
function reencode_requests(frames)
  local out, large, traced = {}, {}, nil
  for _, frame in ipairs(frames) do
    local r = unpack_both(frame:sub(3))
    if r.n == 1 then
      local n = r[1]:match("^%(.+%-B%-(%d+)%)")
      assert(n, "trace tag shape: " .. r[1])
      traced = tonumber(n) - 1
      out[#out + 1] = cluster.packtrace(r[1])
    else
      local addr, session, msg, sz, padding, is_push = table.unpack(r, 1, r.n)
      if traced then
        assert(session == traced, "the tag names the next session + 1")
        traced = nil
      end
      if padding then
        local req = large[session] or { addr = addr, is_push = is_push }
        large[session] = req
        cluster.append(req, msg, sz)
      else
        local req = large[session]
        if req then
          large[session] = nil
          cluster.append(req, msg, sz)
          msg, sz = cluster.concat(req)
          addr, is_push = req.addr, req.is_push
        end
        local pack = is_push and cluster.packpush or cluster.packrequest
        -- a whole push carries session 0: any positive session encodes it
        local first, _, pieces = pack(addr, session == 0 and 1 or session, msg, sz)
        out[#out + 1] = first
        for _, p in ipairs(pieces or {}) do out[#out + 1] = p end
      end
    end
  end
  assert(next(large) == nil, "a split request never ended")
  return out
end

-- A recorded B-to-A stream decoded and encoded again; also returns the replies delivered.
function reencode_responses(frames)
  local out, delivered, collected = {}, {}, {}
  for _, frame in ipairs(frames) do
    local session, ok, data, padding = cluster.unpackresponse(frame:sub(3))
    assert(session, "the body does not decode")
    if padding and ok then
      collected[session] = collected[session] or {}
      table.insert(collected[session], data)
    else
      local list = collected[session]
      collected[session] = nil
      local msg, sz = data, nil
      if list and ok then
        table.insert(list, data)
        msg, sz = cluster.concat(list)
      end
      local r = cluster.packresponse(session, ok, msg, sz)
      if sz then msg = take(msg, sz) end
      delivered[#delivered + 1] = msg
      if type(r) == 'table' then
        for _, f in ipairs(r) do out[#out + 1] = f end
      else
        out[#out + 1] = r
      end
    end
  end
  return out, delivered
end
)lua";

// block(str) -> msg, sz: a malloc'd copy, as skynet.pack gives a message.
int l_block(lua_State* L) {
  std::size_t size = 0;
  const char* bytes = luaL_checklstring(L, 1, &size);
  void* copy = std::malloc(size == 0 ? 1 : size);  // NOLINT(*-no-malloc)
  if (size != 0) std::memcpy(copy, bytes, size);
  lua_pushlightuserdata(L, copy);
  lua_pushinteger(L, static_cast<lua_Integer>(size));
  return 2;
}

// take(msg, sz) -> str, and msg is freed. take_copy does not free.
int l_take_copy(lua_State* L) {
  const auto* data = static_cast<const char*>(lua_touserdata(L, 1));
  lua_pushlstring(L, data, static_cast<std::size_t>(luaL_checkinteger(L, 2)));
  return 1;
}

int l_take(lua_State* L) {
  l_take_copy(L);
  std::free(lua_touserdata(L, 1));  // NOLINT(*-no-malloc)
  return 1;
}

int l_free(lua_State* L) {
  std::free(lua_touserdata(L, 1));  // NOLINT(*-no-malloc)
  return 0;
}

struct state_closer {
  void operator()(lua_State* L) const { lua_close(L); }
};

class lua_cluster_core : public ::testing::Test {
 protected:
  lua_cluster_core() : state_(luaL_newstate()), L(state_.get()) {
    luaL_openlibs(L);
    // As require leaves it: error messages name the function skynet.cluster.core.<name>.
    luaL_requiref(L, "skynet.cluster.core", open_cluster_core, 0);
    lua_setglobal(L, "cluster");
    open_seri(L);
    lua_setglobal(L, "skynet");
    lua_register(L, "block", l_block);
    lua_register(L, "take", l_take);
    lua_register(L, "take_copy", l_take_copy);
    lua_register(L, "free", l_free);
    run(helpers);
  }

  // Runs a chunk; a Lua error (or failed assert) fails the test.
  void run(const std::string& code) {
    ASSERT_EQ(luaL_dostring(L, code.c_str()), LUA_OK) << lua_tostring(L, -1);
    lua_settop(L, 0);
  }

  // cluster.<fn>(args pushed by `push`): the results stay on an otherwise empty stack; their
  // count, or -1 with the error in error_.
  int call(const char* fn, const std::function<void()>& push) {
    lua_settop(L, 0);
    lua_getglobal(L, "cluster");
    lua_getfield(L, 1, fn);
    lua_remove(L, 1);
    push();
    if (lua_pcall(L, lua_gettop(L) - 1, LUA_MULTRET, 0) != LUA_OK) {
      error_ = lua_tostring(L, -1) != nullptr ? lua_tostring(L, -1) : "(not a string)";
      lua_settop(L, 0);
      return -1;
    }
    return lua_gettop(L);
  }

  // The values on the stack, in the file's terms; buffers are read and freed. Empties the
  // stack.
  std::vector<value> results() {
    std::vector<value> got;
    const int top = lua_gettop(L);
    for (int i = 1; i <= top; ++i) {
      switch (lua_type(L, i)) {
        case LUA_TNIL:
          got.push_back(value::nil());
          break;
        case LUA_TBOOLEAN:
          got.push_back(value::boolean(lua_toboolean(L, i) != 0));
          break;
        case LUA_TNUMBER:
          EXPECT_TRUE(lua_isinteger(L, i));
          got.push_back(value::number(lua_tointeger(L, i)));
          break;
        case LUA_TSTRING:
          got.push_back(value::string(string_at(i)));
          break;
        case LUA_TLIGHTUSERDATA: {
          EXPECT_TRUE(i < top && lua_isinteger(L, i + 1)) << "a buffer without its size";
          void* block = lua_touserdata(L, i);
          EXPECT_NE(block, nullptr);
          const auto size = static_cast<std::size_t>(lua_tointeger(L, i + 1));
          got.push_back(value::buffer(std::string(static_cast<const char*>(block), size)));
          std::free(block);  // NOLINT(*-no-malloc)
          break;
        }
        default:
          ADD_FAILURE() << "unexpected " << luaL_typename(L, i);
      }
    }
    lua_settop(L, 0);
    return got;
  }

  std::string string_at(int index) {
    std::size_t size = 0;
    const char* s = lua_tolstring(L, index, &size);
    return s == nullptr ? std::string("<not a string>") : std::string(s, size);
  }

  // The strings of the table at `index`, items 1..n.
  std::vector<std::string> strings_of(int index) {
    std::vector<std::string> list;
    EXPECT_EQ(lua_type(L, index), LUA_TTABLE);
    const auto n = static_cast<lua_Integer>(lua_rawlen(L, index));
    for (lua_Integer i = 1; i <= n; ++i) {
      lua_rawgeti(L, index, i);
      list.push_back(string_at(-1));
      lua_pop(L, 1);
    }
    return list;
  }

  // Pushes a malloc'd copy of `bytes` and its size: a message as skynet.pack makes it.
  void push_block(const std::string& bytes) {
    void* copy = std::malloc(bytes.empty() ? 1 : bytes.size());  // NOLINT(*-no-malloc)
    if (!bytes.empty()) std::memcpy(copy, bytes.data(), bytes.size());
    lua_pushlightuserdata(L, copy);
    lua_pushinteger(L, static_cast<lua_Integer>(bytes.size()));
  }

  void push_string(const std::string& bytes) { lua_pushlstring(L, bytes.data(), bytes.size()); }

  void set_global(const char* name, const std::string& bytes) {
    push_string(bytes);
    lua_setglobal(L, name);
  }

  // A Lua list of the bodies of `frames` as the global `name`.
  void set_bodies(const char* name, const std::vector<std::string>& frames) {
    lua_createtable(L, static_cast<int>(frames.size()), 0);
    for (std::size_t i = 0; i < frames.size(); ++i) {
      push_string(body_of(frames[i]));
      lua_rawseti(L, -2, static_cast<lua_Integer>(i + 1));
    }
    lua_setglobal(L, name);
  }

  std::string global_string(const char* name) {
    lua_getglobal(L, name);
    std::string s = lua_isnil(L, -1) ? std::string("<nil>") : string_at(-1);
    lua_pop(L, 1);
    return s;
  }

  // unpackrequest on `body` as a string and as a C buffer: both must give `want`.
  void expect_unpackrequest(const std::string& body, const json& want) {
    ASSERT_GE(call("unpackrequest", [&] { push_string(body); }), 0) << error_;
    expect_values(want, results(), body);
    void* block = nullptr;
    ASSERT_GE(call("unpackrequest",
                   [&] {
                     push_block(body);
                     block = lua_touserdata(L, -2);
                   }),
              0)
        << error_;
    std::free(block);  // NOLINT(*-no-malloc): the caller's, as the dispatcher's message is
    expect_values(want, results(), body);
  }

  std::unique_ptr<lua_State, state_closer> state_;
  lua_State* L;
  std::string error_;
};

// ---- requests ------------------------------------------------------------------------------

class lua_cluster_request : public lua_cluster_core,
                            public ::testing::WithParamInterface<case_ref> {};

TEST_P(lua_cluster_request, packs_unpacks_and_reassembles) {
  const json& c = entry(GetParam());
  const std::string payload = payload_bytes(c["payload"].get<std::string>());
  const auto push_address_and_session = [&] {
    if (c["address"]["type"] == "integer") {
      lua_pushinteger(L, std::stoll(c["address"]["value"].get<std::string>()));
    } else {
      push_string(expected_bytes(c["address"], {}));
    }
    lua_pushinteger(L, std::stoll(c["session"]["value"].get<std::string>()));
  };
  const std::vector<std::string> want = frames_of(c["frames"]);
  const auto check_returns = [&](int n) {
    ASSERT_EQ(n, c["returns_count"].get<int>()) << error_;
    std::vector<std::string> frames{string_at(1)};
    EXPECT_EQ(lua_tointeger(L, 2), std::stoll(c["next_session"]["value"].get<std::string>()));
    if (n == 3) {
      const std::vector<std::string> rest = strings_of(3);
      frames.insert(frames.end(), rest.begin(), rest.end());
    }
    EXPECT_EQ(frames, want);
  };
  const char* fn = c["function"] == "packpush" ? "packpush" : "packrequest";
  // As skynet.pack gives it (freed by the module), then as a string.
  check_returns(call(fn, [&] {
    push_address_and_session();
    push_block(payload);
  }));
  check_returns(call(fn, [&] {
    push_address_and_session();
    push_string(payload);
  }));

  for (std::size_t i = 0; i < want.size(); ++i) {
    SCOPED_TRACE("frame " + std::to_string(i));
    expect_unpackrequest(body_of(want[i]), c["unpackrequest"][i]);
  }

  set_bodies("BODIES", want);
  run("REBUILT = reassemble(BODIES)");
  EXPECT_EQ(global_string("REBUILT") == payload, c["reassembled_equals_payload"].get<bool>());
}

INSTANTIATE_TEST_SUITE_P(vectors, lua_cluster_request, ::testing::ValuesIn(refs("requests")),
                         test_name);

// The Lua expression of a payload, for the Lua calls the file records.
std::string payload_lua(const std::string& name) {
  for (const json& p : vectors()["payloads"]) {
    if (p["name"] == name) return p["lua"].get<std::string>();
  }
  ADD_FAILURE() << "no payload " << name;
  return {};
}

// The case's own Lua call f(args) as pcall(f, args), with skynet.pack(<payload x>) spelled out.
// Called from pcall, a C function, the error carries no position: as recorded.
std::string protected_call(std::string call) {
  const std::string mark = "<payload ";
  const std::size_t at = call.find(mark);
  if (at != std::string::npos) {
    const std::size_t end = call.find('>', at);
    const std::size_t name = at + mark.size();
    call.replace(at, end + 1 - at, payload_lua(call.substr(name, end - name)));
  }
  const std::size_t open = call.find('(');
  return "pcall(" + call.substr(0, open) + ", " + call.substr(open + 1);
}

class lua_cluster_request_error : public lua_cluster_core,
                                  public ::testing::WithParamInterface<case_ref> {};

TEST_P(lua_cluster_request_error, raises_skynets_text) {
  const json& c = entry(GetParam());
  run("OK, ERR = " + protected_call(c["lua_call"].get<std::string>()));
  lua_getglobal(L, "OK");
  EXPECT_FALSE(lua_toboolean(L, -1));
  EXPECT_EQ(global_string("ERR"), c["error"].get<std::string>());
}

INSTANTIATE_TEST_SUITE_P(vectors, lua_cluster_request_error,
                         ::testing::ValuesIn(refs("request_errors")), test_name);

class lua_cluster_trace : public lua_cluster_core,
                          public ::testing::WithParamInterface<case_ref> {};

TEST_P(lua_cluster_trace, packs_and_unpacks) {
  const json& c = entry(GetParam());
  run("FRAME = cluster.packtrace(" + c["tag_lua"].get<std::string>() + ")");
  const std::string frame = global_string("FRAME");
  EXPECT_EQ(std::vector<std::string>{frame}, frames_of(c["frames"]));
  expect_unpackrequest(body_of(frame), c["unpackrequest"][0]);
}

INSTANTIATE_TEST_SUITE_P(vectors, lua_cluster_trace, ::testing::ValuesIn(refs("traces")),
                         test_name);

class lua_cluster_trace_error : public lua_cluster_core,
                                public ::testing::WithParamInterface<case_ref> {};

TEST_P(lua_cluster_trace_error, raises_skynets_text) {
  const json& c = entry(GetParam());
  run("OK, ERR = pcall(cluster.packtrace, " + c["tag_lua"].get<std::string>() + ")");
  EXPECT_EQ(global_string("ERR"), c["error"].get<std::string>());
}

INSTANTIATE_TEST_SUITE_P(vectors, lua_cluster_trace_error,
                         ::testing::ValuesIn(refs("trace_errors")), test_name);

// ---- responses -----------------------------------------------------------------------------

class lua_cluster_response : public lua_cluster_core,
                             public ::testing::WithParamInterface<case_ref> {};

TEST_P(lua_cluster_response, packs_unpacks_and_delivers) {
  const json& c = entry(GetParam());
  const lua_Integer session = std::stoll(c["session"]["value"].get<std::string>());
  const bool ok = c["ok"].get<bool>();
  std::string message;
  if (c.contains("payload")) {
    message = payload_bytes(c["payload"].get<std::string>());
  } else {
    run("MESSAGE = " + c["message_lua"].get<std::string>());
    message = global_string("MESSAGE");
  }
  ASSERT_EQ(message.size(), c["payload_size"].get<std::size_t>());
  const std::vector<std::string> want = frames_of(c["frames"]);
  const auto check = [&](int n) {
    ASSERT_EQ(n, 1) << error_;
    EXPECT_EQ(lua_istable(L, 1), c["multipart"].get<bool>());
    const std::vector<std::string> frames =
        lua_istable(L, 1) ? strings_of(1) : std::vector<std::string>{string_at(1)};
    EXPECT_EQ(frames, want);
  };
  // A C buffer (which stays the caller's: skynet.rawcall's reply), then a string.
  void* block = nullptr;
  check(call("packresponse", [&] {
    lua_pushinteger(L, session);
    lua_pushboolean(L, ok ? 1 : 0);
    push_block(message);
    block = lua_touserdata(L, -2);
  }));
  std::free(block);  // NOLINT(*-no-malloc): not freed by packresponse
  check(call("packresponse", [&] {
    lua_pushinteger(L, session);
    lua_pushboolean(L, ok ? 1 : 0);
    push_string(message);
  }));

  for (std::size_t i = 0; i < want.size(); ++i) {
    SCOPED_TRACE("frame " + std::to_string(i));
    const std::string body = body_of(want[i]);
    ASSERT_GE(call("unpackresponse", [&] { push_string(body); }), 0) << error_;
    expect_values(c["unpackresponse"][i], results(), body);
  }

  set_bodies("BODIES", want);
  run("DELIVERED = deliver(BODIES)");
  const std::string delivered = global_string("DELIVERED");
  EXPECT_EQ(delivered.size(), c["delivered_size"].get<std::size_t>());
  EXPECT_EQ(delivered == message, c["delivered_equals_payload"].get<bool>());
}

INSTANTIATE_TEST_SUITE_P(vectors, lua_cluster_response, ::testing::ValuesIn(refs("responses")),
                         test_name);

// ---- crafted bodies, concat ----------------------------------------------------------------

class lua_cluster_unpackrequest_input : public lua_cluster_core,
                                        public ::testing::WithParamInterface<case_ref> {};

TEST_P(lua_cluster_unpackrequest_input, returns_or_raises_like_skynet) {
  const json& c = entry(GetParam());
  const std::string body = from_hex(c["hex"].get<std::string>());
  if (c["ok"].get<bool>()) {
    expect_unpackrequest(body, c["returns"]);
    return;
  }
  EXPECT_EQ(call("unpackrequest", [&] { push_string(body); }), -1);
  EXPECT_EQ(error_, c["error"].get<std::string>());
  void* block = nullptr;
  EXPECT_EQ(call("unpackrequest",
                 [&] {
                   push_block(body);
                   block = lua_touserdata(L, -2);
                 }),
            -1);
  std::free(block);  // NOLINT(*-no-malloc): the caller's, as the dispatcher's message is
  EXPECT_EQ(error_, c["error"].get<std::string>());
}

INSTANTIATE_TEST_SUITE_P(vectors, lua_cluster_unpackrequest_input,
                         ::testing::ValuesIn(refs("unpackrequest_inputs")), test_name);

class lua_cluster_unpackresponse_input : public lua_cluster_core,
                                         public ::testing::WithParamInterface<case_ref> {};

TEST_P(lua_cluster_unpackresponse_input, returns_like_skynet) {
  const json& c = entry(GetParam());
  const std::string body = from_hex(c["hex"].get<std::string>());
  ASSERT_GE(call("unpackresponse", [&] { push_string(body); }), 0) << error_;
  expect_values(c["returns"], results(), body);
}

INSTANTIATE_TEST_SUITE_P(vectors, lua_cluster_unpackresponse_input,
                         ::testing::ValuesIn(refs("unpackresponse_inputs")), test_name);

class lua_cluster_concat : public lua_cluster_core,
                           public ::testing::WithParamInterface<case_ref> {};

TEST_P(lua_cluster_concat, joins_or_refuses) {
  const json& c = entry(GetParam());
  run("RESULT = table.pack(cluster.concat(" + c["lua"].get<std::string>() +
      "))\n"
      "COUNT = RESULT.n\n"
      "if COUNT == 2 then BYTES, SIZE = take(RESULT[1], RESULT[2]), RESULT[2] end");
  lua_getglobal(L, "COUNT");
  ASSERT_EQ(lua_tointeger(L, -1), c["returns_count"].get<lua_Integer>());
  lua_pop(L, 1);
  if (c["returns_count"] == 0) return;
  EXPECT_EQ(global_string("BYTES"), from_hex(c["result_hex"].get<std::string>()));
  lua_getglobal(L, "SIZE");
  EXPECT_EQ(lua_tointeger(L, -1), c["result_size"].get<lua_Integer>());
}

INSTANTIATE_TEST_SUITE_P(vectors, lua_cluster_concat, ::testing::ValuesIn(refs("concat_cases")),
                         test_name);

// ---- the recorded session ------------------------------------------------------------------

class lua_cluster_wire_session : public lua_cluster_core,
                                 public ::testing::WithParamInterface<std::size_t> {};

TEST_P(lua_cluster_wire_session, decodes_both_ways_and_reencodes) {
  const json& op = vectors()["wire_session"]["operations"][GetParam()];
  SCOPED_TRACE(op["name"].get<std::string>());
  const std::vector<std::string> requests = frames_of(op["frames_a_to_b"]);
  const std::vector<std::string> responses = frames_of(op["frames_b_to_a"]);
  const auto set_frames = [&](const char* name, const std::vector<std::string>& frames) {
    lua_createtable(L, static_cast<int>(frames.size()), 0);
    for (std::size_t i = 0; i < frames.size(); ++i) {
      push_string(frames[i]);
      lua_rawseti(L, -2, static_cast<lua_Integer>(i + 1));
    }
    lua_setglobal(L, name);
  };
  set_frames("REQUESTS", requests);
  set_frames("RESPONSES", responses);
  run("SENT = reencode_requests(REQUESTS)\nREPLIED, DELIVERED = reencode_responses(RESPONSES)");
  lua_getglobal(L, "SENT");
  EXPECT_EQ(strings_of(-1), requests);
  lua_getglobal(L, "REPLIED");
  EXPECT_EQ(strings_of(-1), responses);
  lua_settop(L, 0);

  // What the caller got back: the values of the operation (for the calls that return them).
  const std::string lua = op["lua"].get<std::string>();
  if (!op["ok"].get<bool>() || responses.empty() || lua.front() == '#') return;
  lua_getglobal(L, "DELIVERED");
  ASSERT_EQ(lua_rawlen(L, -1), 1U);
  lua_rawgeti(L, -1, 1);
  const std::string reply = string_at(-1);
  lua_settop(L, 0);
  lua_pushcfunction(L, unpack);
  push_string(reply);
  lua_call(L, 1, LUA_MULTRET);
  expect_values(op["results"], results(), reply);
}

INSTANTIATE_TEST_SUITE_P(vectors, lua_cluster_wire_session,
                         ::testing::ValuesIn(operation_indices()), operation_name);

// ---- beyond the vectors --------------------------------------------------------------------

TEST_F(lua_cluster_core, isname_is_true_only_for_at) {
  run(R"lua(
    assert(cluster.isname("@echo") == true)
    assert(select('#', cluster.isname(".echo")) == 0)
    assert(select('#', cluster.isname(10)) == 0)
    assert(select('#', cluster.isname(nil)) == 0)
  )lua");
}

TEST_F(lua_cluster_core, nodename_is_the_host_with_blanks_replaced_then_the_pid) {
  char host[256] = {};
  ASSERT_EQ(::gethostname(host, sizeof host - 1), 0);
  std::string want(host);
  for (char& c : want) {
    if (static_cast<signed char>(c) <= ' ') c = '_';
  }
  want += std::to_string(::getpid());
  run("NAME = cluster.nodename()");
  EXPECT_EQ(global_string("NAME"), want);
}

TEST_F(lua_cluster_core, append_takes_the_buffer_or_the_total) {
  run(R"lua(
    local t = {}
    cluster.append(t, nil, 5)
    cluster.append(t, block("ab"))
    cluster.append(t, block("cde"))
    assert(t[1] == 5 and t[2] == "ab" and t[3] == "cde")
    local msg, sz = cluster.concat(t)
    assert(take(msg, sz) == "abcde" and sz == 5)
    local ok, err = pcall(cluster.append, t, "str", 3)
    assert(not ok and err == "Need lightuserdata", err)
    -- freed even when the table is wrong (the leak checker sees it)
    assert(not pcall(cluster.append, "not a table", block("x")))
    assert(not pcall(cluster.append, {}, block("x"), "not a size"))
  )lua");
}

TEST_F(lua_cluster_core, concat_makes_a_buffer_even_for_no_bytes) {
  run(R"lua(
    local msg, sz = cluster.concat({0})
    assert(type(msg) == 'userdata' and sz == 0)
    free(msg)
    assert(select('#', cluster.concat({-1})) == 0)
    assert(select('#', cluster.concat({2^40, "a"})) == 0)
    assert(select('#', cluster.concat({3, "ab", 1, "c"})) == 0)
  )lua");
}

TEST_F(lua_cluster_core, packrequest_checks_the_session_before_the_name_and_frees_the_message) {
  run(R"lua(
    local ok, err = pcall(cluster.packrequest, true, 0, block("x"))
    assert(err == "Invalid request session 0", err)
    ok, err = pcall(cluster.packpush, {}, 1, block("x"))
    assert(err == "name is not a string, it's a table", err)
    ok, err = pcall(cluster.packrequest, 1, "no", block("x"))
    assert(not ok and err:find("number expected"), err)
    ok, err = pcall(cluster.packrequest, 1, 1, block("x"), nil)
    assert(not ok and err:find("number expected"), err)
    ok, err = pcall(cluster.packrequest, 1, 1, nil)
    assert(err == "Invalid request message", err)
    ok, err = pcall(cluster.packrequest, 1, 1, block("x"), -1)
    assert(not ok and err:find("invalid size"), err)
    -- called from Lua code, an error comes after the caller's position, as luaL_error puts it
    ok, err = pcall(function() return cluster.packrequest(1, 0, "x") end)
    assert(err:match('^%[string ".*"%]:%d+: Invalid request session 0$'), err)
    local request, session = cluster.packrequest("@a", 7, "whole")
    assert(session == 8 and request == "\0\13\128\2@a\7\0\0\0whole")
  )lua");
}

TEST_F(lua_cluster_core, unpacked_buffers_are_never_null) {
  run(R"lua(
    local addr, session, msg, sz = cluster.unpackrequest("\0\1\0\0\0\2\0\0\0")
    assert(addr == 1 and session == 2 and type(msg) == 'userdata' and sz == 0)
    local t = {}
    cluster.append(t, nil, 0)
    cluster.append(t, msg, sz)
    local joined, n = cluster.concat(t)
    assert(n == 0)
    free(joined)
  )lua");
}

TEST_F(lua_cluster_core, packresponse_checks_its_message) {
  run(R"lua(
    local ok, err = pcall(cluster.packresponse, 1, true, {}, 1)
    assert(not ok and err:find("string or light userdata"), err)
    ok, err = pcall(cluster.packresponse, 1, true, nil, 3)
    assert(not ok and err:find("invalid size"), err)
    assert(cluster.packresponse(1, true, nil, 0) == "\0\5\1\0\0\0\1")
  )lua");
}

TEST_F(lua_cluster_core, exports_skynets_functions) {
  run(R"lua(
    for _, name in ipairs{"packrequest", "packpush", "packtrace", "unpackrequest", "packresponse",
                          "unpackresponse", "append", "concat", "isname", "nodename"} do
      assert(type(cluster[name]) == 'function', name)
    end
  )lua");
}

}  // namespace
}  // namespace starling::lua
