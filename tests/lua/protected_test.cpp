// lua/protected.hpp: a Lua error or a C++ exception never skips a C++ object's destructor.
#include "lua/protected.hpp"

#include <gtest/gtest.h>

#include <cstdlib>
#include <lua.hpp>
#include <stdexcept>
#include <string>

namespace starling::lua {
namespace {

// Counts destructions, so a skipped one shows.
struct tracked {
  static inline int alive = 0;
  std::string text;
  explicit tracked(std::string t) : text(std::move(t)) { ++alive; }
  tracked(const tracked& other) : text(other.text) { ++alive; }
  tracked(tracked&& other) noexcept : text(std::move(other.text)) { ++alive; }
  ~tracked() { --alive; }
};

struct state {
  lua_State* L = luaL_newstate();
  state() { luaL_openlibs(L); }
  ~state() { lua_close(L); }
  state(const state&) = delete;
  state& operator=(const state&) = delete;
};

// Runs `f` as a Lua C function under pcall; returns the status and leaves the results.
int call(lua_State* L, lua_CFunction f) {
  lua_pushcfunction(L, f);
  return lua_pcall(L, 0, LUA_MULTRET, 0);
}

TEST(lua_protected, native_pushes_a_result_with_a_destructor) {
  state s;
  ASSERT_EQ(call(s.L,
                 [](lua_State* L) {
                   return native(
                       L, [] { return tracked("pushed"); },
                       [](lua_State* S, const tracked& t) {
                         lua_pushlstring(S, t.text.data(), t.text.size());
                         return 1;
                       });
                 }),
            LUA_OK);
  EXPECT_STREQ(lua_tostring(s.L, -1), "pushed");
  EXPECT_EQ(tracked::alive, 0);
}

TEST(lua_protected, an_error_while_pushing_destroys_the_result_first) {
  state s;
  ASSERT_EQ(call(s.L,
                 [](lua_State* L) {
                   return native(
                       L, [] { return tracked("lost?"); },
                       [](lua_State* S, const tracked&) -> int {
                         EXPECT_EQ(tracked::alive, 1);
                         return luaL_error(S, "raised while pushing");
                       });
                 }),
            LUA_ERRRUN);
  EXPECT_STREQ(lua_tostring(s.L, -1), "raised while pushing");
  EXPECT_EQ(tracked::alive, 0);
}

TEST(lua_protected, an_exception_from_the_work_is_a_lua_error_with_the_callers_position) {
  state s;
  lua_register(s.L, "fails", [](lua_State* L) -> int {
    return native(L, []() -> int { throw std::runtime_error("from C++"); });
  });
  ASSERT_EQ(luaL_dostring(s.L, "local ok, e = pcall(fails) return e"), LUA_OK)
      << lua_tostring(s.L, -1);
  EXPECT_STREQ(lua_tostring(s.L, -1), "from C++");  // pcall calls it: no Lua position
  ASSERT_NE(luaL_dostring(s.L, "fails()"), LUA_OK);
  EXPECT_STREQ(lua_tostring(s.L, -1), "[string \"fails()\"]:1: from C++");
}

TEST(lua_protected, protect_keeps_the_callers_objects_across_a_lua_error) {
  state s;
  ASSERT_EQ(call(s.L,
                 [](lua_State* L) {
                   cxx_failure failure;
                   int n = 0;
                   {
                     tracked owned("owned by the caller");
                     n = protect(
                         L, 0,
                         [&](lua_State* S) -> int {
                           lua_pushstring(S, owned.text.c_str());
                           return lua_error(S);
                         },
                         failure);
                   }
                   EXPECT_EQ(tracked::alive, 0);
                   EXPECT_EQ(n, -1);
                   EXPECT_FALSE(failure.failed());
                   return lua_error(L);
                 }),
            LUA_ERRRUN);
  EXPECT_STREQ(lua_tostring(s.L, -1), "owned by the caller");
}

TEST(lua_protected, protect_passes_arguments_and_results) {
  state s;
  lua_pushinteger(s.L, 40);
  lua_pushinteger(s.L, 2);
  cxx_failure failure;
  const int n = protect(
      s.L, 2,
      [](lua_State* S) {
        EXPECT_EQ(lua_gettop(S), 2);
        lua_pushinteger(S, lua_tointeger(S, 1) + lua_tointeger(S, 2));
        lua_pushliteral(S, "done");
        return 2;
      },
      failure);
  ASSERT_EQ(n, 2);
  EXPECT_EQ(lua_gettop(s.L), 2);
  EXPECT_EQ(lua_tointeger(s.L, 1), 42);
  EXPECT_STREQ(lua_tostring(s.L, 2), "done");
}

TEST(lua_protected, protect_notes_an_exception) {
  state s;
  cxx_failure failure;
  const int n = protect(
      s.L, 0, [](lua_State*) -> int { throw std::length_error("too long"); }, failure);
  EXPECT_EQ(n, -1);
  ASSERT_TRUE(failure.failed());
  EXPECT_EQ(lua_gettop(s.L), 0);
}

// Out of memory: every allocation fails once the limit is reached.
struct limited {
  std::size_t used = 0;
  std::size_t limit = 0;
  static void* allocate(void* ud, void* block, std::size_t old_size, std::size_t new_size) {
    auto* self = static_cast<limited*>(ud);
    if (block == nullptr) old_size = 0;
    if (new_size == 0) {
      std::free(block);
      self->used -= old_size;
      return nullptr;
    }
    if (self->limit != 0 && new_size > old_size && self->used + new_size - old_size > self->limit)
      return nullptr;
    void* grown = std::realloc(block, new_size);
    if (grown != nullptr) self->used += new_size - old_size;
    return grown;
  }
};

TEST(lua_protected, at_the_memory_limit_nothing_leaks) {
  limited heap;
  lua_State* L = lua_newstate(limited::allocate, &heap);
  luaL_openlibs(L);
  lua_register(L, "many", [](lua_State* S) {
    return native(
        S, [] { return std::string(1000, 'x'); },
        [](lua_State* T, const std::string& text) {
          lua_createtable(T, 64, 0);
          for (int i = 1; i <= 64; ++i) {
            lua_pushlstring(T, text.data(), text.size());
            lua_rawseti(T, -2, i);
          }
          return 1;
        });
  });
  lua_gc(L, LUA_GCCOLLECT);
  int failed = 0;
  for (std::size_t room = 0; room < 80000; room += 997) {
    heap.limit = heap.used + room;
    lua_getglobal(L, "pcall");
    lua_getglobal(L, "many");
    if (lua_pcall(L, 1, 2, 0) == LUA_OK && lua_toboolean(L, -2) == 0) ++failed;
    lua_settop(L, 0);
    heap.limit = 0;
    lua_gc(L, LUA_GCCOLLECT);
  }
  EXPECT_GT(failed, 0);  // the limit was hit (LeakSanitizer checks the strings were freed)
  lua_close(L);
}

}  // namespace
}  // namespace starling::lua
