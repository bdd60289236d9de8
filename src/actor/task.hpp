#pragma once
// task<T>: a lazily started coroutine that a native service awaits or forks.
//
// A task starts when awaited (or when the service adopts it with `fork`), resumes its awaiter
// by symmetric transfer when it finishes, and rethrows an exception at the `co_await`.
// A task is owned by exactly one place: the awaiting frame, or the service it was forked on.

#include <coroutine>
#include <exception>
#include <optional>
#include <utility>

#include "actor/frame_pool.hpp"

namespace starling {

template <class T = void>
class task;

namespace detail {

/// Who to tell when a detached (forked or request-handling) task finishes.
class promise_base;

class task_owner {
 public:
  virtual void on_task_done(promise_base& done, std::exception_ptr error) noexcept = 0;

 protected:
  ~task_owner() = default;
};

class promise_base {
 public:
  static void* operator new(std::size_t size) { return allocate_frame(size); }
  static void operator delete(void* frame, std::size_t size) noexcept { free_frame(frame, size); }

  std::suspend_always initial_suspend() noexcept { return {}; }

  struct final_awaiter {
    bool await_ready() noexcept { return false; }
    template <class Promise>
    std::coroutine_handle<> await_suspend(std::coroutine_handle<Promise> self) noexcept {
      promise_base& p = self.promise();
      if (p.owner_ != nullptr) {
        // Detached: the owner destroys the frame; nothing to resume.
        p.owner_->on_task_done(p, p.error_);
        return std::noop_coroutine();
      }
      return p.continuation_ ? p.continuation_ : std::noop_coroutine();
    }
    void await_resume() noexcept {}
  };
  final_awaiter final_suspend() noexcept { return {}; }

  void unhandled_exception() noexcept { error_ = std::current_exception(); }

  void set_continuation(std::coroutine_handle<> c) noexcept { continuation_ = c; }
  void detach_to(task_owner* owner, std::coroutine_handle<> frame) noexcept {
    owner_ = owner;
    frame_ = frame;
  }
  [[nodiscard]] std::coroutine_handle<> frame() const noexcept { return frame_; }

  /// Links for the owner's intrusive list of detached frames (no allocation per task).
  promise_base* live_prev = nullptr;
  promise_base* live_next = nullptr;

 protected:
  void rethrow_if_failed() const {
    if (error_) std::rethrow_exception(error_);
  }

 private:
  std::coroutine_handle<> continuation_;
  std::coroutine_handle<> frame_;  // set when detached
  task_owner* owner_ = nullptr;
  std::exception_ptr error_;
};

template <class T>
class promise final : public promise_base {
 public:
  task<T> get_return_object() noexcept;
  template <class U>
  void return_value(U&& value) {
    value_.emplace(std::forward<U>(value));
  }
  T take() {
    rethrow_if_failed();
    return std::move(*value_);
  }

 private:
  std::optional<T> value_;
};

template <>
class promise<void> final : public promise_base {
 public:
  task<void> get_return_object() noexcept;
  void return_void() noexcept {}
  void take() const { rethrow_if_failed(); }
};

}  // namespace detail

template <class T>
class [[nodiscard]] task {
 public:
  using promise_type = detail::promise<T>;
  using handle_type = std::coroutine_handle<promise_type>;

  task() noexcept = default;
  explicit task(handle_type frame) noexcept : frame_(frame) {}
  task(task&& other) noexcept : frame_(std::exchange(other.frame_, {})) {}
  task& operator=(task&& other) noexcept {
    if (this != &other) {
      if (frame_) frame_.destroy();
      frame_ = std::exchange(other.frame_, {});
    }
    return *this;
  }
  task(const task&) = delete;
  task& operator=(const task&) = delete;
  ~task() {
    if (frame_) frame_.destroy();
  }

  [[nodiscard]] bool valid() const noexcept { return static_cast<bool>(frame_); }

  // ---- awaiting ------------------------------------------------------------------------

  bool await_ready() const noexcept { return false; }
  std::coroutine_handle<> await_suspend(std::coroutine_handle<> awaiter) noexcept {
    frame_.promise().set_continuation(awaiter);
    return frame_;
  }
  T await_resume() { return frame_.promise().take(); }

  /// Gives up ownership of the frame (the service's scheduler adopts it).
  handle_type release() noexcept { return std::exchange(frame_, {}); }

 private:
  handle_type frame_;
};

namespace detail {

template <class T>
task<T> promise<T>::get_return_object() noexcept {
  return task<T>(std::coroutine_handle<promise<T>>::from_promise(*this));
}

inline task<void> promise<void>::get_return_object() noexcept {
  return task<void>(std::coroutine_handle<promise<void>>::from_promise(*this));
}

}  // namespace detail

}  // namespace starling
