// skynet.pack / skynet.unpack from Lua: each iteration calls the C function through
// lua_pcall with its arguments already on the stack, as a Lua call site would.

#include <benchmark/benchmark.h>

#include <cstdlib>
#include <memory>

#include "lua/lua_seri.hpp"

namespace {

struct state_closer {
  void operator()(lua_State* L) const { lua_close(L); }
};
using state_ptr = std::unique_ptr<lua_State, state_closer>;

// A state whose stack holds the values of `expr`; returns how many.
state_ptr make_state(const char* expr, int& count) {
  state_ptr L(luaL_newstate());
  luaL_openlibs(L.get());
  starling::lua::open_seri(L.get());
  lua_setglobal(L.get(), "skynet");
  luaL_loadstring(L.get(), expr);
  lua_call(L.get(), 0, LUA_MULTRET);
  count = lua_gettop(L.get());
  return L;
}

void call_with_values(lua_State* L, lua_CFunction fn, int count) {
  lua_pushcfunction(L, fn);
  for (int i = 1; i <= count; ++i)
    lua_pushvalue(L, i);
  lua_call(L, count, LUA_MULTRET);
}

void run_packstring(benchmark::State& state, const char* expr) {
  int count = 0;
  state_ptr L = make_state(expr, count);
  for (auto _ : state) {
    call_with_values(L.get(), starling::lua::packstring, count);
    lua_settop(L.get(), count);
  }
}

void run_unpack(benchmark::State& state, const char* expr) {
  int count = 0;
  state_ptr L = make_state(expr, count);
  call_with_values(L.get(), starling::lua::packstring, count);  // the message, at count + 1
  for (auto _ : state) {
    lua_pushcfunction(L.get(), starling::lua::unpack);
    lua_pushvalue(L.get(), count + 1);
    lua_call(L.get(), 1, LUA_MULTRET);
    lua_settop(L.get(), count + 1);
  }
}

constexpr const char* ping = "return 'ping', 42";
constexpr const char* table_100 = "local t = {} for i = 1, 100 do t[i] = i * 1000 end return t";
constexpr const char* record = "return {name = 'alice', age = 30, tags = {'a', 'b'}, ok = true}";

void packstring_ping(benchmark::State& s) {
  run_packstring(s, ping);
}
void unpack_ping(benchmark::State& s) {
  run_unpack(s, ping);
}
void packstring_table_100(benchmark::State& s) {
  run_packstring(s, table_100);
}
void unpack_table_100(benchmark::State& s) {
  run_unpack(s, table_100);
}
void packstring_record(benchmark::State& s) {
  run_packstring(s, record);
}
void unpack_record(benchmark::State& s) {
  run_unpack(s, record);
}
void pack_ping_pointer(benchmark::State& state) {
  int count = 0;
  state_ptr L = make_state(ping, count);
  for (auto _ : state) {
    call_with_values(L.get(), starling::lua::pack, count);
    std::free(lua_touserdata(L.get(), -2));  // NOLINT(cppcoreguidelines-no-malloc)
    lua_settop(L.get(), count);
  }
}

BENCHMARK(packstring_ping);
BENCHMARK(pack_ping_pointer);
BENCHMARK(unpack_ping);
BENCHMARK(packstring_table_100);
BENCHMARK(unpack_table_100);
BENCHMARK(packstring_record);
BENCHMARK(unpack_record);

}  // namespace

BENCHMARK_MAIN();
