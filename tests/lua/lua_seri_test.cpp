// skynet.pack / unpack from Lua against the golden vectors (tests/vectors/seri.json, read
// at run time): the Lua expressions of the vectors are evaluated in a real Lua state.

#include "lua/lua_seri.hpp"

#include <gtest/gtest.h>

#include <bit>
#include <cstdint>
#include <fstream>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "../support/seri_vectors.hpp"
#include "base/payload.hpp"
#include "seri/reader.hpp"
#include "seri/value.hpp"
#include "seri/writer.hpp"

namespace starling::lua {
namespace {

using namespace seri_vectors;  // NOLINT(google-build-using-namespace): test helpers

// ---- Lua ----------------------------------------------------------------------

// A Lua deep comparison for round trips: floats bit for bit, integer and float subtypes
// apart, table keys matched by deep equality when they are tables themselves.
constexpr const char* helpers = R"lua(
local function same_number(a, b)
  if math.type(a) ~= math.type(b) then return false end
  if math.type(a) == 'float' then return string.pack('<d', a) == string.pack('<d', b) end
  return a == b
end
local deep_equal
local function find_key(t, k)
  if type(k) ~= 'table' then return rawget(t, k) end
  for k2, v2 in next, t do
    if type(k2) == 'table' and deep_equal(k, k2) then return v2 end
  end
  return nil
end
deep_equal = function(a, b)
  if type(a) ~= type(b) then return false end
  if type(a) == 'number' then return same_number(a, b) end
  if type(a) ~= 'table' then return a == b end
  local count = 0
  for k, v in next, a do
    count = count + 1
    local other = find_key(b, k)
    if other == nil or not deep_equal(v, other) then return false end
  end
  for _ in next, b do count = count - 1 end
  return count == 0
end
function roundtrip_ok(...)
  local original = table.pack(...)
  local back = table.pack(skynet.unpack(skynet.packstring(...)))
  if original.n ~= back.n then return false end
  for i = 1, original.n do
    if not deep_equal(original[i], back[i]) then return false end
  end
  return true
end
)lua";

struct state_closer {
  void operator()(lua_State* L) const { lua_close(L); }
};
using state_ptr = std::unique_ptr<lua_State, state_closer>;

state_ptr new_state() {
  state_ptr L(luaL_newstate());
  luaL_openlibs(L.get());
  open_seri(L.get());
  lua_setglobal(L.get(), "skynet");
  if (luaL_dostring(L.get(), helpers) != LUA_OK) {
    ADD_FAILURE() << lua_tostring(L.get(), -1);
  }
  return L;
}

/// Runs a chunk of Lua assertions in a fresh state; a failed assert fails the test.
void run_lua_checks(const char* code) {
  state_ptr state = new_state();
  lua_State* L = state.get();
  ASSERT_EQ(luaL_dostring(L, code), LUA_OK) << lua_tostring(L, -1);
}

// Runs `return <expr>`; the values are left on the stack. Empty on a Lua error.
std::optional<int> eval(lua_State* L, const std::string& expr) {
  const int base = lua_gettop(L);
  if (luaL_loadstring(L, ("return " + expr).c_str()) != LUA_OK ||
      lua_pcall(L, 0, LUA_MULTRET, 0) != LUA_OK) {
    ADD_FAILURE() << "evaluating " << expr << ": " << lua_tostring(L, -1);
    lua_settop(L, base);
    return std::nullopt;
  }
  return lua_gettop(L) - base;
}

// Calls skynet.<fn> with the `n` values at the top (left in place). On success the results
// replace nothing and are pushed above them; returns their count, or the error message.
struct call_result {
  bool ok = false;
  int count = 0;
  std::string error;
};

call_result call(lua_State* L, lua_CFunction fn, int first, int n) {
  const int base = lua_gettop(L);
  lua_pushcfunction(L, fn);
  for (int i = 0; i < n; ++i)
    lua_pushvalue(L, first + i);
  call_result r;
  if (lua_pcall(L, n, LUA_MULTRET, 0) != LUA_OK) {
    const char* text = lua_tostring(L, -1);
    r.error = text != nullptr ? text : "(non-string error)";
    lua_settop(L, base);
    return r;
  }
  r.ok = true;
  r.count = lua_gettop(L) - base;
  return r;
}

// Lua value -> seri::value (canonical shape: keys 1..n of the longest run in the array).
seri::value to_value(lua_State* L, int index) {
  index = lua_absindex(L, index);
  switch (lua_type(L, index)) {
    case LUA_TNIL:
      return {};
    case LUA_TBOOLEAN:
      return lua_toboolean(L, index) != 0;
    case LUA_TNUMBER:
      if (lua_isinteger(L, index)) return static_cast<std::int64_t>(lua_tointeger(L, index));
      return lua_tonumber(L, index);
    case LUA_TSTRING: {
      std::size_t length = 0;
      const char* s = lua_tolstring(L, index, &length);
      return std::string(s, length);
    }
    case LUA_TLIGHTUSERDATA:
      return seri::light_userdata{reinterpret_cast<std::uintptr_t>(lua_touserdata(L, index))};
    case LUA_TTABLE: {
      luaL_checkstack(L, 4, nullptr);
      seri::table t;
      for (lua_Integer i = 1; lua_rawgeti(L, index, i) != LUA_TNIL; ++i) {
        t.array.push_back(to_value(L, -1));
        lua_pop(L, 1);
      }
      lua_pop(L, 1);
      lua_pushnil(L);
      while (lua_next(L, index) != 0) {
        const bool in_array = lua_isinteger(L, -2) && lua_tointeger(L, -2) >= 1 &&
                              static_cast<std::size_t>(lua_tointeger(L, -2)) <= t.array.size();
        if (!in_array) t.hash.emplace_back(to_value(L, -2), to_value(L, -1));
        lua_pop(L, 1);
      }
      return t;
    }
    default:
      ADD_FAILURE() << "unexpected Lua type " << luaL_typename(L, index);
      return {};
  }
}

seri::value_list to_values(lua_State* L, int first, int n) {
  seri::value_list values;
  for (int i = 0; i < n; ++i)
    values.push_back(to_value(L, first + i));
  return values;
}

// skynet.unpack(bytes) as a Lua string.
call_result unpack_string(lua_State* L, const std::string& bytes) {
  lua_pushlstring(L, bytes.data(), bytes.size());
  const int at = lua_gettop(L);
  call_result r = call(L, unpack, at, 1);
  if (r.ok)
    lua_remove(L, at);
  else
    lua_settop(L, at - 1);
  return r;
}

std::string as_string(lua_State* L, int index) {
  std::size_t length = 0;
  const char* s = lua_tolstring(L, index, &length);
  return std::string(s, length);
}

TEST(lua_seri, file_loads_with_every_section) {
  const json& all = vectors();
  ASSERT_TRUE(all.is_object()) << "cannot read " STARLING_VECTORS_DIR "/seri.json";
  EXPECT_EQ(all["cases"].size(), 109U);
  EXPECT_EQ(all["pack_errors"].size(), 9U);
  EXPECT_EQ(all["unpack_cases"].size(), 58U);
}

// ---- cases[] -------------------------------------------------------------------

bool has_reason(const json& c, const char* reason) {
  if (!c.contains("roundtrip_reason")) return false;
  const json& r = c["roundtrip_reason"];
  if (r.is_string()) return r.get<std::string>() == reason;
  for (const json& item : r) {
    if (item.get<std::string>() == reason) return true;
  }
  return false;
}

class lua_case : public testing::TestWithParam<case_ref> {};

TEST_P(lua_case, packs_and_unpacks_like_skynet) {
  const json& c = entry(GetParam());
  state_ptr state = new_state();
  lua_State* L = state.get();
  const std::optional<int> n = eval(L, c.at("lua").get<std::string>());
  ASSERT_TRUE(n);
  const int first = lua_gettop(L) - *n + 1;

  const call_result packed = call(L, packstring, first, *n);
  ASSERT_TRUE(packed.ok) << packed.error;
  ASSERT_EQ(packed.count, 1);
  const std::string bytes = as_string(L, -1);
  lua_pop(L, 1);

  // Through `__pairs` the bytes are exact from Lua, unlike from `values` alone.
  const bool exact = !c.value("roundtrip_only", false) || has_reason(c, "metapairs");
  const seri::value_list expected = values_of(c);
  std::string wire;
  if (c.value("hex_omitted", false)) {
    // No hex recorded: the C++ writer (checked against the digest in seri_vectors_test)
    // stands in for it.
    EXPECT_EQ(bytes.size(), c.at("byte_length").get<std::size_t>());
    EXPECT_EQ(to_hex(bytes.substr(0, c.at("hex_prefix").get<std::string>().size() / 2)),
              c.at("hex_prefix").get<std::string>());
    seri::writer w;
    w.write(expected);
    wire = std::string(w.finish().view());
    EXPECT_TRUE(bytes == wire);
  } else {
    wire = from_hex(c.at("hex").get<std::string>());
    if (exact) {
      EXPECT_EQ(to_hex(bytes), c.at("hex").get<std::string>());
    }
  }
  if (!exact) {
    lua_getglobal(L, "roundtrip_ok");
    for (int i = 0; i < *n; ++i)
      lua_pushvalue(L, first + i);
    ASSERT_EQ(lua_pcall(L, *n, 1, 0), LUA_OK) << lua_tostring(L, -1);
    EXPECT_TRUE(lua_toboolean(L, -1)) << "unpack(pack(x)) differs from x";
    lua_pop(L, 1);
  }

  // unpack(hex) gives the recorded values.
  const call_result decoded = unpack_string(L, wire);
  ASSERT_TRUE(decoded.ok) << decoded.error;
  EXPECT_EQ(to_values(L, lua_gettop(L) - decoded.count + 1, decoded.count), expected);
  lua_pop(L, decoded.count);

  // skynet.pack: the same bytes in a malloc'd buffer, which unpack(msg, sz) reads and a
  // payload can adopt.
  const call_result raw = call(L, pack, first, *n);
  ASSERT_TRUE(raw.ok) << raw.error;
  ASSERT_EQ(raw.count, 2);
  ASSERT_EQ(lua_type(L, -2), LUA_TLIGHTUSERDATA);
  void* block = lua_touserdata(L, -2);
  const auto size = static_cast<std::size_t>(lua_tointeger(L, -1));
  const call_result again = call(L, unpack, lua_gettop(L) - 1, 2);
  // Adopted only now: a small block is copied inline and freed at once.
  payload adopted = payload::adopt_malloced(block, size);
  EXPECT_TRUE(adopted.view() == bytes);
  ASSERT_TRUE(again.ok) << again.error;
  EXPECT_EQ(to_values(L, lua_gettop(L) - again.count + 1, again.count), expected);
}

INSTANTIATE_TEST_SUITE_P(seri_json, lua_case, testing::ValuesIn(refs("cases")), test_name);

// ---- pack_errors[] -------------------------------------------------------------

class lua_pack_error : public testing::TestWithParam<case_ref> {};

TEST_P(lua_pack_error, raises_skynets_message) {
  const json& c = entry(GetParam());
  state_ptr state = new_state();
  lua_State* L = state.get();
  const std::optional<int> n = eval(L, c.at("lua").get<std::string>());
  ASSERT_TRUE(n);
  const int first = lua_gettop(L) - *n + 1;
  for (lua_CFunction fn : {packstring, pack}) {
    const call_result r = call(L, fn, first, *n);
    EXPECT_FALSE(r.ok);
    EXPECT_EQ(r.error, c.at("error").get<std::string>());
  }
}

INSTANTIATE_TEST_SUITE_P(seri_json, lua_pack_error, testing::ValuesIn(refs("pack_errors")),
                         test_name);

// ---- unpack_cases[] ------------------------------------------------------------

class lua_unpack_case : public testing::TestWithParam<case_ref> {};

TEST_P(lua_unpack_case, decodes_like_skynet) {
  const json& c = entry(GetParam());
  state_ptr state = new_state();
  lua_State* L = state.get();
  const call_result r = unpack_string(L, from_hex(c.at("hex").get<std::string>()));
  if (!c.at("ok").get<bool>()) {
    EXPECT_FALSE(r.ok);
    EXPECT_EQ(r.error, c.at("error").get<std::string>());
    return;
  }
  ASSERT_TRUE(r.ok) << r.error;
  if (c.contains("values")) {
    EXPECT_EQ(to_values(L, lua_gettop(L) - r.count + 1, r.count), values_of(c));
    return;
  }
  ASSERT_EQ(c.at("name").get<std::string>(), "nested_depth_1000");
  ASSERT_EQ(r.count, 1);
  ASSERT_EQ(luaL_dostring(L, R"lua(
    local t, depth = ..., 0
    return function(t)
      local depth = 0
      while type(t) == 'table' do depth = depth + 1; t = t[1] end
      return depth
    end)lua"),
            LUA_OK);
  lua_insert(L, -2);
  ASSERT_EQ(lua_pcall(L, 1, 1, 0), LUA_OK);
  EXPECT_EQ(lua_tointeger(L, -1), 1000);
}

INSTANTIATE_TEST_SUITE_P(seri_json, lua_unpack_case, testing::ValuesIn(refs("unpack_cases")),
                         test_name);

// ---- API edges -----------------------------------------------------------------

std::string run_error(lua_State* L, const char* code) {
  if (luaL_dostring(L, code) == LUA_OK) return "(no error)";
  return lua_tostring(L, -1);
}

TEST(lua_seri, empty_and_nil_inputs_give_no_values) {
  run_lua_checks(R"lua(
    assert(select('#', skynet.unpack(nil)) == 0)
    assert(select('#', skynet.unpack()) == 0)
    assert(select('#', skynet.unpack('')) == 0)
    local msg, sz = skynet.pack()
    assert(sz == 0)
    assert(select('#', skynet.unpack(msg, sz)) == 0)
    assert(skynet.packstring() == '')
    local a, b = skynet.unpack(skynet.packstring('a', nil))
    assert(a == 'a' and b == nil and select('#', skynet.unpack(skynet.packstring('a', nil))) == 2)
  )lua");
}

TEST(lua_seri, null_pointer_with_a_size_is_refused) {
  state_ptr state = new_state();
  lua_State* L = state.get();
  EXPECT_EQ(run_error(L, R"lua(
    local null = skynet.unpack('\3\0\0\0\0\0\0\0\0')
    assert(type(null) == 'userdata')
    local ok, e = pcall(skynet.unpack, null, 4)
    error(e, 0))lua"),
            "deserialize null pointer");
}

TEST(lua_seri, codec_errors_carry_the_callers_position_like_luaL_error) {
  // skynet raises with luaL_error: called straight from Lua code, the text gets "chunk:line: ".
  state_ptr state = new_state();
  lua_State* L = state.get();
  EXPECT_EQ(run_error(L, "skynet.packstring(print)"),
            "[string \"skynet.packstring(print)\"]:1: Unsupport type function to serialize");
  EXPECT_EQ(run_error(L, "skynet.unpack('\\7')"),
            "[string \"skynet.unpack('\\7')\"]:1: Invalid serialize stream 0 (line:527)");
  // Through pcall the caller is a C function: no position, the exact text.
  EXPECT_EQ(run_error(L, "local ok, e = pcall(skynet.pack, print) error(e, 0)"),
            "Unsupport type function to serialize");
}

TEST(lua_seri, metapairs_error_objects_propagate_unchanged) {
  run_lua_checks(R"lua(
    local token = {}
    local t = setmetatable({}, {__pairs = function() error(token) end})
    local ok, e = pcall(skynet.packstring, t)
    assert(not ok and e == token)
  )lua");
}

TEST(lua_seri, errors_after_the_writer_grew_leak_nothing) {
  // The writer has moved to the heap when __pairs raises, and when an unsupported value is
  // met; ASan's leak check watches both.
  run_lua_checks(R"lua(
    local big = string.rep('x', 100000)
    local t = setmetatable({}, {__pairs = function() error('boom', 0) end})
    local ok, e = pcall(skynet.pack, big, t)
    assert(not ok and e == 'boom')
    ok, e = pcall(skynet.packstring, big, {big, print})
    assert(not ok and e == 'Unsupport type function to serialize', e)
    -- Deep enough for the decoder's frames to move to a userdata, then a bad byte.
    local deep = string.rep('\14', 100) .. '\7'
    ok, e = pcall(skynet.unpack, deep)
    assert(not ok and e == 'Invalid serialize stream 0 (line:527)', e)
  )lua");
}

TEST(lua_seri, pack_is_reentrant_from_pairs) {
  run_lua_checks(R"lua(
    local t = setmetatable({}, {__pairs = function(t)
      local inner = skynet.packstring({1, 2, 3}, string.rep('x', 300))
      local done = false
      return function()
        if done then return nil end
        done = true
        return 'inner', inner
      end, t, nil
    end})
    local big = string.rep('y', 1000)
    local k = skynet.unpack(skynet.packstring(big, t, big))
    local _, got = skynet.unpack(skynet.packstring(big, t, big))
    local a, b = skynet.unpack(got.inner)
    assert(a[3] == 3 and #b == 300)
  )lua");
}

TEST(lua_seri, subtypes_survive) {
  run_lua_checks(R"lua(
    local a, b, c, d = skynet.unpack(skynet.packstring(1, 1.0, 2^53, -0.0))
    assert(math.type(a) == 'integer' and math.type(b) == 'float')
    assert(math.type(c) == 'float' and 1 / d == -math.huge)
  )lua");
}

// n nested one-item tables around an empty one: 0e..0e 06 00..00.
std::string nested(std::size_t levels) {
  return std::string(levels - 1, '\x0e') + "\x06" + std::string(levels, '\0');
}

TEST(lua_seri, decodes_up_to_the_depth_limit) {
  state_ptr state = new_state();
  lua_State* L = state.get();
  const call_result r = unpack_string(L, nested(10000));
  ASSERT_TRUE(r.ok) << r.error;
  ASSERT_EQ(luaL_dostring(L, R"lua(
    return function(t)
      local depth = 0
      while type(t) == 'table' do depth = depth + 1; t = t[1] end
      return depth
    end)lua"),
            LUA_OK);
  lua_insert(L, -2);
  ASSERT_EQ(lua_pcall(L, 1, 1, 0), LUA_OK);
  EXPECT_EQ(lua_tointeger(L, -1), 10000);
}

TEST(lua_seri, refuses_deeper_messages_without_overflowing) {
  state_ptr state = new_state();
  lua_State* L = state.get();
  for (std::size_t levels : {std::size_t{10001}, std::size_t{200000}}) {
    const std::string wire = nested(levels);
    const call_result r = unpack_string(L, wire);
    ASSERT_FALSE(r.ok);
    // <remaining> counts the bytes after the refused (10001st) table's tag.
    EXPECT_EQ(r.error, "Invalid serialize stream " + std::to_string(wire.size() - 10001) +
                           " (depth limit 10000)");
  }
}

TEST(lua_seri, lying_counts_do_not_allocate_beyond_the_input) {
  // 5000 nested tables each announcing 2^31-1 items: the size hints are capped by the bytes.
  std::string wire;
  for (int i = 0; i < 5000; ++i)
    wire += std::string("\xfe\x22\xff\xff\xff\x7f", 6);
  state_ptr state = new_state();
  const call_result r = unpack_string(state.get(), wire);
  EXPECT_FALSE(r.ok);
  EXPECT_EQ(r.error, "Invalid serialize stream 0 (line:538)");
}

// ---- robustness ----------------------------------------------------------------

TEST(lua_seri, every_prefix_of_every_stream_decodes_or_fails_cleanly) {
  const std::vector<std::string> streams = all_streams();
  ASSERT_FALSE(streams.empty());
  state_ptr state = new_state();
  lua_State* L = state.get();
  std::size_t failures = 0;
  for (const std::string& wire : streams) {
    for (std::size_t length = 0; length < wire.size(); ++length) {
      const bool near_end = length < 1024 || wire.size() - length <= 64;
      if (wire.size() > 2048 && !near_end && length % 997 != 0) continue;
      const int top = lua_gettop(L);
      const call_result r = unpack_string(L, wire.substr(0, length));
      if (!r.ok) {
        ++failures;
        EXPECT_EQ(
            r.error.rfind("Invalid serialize stream ", 0) == 0 || r.error == "table index is NaN",
            true)
            << r.error;
      }
      lua_settop(L, top);
    }
    // Mutations: every byte flipped in turn, on the short streams.
    if (wire.size() <= 256) {
      for (std::size_t i = 0; i < wire.size(); ++i) {
        std::string mutated = wire;
        mutated[i] = static_cast<char>(mutated[i] ^ 0x5a);
        const int top = lua_gettop(L);
        (void)unpack_string(L, mutated);
        lua_settop(L, top);
      }
    }
  }
  EXPECT_GT(failures, 0U);
}

// Regression (found by lua_unpack_fuzz): packing many values from C must grow the stack
// before copying them for the protected packer, or the copies overrun it.
TEST(lua_seri, pack_values_from_c_with_more_values_than_the_minimum_stack) {
  state_ptr state = new_state();
  lua_State* L = state.get();
  constexpr int count = 60;
  lua_checkstack(L, count + 2);
  lua_pushlightuserdata(L, nullptr);  // not a plain value: the protected path
  for (int i = 1; i < count; ++i)
    lua_pushinteger(L, i);
  const payload packed = pack_values(L, 1, count);
  const seri::value_list values = seri::unpack(packed.bytes());
  ASSERT_EQ(values.size(), static_cast<std::size_t>(count));
  for (int i = 1; i < count; ++i)
    EXPECT_EQ(values[static_cast<std::size_t>(i)].as_integer(), i) << i;
}

}  // namespace
}  // namespace starling::lua

GTEST_ALLOW_UNINSTANTIATED_PARAMETERIZED_TEST(lua_case);
GTEST_ALLOW_UNINSTANTIATED_PARAMETERIZED_TEST(lua_pack_error);
GTEST_ALLOW_UNINSTANTIATED_PARAMETERIZED_TEST(lua_unpack_case);
