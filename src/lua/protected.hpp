#pragma once
// The one way a Lua binding runs C++ work (docs/LUA.md, "Lua errors and C++ objects").
//
// Debian's Lua is built as C: a Lua error is a longjmp, and any Lua call that allocates can
// raise one (out of memory, which skynet.memlimit makes routine). A longjmp over a frame that
// holds an object with a destructor skips the destructor: a leak, a lock never released. So
// every lua_CFunction of the runtime keeps to this rule:
//
//   Its own frames hold only trivially destructible values (numbers, pointers, views into Lua
//   strings, fixed buffers). C++ objects with destructors live only inside the helpers below:
//   - lua::native(L, work): `work()` does the C++ part and calls no Lua function that can
//     raise; its result is trivially destructible (a number, a flag, a fixed buffer).
//   - lua::native(L, work, push): the same for a result with a destructor: `push(L, result)`
//     pushes it under lua_pcall, and the result is destroyed before an error is raised again.
//   - lua::protect(L, nargs, body, failure): `body(L)` runs under lua_pcall, for C++ objects
//     the caller keeps across Lua calls (a writer walking tables, a block being pushed).
//   A C++ exception never crosses a Lua frame: both turn it into a Lua error, raised once the
//   exception object and every C++ object are gone.
//
// An input a binding builds from its arguments (a payload) is made last, after every check
// that raises, and moved into `work` at once: what stays behind owns nothing.

#include <cstdlib>
#include <cstring>
#include <exception>
#include <lua.hpp>
#include <optional>
#include <type_traits>
#include <utility>

namespace starling::lua {

/// What went wrong in a protected body besides a Lua error: a C++ exception's text. Trivially
/// destructible, so it may live in any binding's frame.
class cxx_failure {
 public:
  [[nodiscard]] bool failed() const noexcept { return failed_; }
  void note(const char* text) noexcept {
    failed_ = true;
    std::strncpy(text_, text, sizeof text_ - 1);
    text_[sizeof text_ - 1] = '\0';
  }
  /// Runs `f()`, noting an exception instead of letting it through.
  template <class F>
  void run(F&& f) noexcept {
    try {
      std::forward<F>(f)();
    } catch (const std::exception& e) {
      note(e.what());
    } catch (...) {
      note("unknown C++ exception");
    }
  }
  /// Raises the text as luaL_error does: after the Lua caller's position. Call it only from a
  /// binding's own frame with nothing left to destroy.
  [[noreturn]] void raise(lua_State* L) const {
    luaL_error(L, "%s", text_);
    __builtin_unreachable();
  }

 private:
  char text_[256];  // set by note(): left uninitialised, the common path never reads it
  bool failed_ = false;
};

namespace protection {

template <class Body>
struct protected_frame {
  Body* body;
  cxx_failure* failure;
};

// The frame of the protect() call being entered: run_protected takes it first thing, before
// anything could enter another, so nested calls each find their own. Passing it this way
// keeps the arguments where the body expects them (no extra value to push, then remove).
inline thread_local void* entering = nullptr;

template <class Body>
int run_protected(lua_State* L) {
  auto& frame = *static_cast<protected_frame<Body>*>(entering);
  int results = 0;
  // A Lua error in the body longjmps to the lua_pcall below, past this try block: the body's
  // own frames hold only trivial values, as the rule asks.
  frame.failure->run([&] { results = (*frame.body)(L); });
  return frame.failure->failed() ? 0 : results;
}

}  // namespace protection

/// Runs `body(L)` under lua_pcall over the `nargs` values on the stack top (they are its
/// stack, at 1..nargs); `body` returns how many results it pushed. Returns that number with the
/// results on the stack top (the arguments gone), or -1: a Lua error (its object on the stack
/// top: raise it again with lua_error) or a C++ exception (noted in `failure`: raise it with
/// failure.raise; nothing pushed). Never raises itself.
template <class Body>
int protect(lua_State* L, int nargs, Body&& body, cxx_failure& failure) {
  using plain = std::remove_reference_t<Body>;
  if (lua_checkstack(L, 1) == 0) {
    failure.note("stack overflow");
    return -1;
  }
  const int base = lua_gettop(L) - nargs;
  protection::protected_frame<plain> frame{&body, &failure};
  lua_pushcfunction(L, protection::run_protected<plain>);
  lua_rotate(L, base + 1, 1);
  protection::entering = &frame;
  if (lua_pcall(L, nargs, LUA_MULTRET, 0) != LUA_OK) return -1;
  if (failure.failed()) return -1;
  return lua_gettop(L) - base;
}

/// The C++ part of a binding whose result needs no cleanup: returns `work()` (trivially
/// destructible, or void). `work` calls no Lua function that can raise; a C++ exception from
/// it is raised as a Lua error. No protected call: the hot paths (send, call) go this way.
template <class Work>
auto native(lua_State* L, Work&& work) {
  using result = std::invoke_result_t<Work&>;
  static_assert(std::is_void_v<result> || std::is_trivially_destructible_v<result>,
                "a result with a destructor is pushed by native(L, work, push)");
  cxx_failure failure;
  if constexpr (std::is_void_v<result>) {
    failure.run(work);
    if (failure.failed()) failure.raise(L);
  } else {
    std::optional<result> value;
    failure.run([&] { value.emplace(work()); });
    if (failure.failed()) failure.raise(L);
    return *value;
  }
}

/// The C++ part of a binding whose result owns memory (strings, vectors): `work()` makes it
/// (no Lua call that can raise), then `push(L, result)` pushes what Lua gets, under lua_pcall,
/// and returns the count. The result is destroyed before an error of `push` is raised again.
/// Errors raised inside `push` carry no position: check arguments before.
template <class Work, class Push>
int native(lua_State* L, Work&& work, Push&& push) {
  using result = std::invoke_result_t<Work&>;
  cxx_failure failure;
  int n = -1;
  {
    std::optional<result> value;
    failure.run([&] { value.emplace(work()); });
    if (value) {
      n = protect(
          L, 0, [&](lua_State* S) { return push(S, *value); }, failure);
    }
  }
  if (n >= 0) return n;
  if (failure.failed()) failure.raise(L);
  return lua_error(L);
}

/// Pushes the `size` bytes of a malloc'd message body as a string and frees the body, whether
/// the string could be made or not; a memory error is raised only once the body is gone.
inline void push_string_taking(lua_State* L, void* body, std::size_t size) {
  cxx_failure failure;
  const int n = protect(
      L, 0,
      [&](lua_State* S) {
        lua_pushlstring(S, static_cast<const char*>(body), size);
        return 1;
      },
      failure);
  std::free(body);          // NOLINT(*-no-malloc): message bodies are malloc'd (base/payload.hpp)
  if (n < 0) lua_error(L);  // pushing raises no C++ exception
}

}  // namespace starling::lua
