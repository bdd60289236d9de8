#include "actor/task.hpp"

#include <gtest/gtest.h>

#include <stdexcept>
#include <string>

namespace starling {
namespace {

// Drives a task to completion from plain code (no scheduler needed: nothing suspends).
template <class T>
T run_sync(task<T> t) {
  struct driver {
    struct promise_type {
      driver get_return_object() { return {}; }
      std::suspend_never initial_suspend() noexcept { return {}; }
      std::suspend_never final_suspend() noexcept { return {}; }
      void return_void() {}
      void unhandled_exception() noexcept {}
    };
  };
  std::optional<T> out;
  std::exception_ptr error;
  [](task<T> inner, std::optional<T>& slot, std::exception_ptr& failure) -> driver {
    try {
      slot.emplace(co_await inner);
    } catch (...) {
      failure = std::current_exception();
    }
  }(std::move(t), out, error);
  if (error) std::rethrow_exception(error);
  return std::move(*out);
}

task<int> forty_two() {
  co_return 42;
}
task<int> add_one(int x) {
  co_return x + 1;
}
task<int> chain() {
  co_return co_await add_one(co_await forty_two());
}
task<std::string> fails() {
  throw std::runtime_error("boom");
  co_return "never";
}

TEST(task, is_lazy_and_returns_values) {
  EXPECT_EQ(run_sync(forty_two()), 42);
  EXPECT_EQ(run_sync(chain()), 43);
}

TEST(task, rethrows_at_the_await) {
  EXPECT_THROW(run_sync(fails()), std::runtime_error);
}

TEST(task, destroying_an_unstarted_task_frees_it) {
  task<int> t = forty_two();
  EXPECT_TRUE(t.valid());
  task<int> moved = std::move(t);
  EXPECT_FALSE(t.valid());  // NOLINT(bugprone-use-after-move)
  EXPECT_TRUE(moved.valid());
}

}  // namespace
}  // namespace starling
