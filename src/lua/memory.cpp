#include "lua/memory.hpp"

#include <malloc.h>

#include <utility>
#include <vector>

#include "core/node.hpp"
#include "lua/protected.hpp"
#include "lua/scheduler.hpp"

namespace starling::lua {

namespace {

node& node_of(lua_State* L) {
  return scheduler::of(L)->self().owner();
}

struct usage {
  std::size_t bytes = 0;
  std::size_t blocks = 0;
};

/// Calls `f(handle, service)` for every live service.
template <class F>
void each_service(node& runtime, F&& f) {
  for (handle_t h : runtime.services()) {
    if (const std::shared_ptr<context> ctx = runtime.grab(h)) f(h, ctx->instance());
  }
}

usage sum(node& runtime) {
  usage u;
  each_service(runtime, [&](handle_t, const service& s) {
    u.bytes += s.memory_in_use();
    u.blocks += s.blocks_in_use();
  });
  return u;
}

int l_info(lua_State* L) {
  node& runtime = node_of(L);
  using in_use = std::vector<std::pair<handle_t, std::size_t>>;
  return native(
      L,
      [&] {
        in_use all;
        each_service(runtime, [&](handle_t h, const service& s) {
          if (const std::size_t bytes = s.memory_in_use(); bytes != 0) all.emplace_back(h, bytes);
        });
        return all;
      },
      [](lua_State* S, const in_use& all) {
        lua_createtable(S, 0, static_cast<int>(all.size()));
        for (const auto& [h, bytes] : all) {
          lua_pushinteger(S, static_cast<lua_Integer>(bytes));
          lua_rawseti(S, -2, static_cast<lua_Integer>(h));
        }
        return 1;
      });
}

int l_total(lua_State* L) {
  node& runtime = node_of(L);
  lua_pushinteger(L, static_cast<lua_Integer>(native(L, [&] { return sum(runtime); }).bytes));
  return 1;
}

int l_block(lua_State* L) {
  node& runtime = node_of(L);
  lua_pushinteger(L, static_cast<lua_Integer>(native(L, [&] { return sum(runtime); }).blocks));
  return 1;
}

int l_current(lua_State* L) {
  lua_pushinteger(L, static_cast<lua_Integer>(scheduler::of(L)->self().instance().memory_in_use()));
  return 1;
}

int l_jestat(lua_State* L) {
  const struct mallinfo2 m = ::mallinfo2();
  const std::pair<const char*, std::size_t> fields[] = {
      {"arena", m.arena},       {"ordblks", m.ordblks},   {"hblks", m.hblks},
      {"hblkhd", m.hblkhd},     {"uordblks", m.uordblks}, {"fordblks", m.fordblks},
      {"keepcost", m.keepcost},
  };
  lua_createtable(L, 0, static_cast<int>(std::size(fields)));
  for (const auto& [name, value] : fields) {
    lua_pushinteger(L, static_cast<lua_Integer>(value));
    lua_setfield(L, -2, name);
  }
  return 1;
}

int l_no_profiler(lua_State* L) {
  lua_pushliteral(L,
                  "not supported: heap profiling needs jemalloc, and Starling uses glibc malloc");
  return lua_error(L);
}

}  // namespace

int open_memory(lua_State* L) {
  static const luaL_Reg functions[] = {{"info", l_info},
                                       {"total", l_total},
                                       {"block", l_block},
                                       {"current", l_current},
                                       {"jestat", l_jestat},
                                       {"dump", l_no_profiler},
                                       {"profactive", l_no_profiler},
                                       {nullptr, nullptr}};
  luaL_newlib(L, functions);
  return 1;
}

}  // namespace starling::lua
